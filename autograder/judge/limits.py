"""Resource limits for a confined call's whole process tree: memory, processes, CPU.

An rlimit bounds one process (``RLIMIT_AS``) or every process of one user (``RLIMIT_NPROC``),
so a student's call that forks six children of 2 GiB each, or a fork bomb, escapes them or
spends a budget that every confined call shares. Here each call gets limits of its own that
cover everything it starts, from the best mechanism the kernel offers:

- ``cgroup2``: a cgroup v2 of its own (``memory.max``, ``pids.max``, ``cpu.max``), where the
  grader's cgroup delegates the memory and pids controllers to its children;
- ``cgroup1``: a cgroup of its own in cgroup v1's memory, pids and cpu hierarchies (this
  project's machines mount v1);
- ``watchdog``: otherwise. ``RLIMIT_NPROC`` bounds the call's processes (each call runs as a
  user id of its own when the grader is root, see ``sandbox``, so no other call shares that
  budget), and the parent sums the private memory and the CPU time of the call's process tree
  every few tenths of a second and stops it when over.

In every case the parent polls while it waits for the call, ends the call as soon as a limit is
reached, and says which one. ``DPR_SANDBOX_LIMITS=cgroup2|cgroup1|watchdog`` forces one
(tests use it to prove each); :func:`mechanism` says which one holds on this machine.
"""

from __future__ import annotations

import errno
import functools
import itertools
import os
import resource
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder import config

FORCE_ENV = "DPR_SANDBOX_LIMITS"
TICKS = os.sysconf("SC_CLK_TCK")
PREFIX = "dpr-call-"
_counter = itertools.count()


@dataclass(frozen=True)
class Limits:
    """One call's limits (its defaults: the run settings', ``autograder/config.py``)."""
    seconds: float = 600.0                # wall clock for the call
    memory_bytes: int = field(default_factory=lambda: config.defaults().memory_bytes)
    processes: int = field(default_factory=lambda: config.defaults().processes)
    cpus: float = 1.0                     # cores the tree may keep busy at once
    scratch_bytes: int = 256 << 20        # size of the writable /tmp and workspace
    gpu: bool = False                     # give it the GPUs (no RLIMIT_AS: CUDA maps a lot)

    @property
    def cpu_seconds(self) -> float:
        """CPU time of the whole tree: the wall clock's worth on every core it may use."""
        return self.seconds * self.cpus + 1


def _gib(size: int) -> str:
    return f"{size / (1 << 30):g} GiB"


def memory_problem(limits: Limits) -> str:
    return (f"used more than its memory limit of {_gib(limits.memory_bytes)} (all its processes "
            "together) and was stopped")


def processes_problem(limits: Limits) -> str:
    return (f"tried to run more than {limits.processes} processes and threads at once and was "
            "stopped")


def cpu_problem(limits: Limits) -> str:
    return (f"used more than {limits.cpu_seconds:g} s of CPU time (all its processes together) "
            "and was stopped")


class Guard:
    """The limits of one call. ``join`` runs in the child, as root, before it confines itself;
    ``check`` and ``finish`` run in the parent (a problem string, or "")."""

    def __init__(self, limits: Limits):
        self.limits = limits

    def join(self) -> None:
        pass

    def check(self, pid: int, now: bool = False) -> str:
        """A limit the call has reached, or "". ``now``: look even if it looked a moment ago
        (the last look, before the call's processes are killed)."""
        return ""

    def finish(self) -> str:
        return ""


# --------------------------------------------------------------------------------------------
# Finding the hierarchies


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, file system type, super options) of every cgroup mount."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
            found.append((fields[4], tail[0], set(tail[2].split(","))))
    return found


def _own_cgroups() -> dict[str, str]:
    """Controller (or "" for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def _writable_child_dir(base: Path) -> bool:
    """Whether a cgroup can be made (and removed) under ``base``."""
    probe = base / f"dpr-probe-{os.getpid()}-{next(_counter)}"
    try:
        probe.mkdir()
        probe.rmdir()
        return True
    except OSError:
        return False


def _v1_dirs() -> dict[str, Path] | None:
    """This process's cgroup in the v1 memory, pids and (if there) cpu and cpuacct hierarchies,
    where cgroups can be made under it."""
    own = _own_cgroups()
    dirs = {}
    for point, kind, options in _mounts():
        if kind != "cgroup":
            continue
        for controller in ("memory", "pids", "cpu", "cpuacct"):
            if controller in options and controller in own and controller not in dirs:
                dirs[controller] = Path(point) / own[controller].lstrip("/")
    if "memory" not in dirs or "pids" not in dirs:
        return None
    if not all(_writable_child_dir(path) for path in set(dirs.values())):
        return None
    return dirs


def _v2_dir() -> Path | None:
    """This process's cgroup v2 directory, where its children get memory and pids."""
    own = _own_cgroups().get("")
    for point, kind, _ in _mounts():
        if kind != "cgroup2" or own is None:
            continue
        base = Path(point) / own.lstrip("/")
        try:
            available = set((base / "cgroup.controllers").read_text().split())
            enabled = set((base / "cgroup.subtree_control").read_text().split())
        except OSError:
            continue
        if not {"memory", "pids"} <= available:
            continue
        wanted = {"memory", "pids", "cpu"} & available
        if not {"memory", "pids"} <= enabled:
            try:  # refused when this cgroup holds processes itself (the no-internal-process rule)
                (base / "cgroup.subtree_control").write_text(
                    " ".join(f"+{name}" for name in sorted(wanted - enabled)))
            except OSError:
                continue
        if _writable_child_dir(base):
            return base
    return None


def _detect(wanted: str) -> tuple[str, object]:
    wanted = "" if wanted == "auto" else wanted
    if wanted in ("", "cgroup2"):
        where = _v2_dir()
        if where is not None:
            return "cgroup2", where
    if wanted in ("", "cgroup1"):
        where = _v1_dirs()
        if where is not None:
            return "cgroup1", where
    if wanted not in ("", "watchdog"):
        raise RuntimeError(f"{FORCE_ENV}={wanted}: this machine does not offer it")
    return "watchdog", None


@functools.cache
def _detected(wanted: str) -> tuple[str, object]:
    name, where = _detect(wanted)
    _remove_stale_in(name, where)
    return name, where


def _remove_stale_in(name: str, where) -> None:
    for base in ([where] if name == "cgroup2" else set(where.values()) if where else []):
        remove_stale(base)


def remove_stale_calls() -> None:
    """Remove the call cgroups of judges that are gone (a grading run calls it as it ends)."""
    _remove_stale_in(*mechanism())


def mechanism() -> tuple[str, object]:
    """(name, where) of the mechanism that bounds each call's process tree on this machine."""
    return _detected(config.current().sandbox)


def describe() -> str:
    """One line for the grading report: which mechanism bounds each call."""
    name, where = mechanism()
    if name == "cgroup2":
        return f"cgroup v2 (memory.max, pids.max, cpu.max) under {where}"
    if name == "cgroup1":
        return "cgroup v1 (" + ", ".join(sorted(where)) + ")"
    return ("a user id per call (RLIMIT_NPROC) and a watchdog over the tree's memory and CPU "
            "time (no writable cgroup here)")


def guard(limits: Limits) -> Guard:
    """The limits of one call, ready for a fork: cgroups made, or a watchdog set."""
    name, where = mechanism()
    if name == "cgroup2":
        return CgroupV2(limits, where)
    if name == "cgroup1":
        return CgroupV1(limits, where)
    return Watchdog(limits)


# --------------------------------------------------------------------------------------------
# cgroups


def _write(path: Path, value) -> bool:
    try:
        path.write_text(str(value))
        return True
    except OSError:
        return False


def _read_key(path: Path, key: str) -> int:
    """The number after ``key`` in a "key value" file (memory.events, pids.events, ...)."""
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _read_number(path: Path) -> int:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return 0


def _kill_and_remove(folder: Path) -> None:
    """Kill whatever is left in a call's cgroup, then remove it."""
    for _ in range(100):
        try:
            pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
        except OSError:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            folder.rmdir()
            return
        except OSError as error:
            if error.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                return
        time.sleep(0.01)


def remove_stale(base: Path) -> None:
    """Remove call cgroups left by grader processes that no longer exist (killed with -9)."""
    for folder in base.glob(f"{PREFIX}*"):
        owner = folder.name[len(PREFIX):].split("-")[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            _kill_and_remove(folder)


class CgroupV1(Guard):
    """One cgroup per call in each v1 hierarchy: memory (+swap), pids, cpu; events read back."""

    def __init__(self, limits: Limits, bases: dict[str, Path]):
        super().__init__(limits)
        leaf = f"{PREFIX}{os.getpid()}-{next(_counter)}"
        self.dirs = {controller: base / leaf for controller, base in bases.items()}
        for folder in set(self.dirs.values()):
            folder.mkdir()
        memory = self.dirs["memory"]
        _write(memory / "memory.limit_in_bytes", limits.memory_bytes)
        _write(memory / "memory.memsw.limit_in_bytes", limits.memory_bytes)  # no swap either
        _write(memory / "memory.swappiness", 0)
        _write(self.dirs["pids"] / "pids.max", limits.processes)
        if "cpu" in self.dirs:
            period = 100_000
            _write(self.dirs["cpu"] / "cpu.cfs_period_us", period)
            _write(self.dirs["cpu"] / "cpu.cfs_quota_us", max(1000, int(limits.cpus * period)))

    def join(self) -> None:
        for folder in set(self.dirs.values()):
            (folder / "cgroup.procs").write_text(str(os.getpid()))

    def _cpu_seconds(self) -> float:
        try:
            return int((self.dirs["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
        except (KeyError, OSError, ValueError):
            return 0.0

    def check(self, pid: int, now: bool = False) -> str:
        memory = self.dirs["memory"]
        if _read_number(memory / "memory.failcnt") or \
                _read_key(memory / "memory.oom_control", "oom_kill"):  # at the limit: stop now
            return memory_problem(self.limits)
        if _read_key(self.dirs["pids"] / "pids.events", "max"):
            return processes_problem(self.limits)
        if self._cpu_seconds() > self.limits.cpu_seconds:
            return cpu_problem(self.limits)
        return ""

    def finish(self) -> str:
        problem = self.check(0)
        for folder in set(self.dirs.values()):
            _kill_and_remove(folder)
        return problem


class CgroupV2(Guard):
    """One cgroup per call in the v2 tree: memory.max (no swap), pids.max, cpu.max."""

    def __init__(self, limits: Limits, base: Path):
        super().__init__(limits)
        self.dir = base / f"{PREFIX}{os.getpid()}-{next(_counter)}"
        self.dir.mkdir()
        _write(self.dir / "memory.max", limits.memory_bytes)
        _write(self.dir / "memory.swap.max", 0)
        _write(self.dir / "pids.max", limits.processes)
        _write(self.dir / "cpu.max", f"{max(1000, int(limits.cpus * 100_000))} 100000")

    def join(self) -> None:
        (self.dir / "cgroup.procs").write_text(str(os.getpid()))

    def check(self, pid: int, now: bool = False) -> str:
        if _read_key(self.dir / "memory.events", "oom_kill") or \
                _read_key(self.dir / "memory.events", "max"):
            return memory_problem(self.limits)
        if _read_key(self.dir / "pids.events", "max"):
            return processes_problem(self.limits)
        if _read_key(self.dir / "cpu.stat", "usage_usec") / 1e6 > self.limits.cpu_seconds:
            return cpu_problem(self.limits)
        return ""

    def finish(self) -> str:
        problem = self.check(0)
        _write(self.dir / "cgroup.kill", 1)  # Linux 5.14 and later; else one by one below
        _kill_and_remove(self.dir)
        return problem


# --------------------------------------------------------------------------------------------
# No cgroup: a user id per call and a watchdog


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process on the machine."""
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return parents


def tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _private_bytes(pid: int) -> int:
    """Memory a process does not share with its parent: what it allocated or wrote."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    total = 0
    for line in text.splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:", "Swap:")):
            total += int(line.split()[1]) * 1024
    return total


def _threads_and_cpu(pid: int) -> tuple[int, float]:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0.0
    # utime, stime, cutime, cstime are fields 14-17; num_threads is field 20 (1-based)
    return int(fields[17]), sum(int(x) for x in fields[11:15]) / TICKS


class Watchdog(Guard):
    """No cgroups: rlimits for a per-call uid, and a parent that sums the tree's memory."""

    interval = 0.2

    def __init__(self, limits: Limits):
        super().__init__(limits)
        self.next_look, self.problem = 0.0, ""

    def join(self) -> None:
        # Kernel-enforced, per process: enough CPU for the whole call, and (as a user of its
        # own) no more processes than the limit.
        seconds = int(self.limits.cpu_seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
        if os.geteuid() == 0:
            resource.setrlimit(resource.RLIMIT_NPROC, (self.limits.processes,) * 2)

    def check(self, pid: int, now: bool = False) -> str:
        if self.problem or (not now and time.monotonic() < self.next_look):
            return self.problem
        self.next_look = time.monotonic() + self.interval
        members = tree(pid)
        memory, threads, cpu = 0, 0, 0.0
        for member in members:
            count, seconds = _threads_and_cpu(member)
            threads, cpu = threads + count, cpu + seconds
            memory += _private_bytes(member)
        if memory > self.limits.memory_bytes:
            self.problem = memory_problem(self.limits)
        elif threads >= self.limits.processes:  # at the limit: RLIMIT_NPROC refuses more
            self.problem = processes_problem(self.limits)
        elif cpu > self.limits.cpu_seconds:
            self.problem = cpu_problem(self.limits)
        return self.problem

    def finish(self) -> str:
        return self.problem

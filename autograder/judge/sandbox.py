"""Running a student's code in a confined child process, and getting data back from it.

``run_confined(task, limits)`` forks. The child confines itself, runs ``task()`` (which calls
the student's code and returns bytes), writes the bytes to a pipe and exits. The parent, which
never runs student code, reads the bytes or learns why there are none. Confinement uses Linux
namespaces and resource limits, so it needs root or unprivileged user namespaces:

- limits on the call's whole process tree, however many processes it starts: memory, processes
  and threads, CPU (``autograder.judge.limits``: cgroup v2, cgroup v1, or a watchdog), within a
  wall-clock limit, and ``RLIMIT_AS`` on each process of a CPU call;
- a new PID namespace whose init is the task: when the task ends, or the parent kills the
  child, everything it started (a process in the background, a daemon that called ``setsid``)
  is killed with it;
- a new network namespace with no interfaces but its own loopback: no network;
- a new mount namespace whose root holds only the Python installation, its packages, the
  course's ``dpr_course`` package (without the expected values), the system libraries and a
  few files of ``/etc``, read-only, plus an empty writable ``/tmp`` and workspace. Solutions,
  hidden tests, submissions, gradebooks, home directories and credentials are not there; of the
  Hugging Face cache only the folders of the profile's models are, at ``/hf``. A GPU call also
  gets the NVIDIA device nodes, and nothing else of ``/dev`` but null, zero and random;
- an environment of its own: only ``CHILD_ENVIRONMENT``, nothing of the grader's; the
  environment block the process started with is wiped from its memory;
- a user id of its own (``UID_BASE`` + its pid, when started as root): no file of the grader's
  user, and no signal to another call's processes;
- stdin, stdout and stderr on ``/dev/null``, and no other file descriptor but the pipe.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import select
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from autograder.cache import cache_root
from autograder.judge import limits as tree_limits
from autograder.judge.limits import Limits
from autograder.judge.faults import GradingError
from autograder.course.paths import COURSE_ROOT

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT = 1, 2, 4, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_PDEATHSIG = 1
UID_BASE = 1_000_000_000   # a confined call runs as UID_BASE + its pid: a user of its own

# Everything the child's environment holds: what the course's code and its libraries need.
CHILD_ENVIRONMENT = {
    "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/workspace", "TMPDIR": "/tmp",
    "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "HF_HOME": "/hf", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_VERBOSITY": "error", "TOKENIZERS_PARALLELISM": "false",
    "PYTHONWARNINGS": "ignore", "TQDM_DISABLE": "1", "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp/matplotlib",
}
# Passed on from the grader's environment when set (none of them holds anything secret).
CHILD_PASSED_ON = ("DPR_PROFILE", "CUDA_VISIBLE_DEVICES")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf",
             "localtime", "timezone", "hosts", "fonts", "alternatives", "mime.types")
GPU_DEVICES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")


class SandboxUnavailable(GradingError):
    """This machine cannot confine code (no root, no unprivileged user namespaces)."""


@dataclass
class Outcome:
    data: bytes | None                   # what the task returned, if it finished
    problem: str = ""                    # why there is no data: timeout, crash, limit, exit code
    stopped: bool = False                # it was stopped: out of time, or over a limit
    started: bool = True                 # the task said its untrusted part had begun


_libc = ctypes.CDLL(None, use_errno=True)
STARTED = b"S"  # sent once by a task before untrusted code runs (never a length's first byte)
_answer_fd: int | None = None  # in the confined child: the pipe to the parent


def untrusted_code_starts() -> None:
    """Tell the parent that from here on the task runs untrusted code: what goes wrong before
    this is the grader's fault; whatever comes after it, the untrusted code may have forged."""
    global _answer_fd
    if _answer_fd is not None:
        os.write(_answer_fd, STARTED)
        _answer_fd = None


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                       ctypes.c_ulong(flags), data.encode() or None), f"mount {target}")


# --------------------------------------------------------------------------------------------
# What the child may see


def _readable_roots() -> list[str]:
    """What the task may read where it is: the interpreter, its packages, system libraries."""
    import dpr_course

    roots = {sys.base_prefix, sys.prefix, str(Path(dpr_course.__file__).parent),
             "/usr", "/lib", "/lib64", "/bin"}
    roots.update(p for p in sys.path if p and Path(p).is_dir()
                 and Path(p).resolve() != Path(COURSE_ROOT).resolve())
    roots.update(f"/etc/{name}" for name in ETC_FILES)
    return sorted(r for r in roots if os.path.lexists(r))


def _model_folders() -> list[tuple[str, str]]:
    """(cache folder, where the task sees it) of the course's models in the Hugging Face cache:
    the model files only, never the cache's token or any other model."""
    from dpr_course.profiles import PROFILES

    hub = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME") or os.path.expanduser("~/.cache/huggingface"), "hub")
    models = {p.model_source for p in PROFILES.values()} | {p.tokenizer_source for p in PROFILES.values()}
    folders = []
    for model in sorted(models):  # those that are hub ids and cached
        folder = os.path.join(hub, "models--" + model.replace("/", "--"))
        if os.path.isdir(folder):
            folders.append((folder, f"{CHILD_ENVIRONMENT['HF_HOME']}/hub/{os.path.basename(folder)}"))
    return folders


def _hidden_folders(roots: list[str] | None = None) -> list[str]:
    """Folders within what the task may read that it must not see, as real paths: the
    course-version cache (``autograder/cache.py``: the instructor's results), where its root lies
    under a readable one (``DPR_CACHE_DIR`` inside the Python installation, or a folder on
    ``sys.path``). Found through the grader's environment, which the child drops."""
    roots = _readable_roots() if roots is None else roots
    cache = os.path.realpath(cache_root())
    for root in roots:
        real = os.path.realpath(root)
        if cache == real or cache.startswith(real.rstrip("/") + "/"):
            return [cache]
    return []


def _bind(source: str, target: str, read_only: bool = True) -> None:
    """Bind ``source`` (a folder or a file) at ``target`` inside the new root."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    elif not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(source, target, None, MS_BIND | MS_REC)
    if read_only:
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)


def _build_root(new_root: str, workspace: str, scratch_bytes: int, gpu: bool,
                models: list[tuple[str, str]], hidden: list[str] = ()) -> None:
    """Mount a fresh root holding only what the task may read (read-only) and scratch space."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    for scratch in ("/tmp", workspace):  # first: a course checked out under /tmp stays visible
        os.makedirs(new_root + scratch, exist_ok=True)
        _mount("tmpfs", new_root + scratch, "tmpfs", MS_NOSUID | MS_NODEV,
               f"size={scratch_bytes},mode=1777")
    roots = _readable_roots()
    for path in roots:
        if os.path.islink(path) and not os.path.lexists(new_root + path):  # /bin -> usr/bin
            os.makedirs(os.path.dirname(new_root + path), exist_ok=True)
            os.symlink(os.readlink(path), new_root + path)
    bound: list[str] = []
    for real in sorted({os.path.realpath(path) for path in roots}):  # a folder before its files
        if not any(real.startswith(done + "/") for done in bound):
            _bind(real, new_root + real)
            bound.append(real)
    for folder, seen_as in models:
        _bind(folder, new_root + seen_as)
    import dpr_course

    expectations = new_root + str(Path(dpr_course.__file__).parent / "expectations")
    if os.path.isdir(expectations):  # the expected values are the instructor's
        _mount("tmpfs", expectations, "tmpfs", MS_RDONLY, "size=4k")
    for folder in hidden:  # an empty folder in its place
        if os.path.isdir(new_root + folder):
            _mount("tmpfs", new_root + folder, "tmpfs", MS_RDONLY, "size=4k")
    devices = ["null", "zero", "urandom", "random"]
    if gpu:
        devices += [name for name in os.listdir("/dev") if name in GPU_DEVICES
                    or name.startswith("nvidia") and name[6:].isdigit()]
    for device in devices:
        _bind(f"/dev/{device}", f"{new_root}/dev/{device}", read_only=False)
    if gpu and os.path.isdir("/sys"):  # the CUDA driver reads the PCI topology
        _bind("/sys", new_root + "/sys")
    os.makedirs(new_root + "/dev/shm", exist_ok=True)
    _mount("tmpfs", new_root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size={scratch_bytes}")
    os.makedirs(new_root + "/proc", exist_ok=True)
    _mount("proc", new_root + "/proc", "proc", MS_NOSUID | MS_NODEV)
    os.chroot(new_root)


def _forget_environment() -> None:
    """Replace the grader's environment by the child's own, and wipe the block the process
    started with (what /proc/<pid>/environ shows) from memory."""
    child = dict(CHILD_ENVIRONMENT)
    child.update({name: os.environ[name] for name in CHILD_PASSED_ON if name in os.environ})
    os.environ.clear()
    os.environ.update(child)
    try:  # fields 50 and 51 of /proc/self/stat: where the initial environment block lies
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])
    except (OSError, ValueError, IndexError):
        return
    if 0 < start < end:
        ctypes.memset(start, 0, end - start)


# --------------------------------------------------------------------------------------------
# The child


def _address_space() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


def _enter_namespaces() -> None:
    """New namespaces; as a normal user, inside a user namespace that maps us to root."""
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    if os.geteuid() == 0:
        _check(_libc.unshare(flags), "unshare")
        return
    uid, gid = os.geteuid(), os.getegid()
    _check(_libc.unshare(flags | CLONE_NEWUSER), "unshare (user namespace)")
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def _drop_privileges(limits: Limits, inherited: int, uid: int) -> None:
    if not limits.gpu:
        resource.setrlimit(resource.RLIMIT_AS, (inherited + limits.memory_bytes,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.geteuid() == 0 and os.getuid() == 0 and _outer_uid == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


_outer_uid = os.getuid()


def _quiet_descriptors(keep: int) -> None:
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)
    # The caller may have redirected sys.stdout (to pytest's capture, to a StringIO): what the
    # student's code prints goes nowhere, not into memory or a closed descriptor.
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = sys.stderr = open(1, "w", closefd=False)  # noqa: SIM115


def _child(task: Callable[[], bytes], write_fd: int, limits: Limits, workspace: str,
           guard: tree_limits.Guard, models: list[tuple[str, str]], hidden: list[str]) -> None:
    """In the forked child: confine, then run ``task`` as the init of a PID namespace of its
    own (this process stays outside and waits for it)."""
    guard.join()  # first, so that all it allocates from here on counts
    uid = UID_BASE + os.getpid()
    inherited = _address_space()
    _forget_environment()
    _quiet_descriptors(write_fd)
    os.setsid()  # the parent kills this whole group on timeout
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _enter_namespaces()
    if os.fork():  # this process stays outside as the waiter; the next is pid 1 inside
        _relay_exit()
    _die_with_parent()
    _build_root(_new_root(), workspace, limits.scratch_bytes, limits.gpu, models, hidden)
    os.chdir(workspace)
    # The task is pid 1 itself (a fork fewer: each copies this process's page tables): when it
    # ends, the namespace ends, and everything it started is killed with it.
    _drop_privileges(limits, inherited, uid)
    global _answer_fd
    _answer_fd = write_fd
    try:
        data = task()
    except BaseException as error:  # noqa: BLE001 - e.g. MemoryError: the task's own failure
        data = b"\0TASK " + f"{type(error).__name__}: {error}".encode()[:2000]
    _send(write_fd, data)
    os._exit(0)


def _send(write_fd: int, data: bytes) -> None:
    """The task's answer, after its length: the parent need not wait for the pipe to close."""
    view = memoryview(len(data).to_bytes(HEADER, "big") + data)
    while view:
        view = view[os.write(write_fd, view):]


def _die_with_parent() -> None:
    """Be killed when the parent dies, also if it died before this was set (a namespace's init
    sees its parent as 0, but is killed with the waiter's process group anyway)."""
    parent = os.getppid()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent != 0 and os.getppid() != parent:
        os._exit(70)


def _relay_exit() -> None:
    """Wait for the one child and exit as it did (a signal n becomes exit code 128 + n)."""
    _, status = os.wait()
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


def _new_root() -> str:
    for base in ("/run", "/tmp"):  # a private mount point; the tmpfs hides what is there
        path = f"{base}/dpr-sandbox-root"
        try:
            os.makedirs(path, exist_ok=True)
            return path
        except OSError:
            continue
    raise OSError("no place for the sandbox's root")


# --------------------------------------------------------------------------------------------
# The parent


def run_confined(task: Callable[[], bytes], limits: Limits = Limits(),
                 workspace: str = "/workspace") -> Outcome:
    """Run ``task()`` in a confined child; return its bytes, or why there are none."""
    finish_pending()
    guard = tree_limits.guard(limits)
    pid, read_fd = _start_child(task, limits, workspace, guard)
    call = _Call(bytearray())
    try:
        _receive(call, pid, read_fd, limits, guard)
    finally:  # however the wait ended (an interrupt too), the child's tree goes
        os.close(read_fd)
        status = _stop(pid, guard, call)
    return _outcome(call, status, limits)


@dataclass
class _Call:
    """What the parent saw of one call while it ran."""
    received: bytearray
    started: bool = False      # the task said it began: until then, a failure is the grader's
    timed_out: bool = False
    problem: str = ""          # a limit the tree broke

    def answered(self) -> bool:
        return _complete(self.received) and not self.problem

    def data(self) -> bytes:
        return bytes(self.received[HEADER:HEADER + _length(self.received)]) \
            if _complete(self.received) else b""


def _start_child(task: Callable[[], bytes], limits: Limits, workspace: str,
                 guard: tree_limits.Guard) -> tuple[int, int]:
    """Fork the confined child; (its pid, the pipe its answer comes on)."""
    models = _model_folders()  # found through the grader's environment, which the child drops
    hidden = _hidden_folders()
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        try:
            os.close(read_fd)
            _child(task, write_fd, limits, workspace, guard, models, hidden)
        except BaseException as error:  # noqa: BLE001 - report any failure, never return
            try:
                _send(write_fd, b"\0SANDBOX " + repr(error).encode()[:2000])
            finally:
                os._exit(70)
    os.close(write_fd)
    return pid, read_fd


def _receive(call: _Call, pid: int, read_fd: int, limits: Limits,
             guard: tree_limits.Guard) -> None:
    """Read the child's answer into ``call`` until it is whole, the clock runs out or a limit
    is broken."""
    deadline = time.monotonic() + limits.seconds
    while not _complete(call.received):
        left = deadline - time.monotonic()
        if left <= 0:
            call.timed_out = True
            break
        call.problem = guard.check(pid)
        if call.problem:
            break
        if select.select([read_fd], [], [], min(left, 0.1))[0]:
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            call.received += chunk
            if not call.started and call.received.startswith(STARTED):  # before the length
                call.started = True
                del call.received[:len(STARTED)]


def _stop(pid: int, guard: tree_limits.Guard, call: _Call) -> int:
    """Kill the child's tree; its exit status (0 when it answered: then reaping it and removing
    its limits wait for ``finish_pending``, and need not hold up the grader)."""
    call.problem = call.problem or guard.check(pid, now=True)
    os.kill(pid, signal.SIGKILL)  # the waiter: the task (its init) dies with it (PDEATHSIG)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # and the whole group, once it has one
    if call.answered():
        _pending.append((pid, guard))
        return 0
    _, status = os.waitpid(pid, 0)
    finished = guard.finish()  # always: the call's cgroups go even when a limit was broken
    call.problem = call.problem or finished
    return status


def _outcome(call: _Call, status: int, limits: Limits) -> Outcome:
    """The call's outcome from what came back and how the child ended."""
    data, started = call.data(), call.started
    if data.startswith(b"\0SANDBOX ") and not started:
        raise SandboxUnavailable("could not confine the student's code, so it was not run: "
                                 + data[9:].decode(errors="replace"))
    if call.problem:
        return Outcome(None, call.problem, stopped=True, started=started)
    if data.startswith(b"\0TASK "):
        return Outcome(None, "failed with " + data[6:].decode(errors="replace"), started=started)
    if call.timed_out:
        return Outcome(None, f"did not finish within {limits.seconds:g} s and was stopped",
                       stopped=True, started=started)
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not data or data.startswith(b"\0SANDBOX "):
        return Outcome(None, _describe_exit(code), started=started)
    return Outcome(data, started=started)


HEADER = 8  # bytes of the answer's length, before it
_pending: list = []  # (waiter pid, guard) of calls that answered and were killed, not yet reaped


def _length(received: bytes) -> int:
    return int.from_bytes(received[:HEADER], "big") if len(received) >= HEADER else -1


def _complete(received: bytes) -> bool:
    return len(received) >= HEADER and len(received) >= HEADER + _length(received)



def finish_pending() -> None:
    """Reap the calls that already answered, and remove their limits (their processes were
    killed when they answered; by now they have usually exited)."""
    while _pending:
        pid, guard = _pending.pop()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        guard.finish()


def _describe_exit(code: int) -> str:
    if code == 0:
        return "ended its process without returning (os._exit or sys.exit?)"
    if code > 128:
        number = code - 128
        known = number in signal.Signals._value2member_map_
        name = signal.Signals(number).name if known else number
        return f"its process was killed by signal {name}" + (
            " (a crash in native code, e.g. a segmentation fault)" if name == "SIGSEGV" else "")
    return f"its process exited with code {code} without returning"

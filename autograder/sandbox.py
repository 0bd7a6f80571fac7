"""Running a student's code in a confined child process, and getting data back from it.

``run_confined(task, limits)`` forks. The child confines itself, runs ``task()`` (which calls
the student's code and returns bytes), writes the bytes to a pipe and exits. The parent, which
never runs student code, reads the bytes or learns why there are none. Confinement uses Linux
namespaces and resource limits, so it needs root or unprivileged user namespaces:

- a new PID namespace whose init only waits for the task: when the task ends, or the parent
  kills the child after ``limits.seconds``, everything it started (a process in the background,
  a daemon that called ``setsid``) is killed with it;
- a new network namespace with no interfaces but its own loopback: no network;
- a new mount namespace whose root holds only the Python installation, its packages and the
  course's ``dpr_course`` package, read-only, plus an empty writable ``/tmp`` and workspace:
  solutions, hidden tests, expectations, submissions and the gradebook are not there to read
  or write;
- user ``nobody`` (when started as root), an address-space limit and a process limit;
- stdin, stdout and stderr on ``/dev/null``, and no other file descriptor but the pipe.
"""

from __future__ import annotations

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

from .paths import COURSE_ROOT

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT = 1, 2, 4, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_PDEATHSIG = 1
NOBODY = 65534


class SandboxUnavailable(RuntimeError):
    """This machine cannot confine code (no root, no unprivileged user namespaces)."""


@dataclass(frozen=True)
class Limits:
    seconds: float = 600.0               # wall clock for one task
    memory_bytes: int = 4 << 30          # address space the task may add to what it inherits
    processes: int = 512                 # threads count too (torch and OpenMP start many)
    scratch_bytes: int = 256 << 20       # size of the writable /tmp and workspace


@dataclass
class Outcome:
    data: bytes | None                   # what the task returned, if it finished
    problem: str = ""                    # why there is no data: timeout, crash, exit code
    timed_out: bool = False


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                       ctypes.c_ulong(flags), data.encode() or None), f"mount {target}")


def _readable_roots() -> list[str]:
    """What the task may read: the interpreter, its packages, ``dpr_course``, system files."""
    import dpr_course

    roots = {sys.base_prefix, sys.prefix, str(Path(dpr_course.__file__).parent),
             "/usr", "/lib", "/lib64", "/bin", "/etc"}
    roots.update(p for p in sys.path if p and Path(p).is_dir()
                 and Path(p).resolve() != Path(COURSE_ROOT).resolve())
    hf_home = os.environ.get("HF_HOME", os.path.expanduser("~/.cache/huggingface"))
    if Path(hf_home).is_dir():  # the pretrained weights of the full profile
        roots.add(hf_home)
    return sorted(r for r in roots if Path(r).exists())


def _build_root(new_root: str, workspace: str, scratch_bytes: int) -> None:
    """Mount a fresh root holding only ``_readable_roots()`` (read-only) and scratch space."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    for scratch in ("/tmp", workspace):  # first: a course checked out under /tmp stays visible
        os.makedirs(new_root + scratch, exist_ok=True)
        _mount("tmpfs", new_root + scratch, "tmpfs", MS_NOSUID | MS_NODEV,
               f"size={scratch_bytes},mode=1777")
    for path in _readable_roots():
        if os.path.islink(path) and not os.path.lexists(new_root + path):  # /bin -> usr/bin
            os.makedirs(os.path.dirname(new_root + path), exist_ok=True)
            os.symlink(os.readlink(path), new_root + path)
        target = new_root + os.path.realpath(path)
        os.makedirs(target, exist_ok=True)
        _mount(os.path.realpath(path), target, None, MS_BIND | MS_REC)
        _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)
    import dpr_course

    expectations = new_root + str(Path(dpr_course.__file__).parent / "expectations")
    if os.path.isdir(expectations):  # the expected values are the instructor's
        _mount("tmpfs", expectations, "tmpfs", MS_RDONLY, "size=4k")
    os.makedirs(new_root + "/dev", exist_ok=True)
    for device in ("null", "zero", "urandom", "random"):
        open(f"{new_root}/dev/{device}", "w").close()
        _mount(f"/dev/{device}", f"{new_root}/dev/{device}", None, MS_BIND)
    os.makedirs(new_root + "/dev/shm", exist_ok=True)
    _mount("tmpfs", new_root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size={scratch_bytes}")
    os.makedirs(new_root + "/proc", exist_ok=True)
    _mount("proc", new_root + "/proc", "proc", MS_NOSUID | MS_NODEV)
    os.chroot(new_root)


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


def _drop_privileges(limits: Limits, inherited: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (inherited + limits.memory_bytes,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.geteuid() == 0 and os.getuid() == 0 and _outer_uid == 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes,) * 2)
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


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


def _child(task: Callable[[], bytes], write_fd: int, limits: Limits, workspace: str) -> None:
    """In the forked child: confine, then run ``task`` as the only process of a PID namespace
    (its parent, the namespace's init, just waits)."""
    inherited = _address_space()
    _quiet_descriptors(write_fd)
    os.setsid()  # the parent kills this whole group on timeout
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _enter_namespaces()
    if os.fork():  # this process stays outside as the waiter; the next is pid 1 inside
        _relay_exit()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _build_root(_new_root(), workspace, limits.scratch_bytes)
    os.chdir(workspace)
    if os.fork():  # pid 1: when the task ends, the namespace ends, and all it started dies
        _relay_exit()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _drop_privileges(limits, inherited)
    try:
        data = task()
    except BaseException as error:  # noqa: BLE001 - e.g. MemoryError: the task's own failure
        data = b"\0TASK " + f"{type(error).__name__}: {error}".encode()[:2000]
    view = memoryview(data)
    while view:
        view = view[os.write(write_fd, view):]
    os._exit(0)


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


def run_confined(task: Callable[[], bytes], limits: Limits = Limits(),
                 workspace: str = "/workspace") -> Outcome:
    """Run ``task()`` in a confined child; return its bytes, or why there are none."""
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        try:
            os.close(read_fd)
            _child(task, write_fd, limits, workspace)
        except BaseException as error:  # noqa: BLE001 - report any failure, never return
            try:
                os.write(write_fd, b"\0SANDBOX " + repr(error).encode()[:2000])
            finally:
                os._exit(70)
    os.close(write_fd)
    chunks, deadline, timed_out = [], time.monotonic() + limits.seconds, False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                timed_out = True
                break
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        try:
            os.killpg(pid, signal.SIGKILL)  # the child's group: waiter, init and task
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    if data.startswith(b"\0SANDBOX "):
        raise SandboxUnavailable("could not confine the student's code, so it was not run: "
                                 + data[9:].decode(errors="replace"))
    if data.startswith(b"\0TASK "):
        return Outcome(None, "failed with " + data[6:].decode(errors="replace"))
    if timed_out:
        return Outcome(None, f"did not finish within {limits.seconds:g} s and was stopped",
                       timed_out=True)
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not data:
        return Outcome(None, _describe_exit(code))
    return Outcome(data)


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

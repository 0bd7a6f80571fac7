"""Processes of a grading run that must not outlive it.

``python -m autograder grade`` starts its nbgrader workers and its judge server each in a
process group of its own and kills those groups when it ends (``autograder.run.GradingRun``).
When it is killed outright (SIGKILL) it cannot, so each of them also dies with it: the judge
server and its forks through Linux's parent-death signal (``die_with_parent``), the workers,
which outlive the job threads that start them, by watching for it (``watch_parent``). Only
its scratch folder stays; the next run on the machine removes it (``remove_abandoned``).

Every command of ``python -m autograder`` turns SIGTERM and SIGHUP into an exception, as
Ctrl-C is (``stopped_by_signals``), so that what it started and made is undone on the way out.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path

from autograder import config

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """Be killed (SIGKILL) when the parent dies; exit now if it already has (if it is no
    longer ``parent``: by default the grading process, when the grading run started this one)."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent is None and config.current().grader_pid:
        parent = config.current().grader_pid
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def watch_parent(interval: float = 1.0) -> None:
    """For a process that its parent may start from a short-lived thread (Linux sends the
    parent-death signal when that *thread* ends): a thread that kills this process's whole
    group within ``interval`` seconds once the grading process is gone."""
    parent = config.current().grader_pid or os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


OWNER = ".owner"  # in a run's scratch folder: locked while its grader lives


def make_owned_folder(prefix: str) -> tuple[Path, int]:
    """A new scratch folder in the temporary folder, and the descriptor of its owner file,
    locked by this process until it closes it or dies (however: the kernel drops the lock).
    The file is locked before it gets its name, so no other run sees it unlocked."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    fd = os.open(folder / (OWNER + ".new"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, socket.gethostname().encode())
    os.rename(folder / (OWNER + ".new"), folder / OWNER)
    return folder, fd


def remove_abandoned(prefix: str) -> None:
    """Remove the scratch folders (``prefix*`` in the temporary folder) of runs on this machine
    whose grader is gone: killed outright (SIGKILL, or the machine's OOM killer), it could not
    remove its own. A folder whose owner file is locked (its run is alive), that has none yet
    (a run starting), or that another machine made (a shared temporary folder) is left alone."""
    for folder in Path(tempfile.gettempdir()).glob(prefix + "*"):
        try:
            fd = os.open(folder / OWNER, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.read(fd, 256).decode(errors="replace") == socket.gethostname():
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass  # locked: its run is alive
        finally:
            os.close(fd)


@contextlib.contextmanager
def owned_scratch(prefix: str):
    """A scratch folder (``prefix*`` in the temporary folder) for the block, removed after it
    however it ends; one whose process was killed outright is removed by the next to start."""
    remove_abandoned(prefix)
    folder, owner = make_owned_folder(prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(owner)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
_stopping: list[int] = []  # the signals that are ending this process (nested runs share it)


def stopping_signal() -> int | None:
    """The signal that is ending this process, if one is (see ``stopped_by_signals``)."""
    return _stopping[0] if _stopping else None


@contextlib.contextmanager
def stopped_by_signals():
    """SIGTERM and SIGHUP (a ``timeout``, a closed terminal, a preempted cluster job) end the
    run as Ctrl-C does, by an exception, so that it stops its processes on the way out. Once
    stopping, further signals are ignored: they often come in twos (``timeout`` and a
    ``pkill``, a terminal and its shell), and a second one must not cut the cleanup short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    def stop(number, _frame):
        for each in STOP_SIGNALS:
            signal.signal(each, signal.SIG_IGN)
        _stopping.append(number)
        if number == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + number)

    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items() if not _stopping else ():  # else: exiting
            signal.signal(number, handler)

"""Processes of a grading run that must not outlive it.

``python -m autograder grade`` starts its nbgrader workers and its judge server each in a
process group of its own and kills those groups when it ends (``commands.grade.GradingRun``).
When it is killed outright (SIGKILL) it cannot, so each of them also dies with it: the judge
server and its forks through Linux's parent-death signal (``die_with_parent``), the workers,
which outlive the job threads that start them, by watching for it (``watch_parent``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time

PR_SET_PDEATHSIG = 1
GRADER_PID = "DPR_GRADER_PID"  # set by the grading run: the process all others die with


def die_with_parent(parent: int | None = None) -> None:
    """Be killed (SIGKILL) when the parent dies; exit now if it already has (if it is no
    longer ``parent``: by default the grading process, when the grading run started this one)."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent is None and os.environ.get(GRADER_PID):
        parent = int(os.environ[GRADER_PID])
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def watch_parent(interval: float = 1.0) -> None:
    """For a process that its parent may start from a short-lived thread (Linux sends the
    parent-death signal when that *thread* ends): a thread that kills this process's whole
    group within ``interval`` seconds once the grading process is gone."""
    parent = int(os.environ.get(GRADER_PID) or os.getppid())

    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()

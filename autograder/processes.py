"""Processes of a grading run that must not outlive it.

``python -m autograder grade`` starts its nbgrader jobs and its judge server each in a process
group of its own and kills those groups when it ends (``commands.grade.GradingRun``). When it
is killed outright (SIGKILL) it cannot, so each of them also asks Linux to kill it when its
parent dies, and checks that the parent it was started by is still there.
"""

from __future__ import annotations

import ctypes
import os
import signal

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

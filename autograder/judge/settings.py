"""The limits on a student's code, as the judge's callers pass them (no torch here: the nbgrader
job that asks the judge server imports this, and nothing heavy)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from dpr_course import settings

MEMO = "DPR_JUDGE_MEMO"  # the grading run's folder for shared training runs (autograder.judge.memo)


@dataclass(frozen=True)
class Settings:
    """Limits on the student's code. A call's wall clock: the longest, part 4's training run,
    takes 30 to 110 s in the tiny profile (one thread, on a fast or a busy 2-core machine); a
    function that trains nothing gets ``quick_seconds`` (at most ``cell_seconds``), so that an
    infinite loop where the honest code takes milliseconds is stopped soon. Memory and
    processes: what a call's whole process tree may add and start. Device: where the student's
    code computes, "auto" (a GPU when the machine has one, else the CPU), "cpu" or "cuda"; the
    judge itself always stays on the CPU, on ``threads`` threads (0: the job's share of the
    cores). The student's code always runs on one."""
    cell_seconds: float
    notebook_seconds: float
    memory_bytes: int
    processes: int
    device: str
    quick_seconds: float = float("inf")
    threads: int = 0

    @classmethod
    def from_environment(cls, environ=os.environ) -> "Settings":
        """From the course's settings table (``dpr_course/settings.py``)."""
        def value(name):
            return settings.get(name, environ)
        return cls(float(value("DPR_CELL_TIMEOUT")), float(value("DPR_NOTEBOOK_TIMEOUT")),
                   int(float(value("DPR_MEMORY_LIMIT_GB")) * (1 << 30)),
                   int(value("DPR_PROCESS_LIMIT")), value("DPR_JUDGE_DEVICE"),
                   float(value("DPR_QUICK_CALL_TIMEOUT")), _threads(value("DPR_JUDGE_THREADS")))

    def call_seconds(self, function: str) -> float:
        """The wall-clock limit on one call of the student's ``function``."""
        from autograder.course.stages import TRAINING_FUNCTIONS

        if function in TRAINING_FUNCTIONS:
            return self.cell_seconds
        return min(self.cell_seconds, self.quick_seconds)

    @classmethod
    def defaults(cls, profile: str = "tiny", **changes) -> "Settings":
        """The table's defaults for ``profile``, whatever the environment says, with changes."""
        return replace(cls.from_environment({"DPR_PROFILE": profile}), **changes)

    def judge_threads(self, environ=os.environ) -> int:
        """The judge's threads: ``threads``, or with 0 the job's share of the cores (its
        ``OMP_NUM_THREADS``, which the grading run sets to the cores over ``--jobs``)."""
        return self.threads or int(environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)

    def wants_gpu(self) -> bool:
        """Whether a call gets the GPUs (decided without initialising CUDA here)."""
        return self.device != "cpu" and os.path.exists("/dev/nvidiactl")


def _threads(value: str) -> int:
    if value.strip().lower() == "auto":
        return 0
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(f"DPR_JUDGE_THREADS={value!r}: give a number of threads (1 or more) "
                         "or 'auto'")
    return threads

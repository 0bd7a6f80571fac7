"""Where grading time goes: each phase of a grading run, timed into a trace file.

When the run settings name a trace file (``DPR_TRACE``), ``phase(name, notebook=...)`` appends
one JSON line per phase to it: ``{"phase", "notebook", "seconds", "pid", "run"}`` (``run``: a
digest of the run settings the process sees). The grading process, its nbgrader jobs and
the judge's processes all write to the same file (a line is one small appending write), so
``python -m autograder bench`` can sum a whole run. Unset, ``phase`` costs nothing.

Phases nest (an nbgrader job holds its notebooks, a notebook holds its checks, a check holds
its sandboxed calls): the table lists each phase's own total, not a partition of the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import defaultdict
from pathlib import Path

from autograder import config

TRACE = "DPR_TRACE"  # the setting (autograder/config.py); bench sets it

# The phases, outermost first, as the table lists them.
ORDER = ("intake", "template", "prepare notebook", "student", "nbgrader start", "autograde",
         "judge round trip", "instructor's cell", "check", "sandboxed call", "replayed call",
         "confinement", "student's answer cells", "student's call", "sending back", "feedback",
         "scores")


@contextlib.contextmanager
def phase(name: str, notebook: str = "", **labels):
    """Time the block as phase ``name`` (of ``notebook``), if a trace file is set."""
    if not config.current().trace:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        record(name, time.perf_counter() - start, notebook, **labels)


def record(name: str, seconds: float, notebook: str = "", **labels) -> None:
    """One phase's time in the trace file, if one is set; ``labels`` say more (which call)."""
    settings = config.current()
    if not settings.trace:
        return
    line = json.dumps({"phase": name, "notebook": notebook, "seconds": round(seconds, 4),
                       "pid": os.getpid(), "run": settings.digest(), **labels}) + "\n"
    with contextlib.suppress(OSError):  # timing never fails a grading run
        fd = os.open(settings.trace, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def totals(records: list[dict]) -> dict[tuple[str, str], tuple[int, float]]:
    """(phase, notebook) -> (how many times, total seconds)."""
    sums: dict = defaultdict(lambda: [0, 0.0])
    for r in records:
        sums[r["phase"], r["notebook"]][0] += 1
        sums[r["phase"], r["notebook"]][1] += r["seconds"]
    return {key: (count, seconds) for key, (count, seconds) in sums.items()}


def table(records: list[dict], students: int) -> str:
    """A markdown table of seconds per student: a row per phase, a column per notebook (and one
    for the phases of no notebook)."""
    sums = totals(records)
    notebooks = sorted({notebook for _, notebook in sums if notebook})
    rank = {name: i for i, name in enumerate(ORDER)}
    names = sorted({name for name, _ in sums}, key=lambda name: (rank.get(name, 99), name))
    rows = ["| phase | all | " + " | ".join(notebooks) + " |",
            "| :-- |" + " --: |" * (len(notebooks) + 1)]
    for name in names:
        cells = [sums.get((name, notebook), (0, 0.0))[1] / max(1, students)
                 for notebook in ["", *notebooks]]
        rows.append(f"| {name} | " + " | ".join(f"{c:.2f}" if c else "" for c in cells) + " |")
    return "\n".join(rows)

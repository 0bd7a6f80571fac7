"""``python -m autograder bench``: how much faster ``--jobs 2`` grades than ``--jobs 1``.

Six students, each handing in parts 1 to 3 (the reference answers, or a sample's mistakes),
are graded both ways; the command prints both times, the speedup and whether every score
agrees. The README reports its figures.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from autograder.commands.grade import grade
from autograder.course.paths import ASSIGNMENT, SAMPLE_SUBMISSIONS
from autograder.course.samples import load_manifest
from autograder.course.stages import STAGES, of_sample

PARTS = STAGES[:3]
STUDENTS = 6


def class_sources() -> list[tuple[str, ...]]:
    """Per student, whose notebook to hand in for parts 1, 2 and 3: the reference, then each
    stage's own samples in manifest order."""
    own = [[s.student_id for s in load_manifest() if of_sample(s.student_id) is stage]
           for stage in PARTS]
    return [("reference",) * len(PARTS)] + list(zip(*own))[:STUDENTS - 1]


def make_class(folder: Path) -> Path:
    for number, sources in enumerate(class_sources()):
        target = folder / f"student_{number}" / ASSIGNMENT
        target.mkdir(parents=True)
        for stage, source in zip(PARTS, sources):
            shutil.copy(SAMPLE_SUBMISSIONS / source / ASSIGNMENT / f"{stage.notebook}.ipynb", target)
    return folder


def warm_up(submissions: Path, scratch: Path, profile: str) -> None:
    """Grade one student untimed: the gradebook template and the judge server's prepared
    notebooks, made once per grading run whatever --jobs is, then serve both timed runs."""
    first = sorted(submissions.iterdir())[0]
    shutil.copytree(first, scratch / "submitted" / first.name)
    grade(scratch / "submitted", scratch / "grades.csv", profile=profile)


def bench(profile: str = "tiny") -> dict:
    with tempfile.TemporaryDirectory(prefix="dpr-bench-") as scratch:
        submissions = make_class(Path(scratch) / "submitted")
        warm_up(submissions, Path(scratch) / "warm-up", profile)
        figures, rows = {}, {}
        for jobs in (1, 2):
            start = time.perf_counter()
            results = grade(submissions, Path(scratch) / f"jobs{jobs}" / "grades.csv",
                            profile=profile, jobs=jobs)
            figures[jobs] = time.perf_counter() - start
            rows[jobs] = [row for result in results for row in result.rows]
    summary = {"students": STUDENTS, "jobs_1_s": round(figures[1], 1),
               "jobs_2_s": round(figures[2], 1), "speedup": round(figures[1] / figures[2], 2),
               "same_scores": rows[1] == rows[2]}
    print(f"\n{STUDENTS} students, parts 1-3: --jobs 1 {figures[1]:.0f} s, --jobs 2 "
          f"{figures[2]:.0f} s, speedup {summary['speedup']:.2f}x, scores "
          + ("identical" if summary["same_scores"] else "DIFFERENT"))
    return summary

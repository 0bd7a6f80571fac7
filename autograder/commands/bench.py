"""``python -m autograder bench``: where grading time goes, and what ``--jobs 2`` gains.

A class of complete submissions (every notebook: the reference answers, then each part's own
samples in manifest order) is graded in one grading run: first two copies of one student, two
at a time, which pays the batch's fixed cost (the gradebook template, the judge server's
prepared notebooks, the two jobs' nbgrader workers); then the whole class with ``--jobs 1`` and
again with ``--jobs 2``. Every phase is timed (``autograder.phases``), and the command prints
the ``--jobs 1`` run's phase table, what each part costs per student at each job count, the
fixed cost, the cost of one more student, and the speedup: this class's, and a large class's,
where no student is left grading alone at the end.
"""

from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from autograder import phases
from autograder.run import GradingRun, grade
from autograder.course.paths import ASSIGNMENT, SAMPLE_SUBMISSIONS
from autograder.course.samples import load_manifest
from autograder.course.parts import PARTS, of_sample
from autograder.processes import owned_scratch, stopped_by_signals

STUDENTS = 4  # even: --jobs 2 grades them two by two
FIXED = ("template", "prepare notebook", "nbgrader start")


def class_sources(students: int = STUDENTS) -> list[tuple[str, ...]]:
    """Per student, whose notebook to hand in for each part: the reference, then each part's
    own samples in manifest order (the reference where a part has run out)."""
    own = [[s.student_id for s in load_manifest() if of_sample(s.student_id) is part]
           for part in PARTS]
    return [tuple((["reference"] + samples)[i] if i <= len(samples) else "reference"
                  for samples in own) for i in range(students)]


def make_class(folder: Path, students: int = STUDENTS) -> Path:
    for number, sources in enumerate(class_sources(students)):
        target = folder / f"student_{number}" / ASSIGNMENT
        target.mkdir(parents=True)
        for part, source in zip(PARTS, sources):
            shutil.copy(SAMPLE_SUBMISSIONS / source / ASSIGNMENT / f"{part.notebook}.ipynb", target)
    return folder


@contextmanager
def traced(path: Path):
    """Every process the grading run starts from here on appends its phases to ``path``."""
    before = os.environ.get(phases.TRACE)
    os.environ[phases.TRACE] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(phases.TRACE, None)
        else:
            os.environ[phases.TRACE] = before


def _graded(submissions: Path, out: Path, trace: Path, jobs: int, run) -> tuple[float, list, list]:
    """Grade the class; (seconds, score rows, the phases timed)."""
    trace.write_text("")
    shutil.rmtree(run.memo, ignore_errors=True)  # each pass pays for its own shared training runs
    start = time.perf_counter()
    results = grade(submissions, out, jobs=jobs, run=run)
    seconds = time.perf_counter() - start
    return seconds, [row for r in results for row in r.rows], phases.read(trace)


def part_costs(records: list[dict], students: int) -> dict[str, float]:
    """Seconds per student of each notebook: its autograde (the judge included) and feedback."""
    costs = {part.notebook: 0.0 for part in PARTS}
    for (name, notebook), (_, seconds) in phases.totals(records).items():
        if name in ("autograde", "feedback") and notebook in costs:
            costs[notebook] += seconds / students
    return costs


def seconds_per_student(records: list[dict]) -> float:
    """How long a student's grading took, on average, from the job's point of view."""
    times = [r["seconds"] for r in records if r["phase"] == "student"]
    return sum(times) / len(times) if times else float("nan")


def steady_speedup(records_1: list[dict], records_2: list[dict]) -> float:
    """What ``--jobs 2`` gains in a class large enough that no student is left grading alone
    at the end: two students at a time, each taking as long as it did at ``--jobs 2``."""
    return 2 * seconds_per_student(records_1) / seconds_per_student(records_2)


def bench(profile: str = "tiny", students: int = STUDENTS) -> dict:
    with stopped_by_signals(), owned_scratch("dpr-bench-") as scratch:
        submissions = make_class(scratch / "submitted", students)
        trace = scratch / "trace.jsonl"
        with traced(trace), GradingRun(profile) as run:
            first = sorted(submissions.iterdir())[0]
            for copy in range(2):  # two at a time: both jobs' nbgrader workers start here
                shutil.copytree(first, scratch / "warm-up" / f"{first.name}_{copy}")
            warm_up, _, fixed_records = _graded(scratch / "warm-up", scratch / "w.csv", trace, 2, run)
            figures = {jobs: _graded(submissions, scratch / f"jobs{jobs}.csv", trace, jobs, run)
                       for jobs in (1, 2)}
    fixed = sum(r["seconds"] for r in fixed_records if r["phase"] in FIXED)
    (one, rows_1, records), (two, rows_2, records_2) = figures[1], figures[2]
    costs, costs_2 = part_costs(records, students), part_costs(records_2, students)
    summary = {"students": students, "fixed_s": round(fixed, 1),
               "per_student_jobs_1_s": round(one / students, 1),
               "jobs_1_s": round(one, 1), "jobs_2_s": round(two, 1),
               "speedup": round(one / two, 2), "same_scores": rows_1 == rows_2,
               "steady_speedup": round(steady_speedup(records, records_2), 2),
               "parts_s": {name: round(seconds, 1) for name, seconds in costs.items()},
               "parts_jobs_2_s": {name: round(seconds, 1) for name, seconds in costs_2.items()}}
    print(f"\nPhases of grading {students} complete submissions with --jobs 1 (after the "
          f"batch's fixed cost), in seconds:\n\n{phases.table(records, students)}\n")
    print("Per student, each part (autograde with the judge, and feedback), --jobs 1 -> --jobs 2 "
          "(where a part's time grows, it was using both cores at --jobs 1): "
          + ", ".join(f"{name} {costs[name]:.1f} -> {costs_2[name]:.1f} s" for name in costs))
    print(f"Fixed cost of the batch (template, prepared notebooks, nbgrader workers): {fixed:.0f} s "
          f"of work (the warm-up took {warm_up:.0f} s)")
    print(f"One more complete submission: {one / students:.0f} s with --jobs 1 (of which "
          f"{PARTS[-1].notebook}: {costs[PARTS[-1].notebook]:.0f} s)")
    print(f"{students} students: --jobs 1 {one:.0f} s, --jobs 2 {two:.0f} s, speedup "
          f"{summary['speedup']:.2f}x, scores " + ("identical" if summary["same_scores"] else "DIFFERENT"))
    print(f"In a class large enough that no one is graded alone at the end: about "
          f"{summary['steady_speedup']:.2f}x (a student took {seconds_per_student(records):.0f} s "
          f"at --jobs 1, {seconds_per_student(records_2):.0f} s at --jobs 2)")
    return summary

"""``python -m autograder bench``: where grading time goes, what the course-version cache
saves, and what ``--jobs 2`` gains.

On a cache of its own, empty at first (``autograder/cache.py``; the user's is not touched):

1. **cold**: one complete submission (the reference's answers) graded alone, in a grading run
   of its own, which pays the fixed cost in full: the gradebook template, the judge server's
   prepared notebooks with their provided training runs, the nbgrader worker;
2. **warm**: the same submission graded again (a student asking "grade mine again"): the
   fixed cost is the cache's, and each call of the student's code that took a while is
   replayed;
3. **late**: a submission on the warm cache whose code nothing has seen (the reference's
   answers, each cell with a comment added): the fixed cost is the cache's, the student's code
   all runs;
4. **class**: a class of complete submissions (the reference, then each part's own samples in
   manifest order) graded with ``--jobs 1``, then with ``--jobs 2``, in one run on the warm
   cache, each pass running every call of the students' code (no replays).

Every phase is timed (``autograder.phases``). It prints the ``--jobs 1`` pass's phase table,
what each part costs per student at each job count, the cold and warm fixed cost, the three
single-submission times, the cost of one more student, and the speedup: this class's, and a
large class's, where no student is left grading alone at the end.
"""

from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat

from autograder import phases
from autograder.cache import CACHE_ENV
from autograder.course import notebooks
from autograder.judge.memo import forget_calls
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


def late_copy(student: Path, target: Path) -> Path:
    """``student``'s notebooks with a comment added to each answer cell: the same answers, as
    code that no earlier grading has run."""
    folder = target / f"{student.name}_late" / ASSIGNMENT
    folder.mkdir(parents=True)
    for path in sorted((student / ASSIGNMENT).glob("*.ipynb")):
        notebook = notebooks.read(path)
        for cell in notebook.cells:
            if notebooks.is_code_answer(cell):
                cell.source += "\n# handed in late"
        nbformat.write(notebook, str(folder / path.name))
    return target


@contextmanager
def environment_set(name: str, value: str):
    """``name=value`` in this process's environment (and its children's) meanwhile."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def traced(path: Path):
    """Every process the grading run starts from here on appends its phases to ``path``."""
    return environment_set(phases.TRACE, str(path))


def _graded(submissions: Path, out: Path, trace: Path, jobs: int,
            run: GradingRun | None = None, profile: str = "tiny") -> tuple[float, list, list]:
    """Grade the class, in ``run`` or in a run of its own; (seconds, score rows, the phases
    timed)."""
    trace.write_text("")
    start = time.perf_counter()
    results = grade(submissions, out, profile=profile, jobs=jobs, run=run)
    seconds = time.perf_counter() - start
    return seconds, [row[1:] for r in results for row in _rows(r)], phases.read(trace)


def _rows(result) -> list[tuple]:
    return [(r["student_id"], r["notebook"], r["grade_id"], r["score"]) for r in result.rows]


def fixed_cost(records: list[dict]) -> float:
    return sum(r["seconds"] for r in records if r["phase"] in FIXED)


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
    with stopped_by_signals(), owned_scratch("dpr-bench-") as scratch, \
            environment_set(CACHE_ENV, str(scratch / "cache")):
        submissions = make_class(scratch / "submitted", students)
        first = sorted(submissions.iterdir())[0]
        shutil.copytree(first, scratch / "alone" / first.name)
        late_copy(first, scratch / "late")
        trace = scratch / "trace.jsonl"
        with traced(trace):
            single = {name: _graded(scratch / folder, scratch / f"{name}.csv", trace, 1,
                                    profile=profile)
                      for name, folder in (("cold", "alone"), ("warm", "alone"),
                                           ("late", "late"))}
            with GradingRun(profile) as run:
                figures = {}
                for jobs in (1, 2):
                    forget_calls(run.memo)  # each pass runs its students' code
                    figures[jobs] = _graded(submissions, scratch / f"jobs{jobs}.csv", trace,
                                            jobs, run)
    (one, rows_1, records), (two, rows_2, records_2) = figures[1], figures[2]
    costs, costs_2 = part_costs(records, students), part_costs(records_2, students)
    same_single = single["cold"][1] == single["warm"][1] == single["late"][1]
    summary = {"students": students,
               **{f"{name}_s": round(seconds, 1) for name, (seconds, _, _) in single.items()},
               "fixed_cold_s": round(fixed_cost(single["cold"][2]), 1),
               "fixed_warm_s": round(fixed_cost(single["warm"][2]), 1),
               "per_student_jobs_1_s": round(one / students, 1),
               "jobs_1_s": round(one, 1), "jobs_2_s": round(two, 1),
               "speedup": round(one / two, 2),
               "same_scores": rows_1 == rows_2 and same_single,
               "steady_speedup": round(steady_speedup(records, records_2), 2),
               "parts_s": {name: round(seconds, 1) for name, seconds in costs.items()},
               "parts_jobs_2_s": {name: round(seconds, 1) for name, seconds in costs_2.items()}}
    print(f"\nPhases of grading {students} complete submissions with --jobs 1 (on a warm cache, "
          f"no call replayed), in seconds per student:\n\n{phases.table(records, students)}\n")
    print("Per student, each part (autograde with the judge, and feedback), --jobs 1 -> --jobs 2 "
          "(where a part's time grows, it was using both cores at --jobs 1): "
          + ", ".join(f"{name} {costs[name]:.1f} -> {costs_2[name]:.1f} s" for name in costs))
    print(f"Fixed cost of a grading run (template, prepared notebooks, nbgrader worker): "
          f"{summary['fixed_cold_s']:.0f} s of work on a cold cache, "
          f"{summary['fixed_warm_s']:.0f} s on a warm one")
    print(f"One complete submission graded alone: {summary['cold_s']:.0f} s on a cold cache; "
          f"again on the warm cache {summary['warm_s']:.0f} s; a late one (code not seen "
          f"before) on the warm cache {summary['late_s']:.0f} s; scores "
          + ("identical" if same_single else "DIFFERENT"))
    print(f"One more complete submission in a class: {one / students:.0f} s with --jobs 1 (of "
          f"which {PARTS[3].notebook}: {costs[PARTS[3].notebook]:.0f} s)")
    print(f"{students} students: --jobs 1 {one:.0f} s, --jobs 2 {two:.0f} s, speedup "
          f"{summary['speedup']:.2f}x, scores " + ("identical" if rows_1 == rows_2 else "DIFFERENT"))
    print(f"In a class large enough that no one is graded alone at the end: about "
          f"{summary['steady_speedup']:.2f}x (a student took {seconds_per_student(records):.0f} s "
          f"at --jobs 1, {seconds_per_student(records_2):.0f} s at --jobs 2)")
    return summary

"""Grading a class: each student a job on this machine or a Dask cluster, then the CSV, the
feedback and the report (``python -m autograder grade``).

SUBMISSIONS is laid out as nbgrader's ``submitted/`` folder:
``<student_id>/dual_encoder/<notebook>.ipynb``. Each student is one job: their notebooks go in
as bytes, their scores and feedback HTML come out as data. A job autogrades in a scratch copy
of the course (nbgrader's SQLite gradebook is not safe for concurrent writers, so jobs never
share one), and the judge runs the tests (``autograder/judge/``; the student's code runs only
in its sandbox). Jobs run ``--jobs N`` at a time on this machine, or on a Dask cluster
(``--scheduler ADDRESS``). One student's failure never stops the others. The result is one CSV
row per test cell (``student_id,notebook,grade_id,score,max_score``), nbgrader's feedback HTML
for every student, and a report that lists each student's outcome and every problem found in
what they handed in.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from autograder import config
from autograder.course.intake import inspect_submission
from autograder.course.notebooks import grade_id, is_manual
from autograder.course.notebooks import read as read_notebook
from autograder.course.paths import ASSIGNMENT, COURSE_ROOT, RELEASE_DIR
from autograder.course.parts import notebook_names
from autograder.judge.faults import ENAME, TOLD
from autograder.judge.limits import describe as describe_limits
from autograder.judge.redact import redact
from autograder.nbgrading.gradebook import AUTOGRADED, read_submission
from autograder.nbgrading.gradebook import record as record_in_gradebook
from autograder.nbgrading.preprocessors import is_grading_error
from autograder.judge.environment import grading_environment
from autograder.phases import phase
from autograder.processes import stopped_by_signals
from autograder.run.supervisor import GradingRun, worker_run

CSV_COLUMNS = ["student_id", "notebook", "grade_id", "score", "max_score"]
DEFAULT_OUT = COURSE_ROOT / "grading" / "grades.csv"
NOTHING_TO_GRADE = "nothing to grade"


@dataclass
class StudentResult:
    student_id: str
    rows: list = field(default_factory=list)      # dicts with CSV_COLUMNS
    seconds: float = 0.0
    error: str = ""                               # why the student could not be graded, if so
    problems: list = field(default_factory=list)  # what was wrong with what they handed in
    feedback: dict = field(default_factory=dict)  # notebook name -> feedback HTML
    autograded: dict = field(default_factory=dict)  # notebook name -> nbgrader's autograded file
    recorded: dict = field(default_factory=dict)    # what autograde put in its gradebook
    faults: list = field(default_factory=list)    # test cells the grader failed on: unscored

    def handed_in_problems(self) -> list[str]:
        """What was wrong with what the student handed in (nothing at all, too)."""
        return self.problems + ([self.error] if self.error == NOTHING_TO_GRADE else [])

    def grading_errors(self) -> list[str]:
        """The grader's faults for this student: unscored cells, and a student not graded
        although they handed something in."""
        failed = [self.error] if self.error and self.error != NOTHING_TO_GRADE else []
        return failed + self.faults


def find_students(submissions: Path) -> list[str]:
    if not submissions.is_dir():
        raise FileNotFoundError(f"submissions folder {submissions} does not exist")
    return sorted(path.name for path in submissions.iterdir()
                  if path.is_dir() and not path.name.startswith("."))


# One student: a job that needs nothing but the course package (it may run on another machine)

def grade_student(student_id: str, notebooks: dict, profile: str = "tiny", jobs: int = 1,
                  run: GradingRun | None = None) -> StudentResult:
    """Autograde one student's notebooks ({name: bytes}) in a scratch copy of the course, with
    ``jobs`` students at a time."""
    start = time.perf_counter()
    result = StudentResult(student_id)
    run = run or worker_run(profile)
    workspace = Path(tempfile.mkdtemp(prefix="student-", dir=run.folder))
    try:
        env = grading_environment(profile)
        run.copy_template(workspace)
        folder = workspace / "submitted" / student_id / ASSIGNMENT
        folder.mkdir(parents=True)
        for name, data in notebooks.items():
            (folder / f"{name}.ipynb").write_bytes(data)
        with phase("student"):
            outcome = run.autograde(workspace, student_id, env, run.settings_for(jobs))
        if not outcome.get("success"):
            result.error = _last_error(outcome.get("error") or "nbgrader failed")
        with phase("scores"):
            result.recorded = read_submission(workspace / "gradebook.db", student_id)
            result.rows = _read_scores(result.recorded, student_id)
            result.faults = _faults(workspace, student_id)
            for page in (workspace / "feedback" / student_id / ASSIGNMENT).glob("*.html"):
                result.feedback[page.stem] = page.read_text(encoding="utf-8")
            for path in (workspace / "autograded" / student_id / ASSIGNMENT).glob("*.ipynb"):
                result.autograded[path.stem] = path.read_bytes()
    except Exception as error:  # noqa: BLE001 - reported for this student; the batch goes on
        result.error = result.error or f"could not be graded: {type(error).__name__}: {error}"
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    result.seconds = time.perf_counter() - start
    return result


def _read_scores(recorded: dict, student_id: str) -> list[dict]:
    """The CSV's rows: one per test cell (None: the grader failed on it, not scored)."""
    rows = [dict(student_id=student_id, notebook=grade["notebook"], grade_id=grade["grade_id"],
                 score=grade["score"], max_score=grade["max_score"])
            for grade in recorded["grades"] if grade["cell_type"] == "code"]
    order = {name: i for i, name in enumerate(notebook_names())}
    return sorted(rows, key=lambda r: (order.get(r["notebook"], 99), r["notebook"]))


def _faults(workspace: Path, student_id: str) -> list[str]:
    """``notebook/grade_id: why`` of each test cell the grader could not judge."""
    found = []
    for path in sorted((workspace / "autograded" / student_id / ASSIGNMENT).glob("*.ipynb")):
        for cell in read_notebook(path).cells:
            if cell.cell_type == "code" and is_grading_error(cell):
                why = next(o.get("evalue", "") for o in cell.outputs if o.get("ename") == ENAME)
                found.append(f"{path.stem}/{grade_id(cell)}: "
                             f"{redact(why.removeprefix(TOLD), limit=300)}")
    return found


def _last_error(log: str) -> str:
    """The last line of nbgrader's log that names an error (else its last line), shortened."""
    lines = log.strip().splitlines() or ["unknown error"]
    errors = [line for line in lines if "ERROR" in line or "Error" in line]
    return redact((errors or lines)[-1], limit=300)


# The class: intake, jobs on a pool or a cluster, the report

def grade(submissions: Path, out: Path = DEFAULT_OUT, profile: str = "tiny", jobs: int = 1,
          feedback_dir: Path | None = None, scheduler: str | None = None,
          run: GradingRun | None = None, gradebook: Path | None = None,
          cache: bool = True) -> list[StudentResult]:
    """Grade every student folder in ``submissions``: ``jobs`` at a time on this machine, or
    on the Dask cluster whose scheduler is at ``scheduler``. ``run``: a grading run to grade
    in (``bench`` grades twice in one); by default one of its own, ended when grading ends.
    ``gradebook``: also record the results in that nbgrader gradebook of the course
    (``nbgrading/gradebook.py``), for formgrader and nbgrader's own commands."""
    feedback_dir = feedback_dir or out.parent / "feedback"
    if feedback_dir.exists():
        shutil.rmtree(feedback_dir)
    students = find_students(submissions)
    own_run = contextlib.nullcontext(run) if run or scheduler else GradingRun(profile, jobs, cache)
    with stopped_by_signals(), own_run as own:  # a cluster's workers keep runs of their own
        # This process's phases see the run settings its jobs see.
        with config.in_effect(own.settings_for(jobs)) if own else contextlib.nullcontext():
            with phase("intake"):
                intakes = {student: inspect_submission(submissions / student)
                           for student in students}
            work = {student: {name: path.read_bytes() for name, path in intake.notebooks.items()}
                    for student, intake in intakes.items() if intake.notebooks}
            graded = (_on_cluster(work, profile, scheduler) if scheduler
                      else _on_this_machine(work, profile, jobs, own))
    results = []
    for student, intake in intakes.items():
        result = graded.get(student) or StudentResult(student, error=NOTHING_TO_GRADE)
        result.problems = intake.problems + result.problems
        _write_feedback(result, feedback_dir)
        results.append(result)
    write_csv(results, out)
    print(report(results))
    if gradebook is not None:
        recorded = record_in_gradebook(results, gradebook)
        print(f"\nrecorded {recorded} submission{'s' if recorded != 1 else ''} in {gradebook} "
              f"(autograded notebooks in {AUTOGRADED}): grade the written answers in formgrader")
    for name, cell_id, points in hand_graded():
        print(f"\n{name}/{cell_id} ({points:g} points) is graded by hand and is not in the CSV: "
              "grade it in nbgrader's formgrader, or read the answers in the feedback pages.")
    print(f"\nsandbox: each call of a student's code is bounded by {describe_limits()}")
    print(f"\nscores: {out}\nfeedback: {feedback_dir}/<student_id>/{ASSIGNMENT}/")
    faults = sum(len(result.grading_errors()) for result in results)
    if faults:
        print(f"\n{faults} grading error{'s' if faults > 1 else ''}: the grader failed, not the "
              "students; those tests are not scored (blank in the CSV), see Grading errors above",
              file=sys.stderr)
    return results


def _on_this_machine(work: dict, profile: str, jobs: int, run: GradingRun) -> dict:
    """Jobs in threads: each waits on nbgrader and judge subprocesses, which do the work. If
    grading is interrupted, the run is closed first, which ends the jobs the threads wait on."""
    job = functools.partial(_graded_or_failed, profile=profile, jobs=jobs, run=run)
    pool = ThreadPoolExecutor(max(1, jobs))
    try:
        futures = {student: pool.submit(job, student, notebooks)
                   for student, notebooks in work.items()}
        return {student: future.result() for student, future in futures.items()}
    except BaseException:
        run.close()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _on_cluster(work: dict, profile: str, scheduler: str) -> dict:
    """One Dask task per student. Each worker needs this package installed and the course's
    solutions (``python -m autograder grade --scheduler`` sends only the submissions)."""
    from distributed import Client

    is_file = not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://"))
    with (Client(scheduler_file=scheduler) if is_file else Client(scheduler)) as client:
        futures = {student: client.submit(_graded_or_failed, student, notebooks, profile=profile,
                                          key=f"grade-{student}", pure=False)
                   for student, notebooks in work.items()}
        results = {}
        for student, future in futures.items():
            try:
                results[student] = future.result()
            except Exception as error:  # noqa: BLE001 - a lost worker: report, go on
                results[student] = StudentResult(student, error=f"job failed: {error}")
        return results


def _graded_or_failed(student_id: str, notebooks: dict, profile: str = "tiny",
                      jobs: int = 1, run: GradingRun | None = None) -> StudentResult:
    result = grade_student(student_id, notebooks, profile, jobs, run)
    print(f"graded {student_id} in {result.seconds:.1f} s"
          + (f"  [problem: {result.error}]" if result.error else ""), flush=True)
    return result


def _write_feedback(result: StudentResult, feedback_dir: Path) -> None:
    folder = feedback_dir / result.student_id / ASSIGNMENT
    for name, html in result.feedback.items():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.html").write_text(html, encoding="utf-8")


def hand_graded() -> list[tuple[str, str, float]]:
    """(notebook, grade_id, points) of every answer graded by hand (nbgrader's manual grading)."""
    found = []
    for name in notebook_names():
        for cell in read_notebook(RELEASE_DIR / f"{name}.ipynb").cells:
            if is_manual(cell):
                found.append((name, grade_id(cell), float(cell.metadata.nbgrader["points"])))
    return found


def write_csv(results: list[StudentResult], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for result in results:
            writer.writerows({**row, "score": "" if row["score"] is None else row["score"]}
                             for row in result.rows)


def report(results: list[StudentResult]) -> str:
    """The score table (students down, notebooks across, then the total; ``*``: a test the
    grader failed on, not scored), then each student's problems, then the grading errors."""
    names = notebook_names()
    width = max([len("student")] + [len(r.student_id) for r in results])
    header = f"{'student':<{width}}  " + "  ".join(f"{n:>12}" for n in names) + f"  {'total':>12}"
    lines = [header, "-" * len(header)]
    for result in results:
        cells, total, maximum, unscored = [], 0.0, 0.0, False
        for name in names:
            rows = [r for r in result.rows if r["notebook"] == name]
            score = sum(r["score"] or 0.0 for r in rows)
            top = sum(r["max_score"] for r in rows)
            mark = "*" if any(r["score"] is None for r in rows) else ""
            total, maximum, unscored = total + score, maximum + top, unscored or bool(mark)
            cells.append(f"{score:g}/{top:g}{mark}" if rows else "-")
        line = f"{result.student_id:<{width}}  " + "  ".join(f"{c:>12}" for c in cells)
        lines.append(line + f"  {f'{total:g}/{maximum:g}' + ('*' if unscored else ''):>12}")
    for title, problems in (("Problems:", StudentResult.handed_in_problems),
                            ("Grading errors (the grader's fault, not the student's: not scored; "
                             "fix the cause and grade again):", StudentResult.grading_errors)):
        listed = [f"  {r.student_id}: {problem}" for r in results for problem in problems(r)]
        lines += ["", title, *listed] if listed else []
    return "\n".join(lines)

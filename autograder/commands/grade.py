"""``python -m autograder grade``: grade a folder of submissions with nbgrader and the judge.

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

import atexit
import csv
import functools
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course.intake import inspect_submission
from autograder.judge import server as judge_server
from autograder.judge.limits import describe as describe_limits
from autograder.nbgrading.workspace import grading_environment, judge_environment, make_workspace, nbgrader
from autograder.judge.redact import redact
from autograder.course.notebooks import grade_id, is_manual
from autograder.course.notebooks import read as read_notebook
from autograder.course.paths import ASSIGNMENT, COURSE_ROOT, RELEASE_DIR
from autograder.course.stages import notebook_names
from autograder.phases import phase

CSV_COLUMNS = ["student_id", "notebook", "grade_id", "score", "max_score"]
DEFAULT_OUT = COURSE_ROOT / "grading" / "grades.csv"


@dataclass
class StudentResult:
    student_id: str
    rows: list = field(default_factory=list)      # dicts with CSV_COLUMNS
    seconds: float = 0.0
    error: str = ""                               # why the student could not be graded, if so
    problems: list = field(default_factory=list)  # what was wrong with what they handed in
    feedback: dict = field(default_factory=dict)  # notebook name -> feedback HTML


def find_students(submissions: Path) -> list[str]:
    if not submissions.is_dir():
        raise FileNotFoundError(f"submissions folder {submissions} does not exist")
    return sorted(path.name for path in submissions.iterdir()
                  if path.is_dir() and not path.name.startswith("."))


# --------------------------------------------------------------------------------------------
# One student: a job that needs nothing but the course package (it may run on another machine)

_templates: dict = {}   # profile -> scratch course with the assignment in its gradebook
_servers: dict = {}     # profile -> the judge server's socket
_template_lock = threading.Lock()


def _template(profile: str) -> Path:
    """A scratch course with the assignment in its gradebook, made once per process."""
    with _template_lock:
        if profile not in _templates:
            with phase("template"):
                workspace = make_workspace("dpr-template-")
                nbgrader(workspace, "generate_assignment", ASSIGNMENT, "--force",
                         env=grading_environment(profile))
            _templates[profile] = workspace
        return _templates[profile]


def _judge_server(profile: str) -> str:
    """The socket of this process's judge server (autograder/judge/server.py), started once."""
    with _template_lock:
        if profile not in _servers:
            folder = Path(tempfile.mkdtemp(prefix="dpr-judge-server-"))
            address = str(folder / "server.sock")
            with judge_server.listen(address) as listener:  # the server keeps its own copy
                server = subprocess.Popen(
                    [sys.executable, "-m", "autograder.judge.server", str(listener.fileno())],
                    env=judge_environment(profile), cwd=COURSE_ROOT, pass_fds=[listener.fileno()],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            atexit.register(_stop, server, folder)
            _servers[profile] = address
        return _servers[profile]


def _stop(server, folder: Path) -> None:
    server.terminate()
    server.wait(timeout=30)
    shutil.rmtree(folder, ignore_errors=True)


def grade_student(student_id: str, notebooks: dict, profile: str = "tiny",
                  jobs: int = 1) -> StudentResult:
    """Autograde one student's notebooks ({name: bytes}) in a scratch copy of the course."""
    start = time.perf_counter()
    result = StudentResult(student_id)
    env = dict(grading_environment(profile, jobs), DPR_JUDGE_SERVER=_judge_server(profile))
    workspace = Path(tempfile.mkdtemp(prefix="dpr-grade-"))
    try:
        shutil.copytree(_template(profile), workspace, dirs_exist_ok=True)
        folder = workspace / "submitted" / student_id / ASSIGNMENT
        folder.mkdir(parents=True)
        for name, data in notebooks.items():
            (folder / f"{name}.ipynb").write_bytes(data)
        with phase("student"):
            run = subprocess.run([sys.executable, "-m", "autograder.nbgrading.autograde_job",
                                  str(workspace), student_id],
                                 env=env, cwd=COURSE_ROOT, capture_output=True, text=True)
        outcome = json.loads((run.stdout.strip().splitlines() or ["{}"])[-1] or "{}")
        if not outcome.get("success"):
            result.error = _last_error(outcome.get("error") or run.stderr or "nbgrader failed")
        with phase("scores"):
            result.rows = _read_scores(workspace, student_id)
            for page in (workspace / "feedback" / student_id / ASSIGNMENT).glob("*.html"):
                result.feedback[page.stem] = page.read_text(encoding="utf-8")
    except Exception as error:  # noqa: BLE001 - reported for this student; the batch goes on
        result.error = result.error or f"could not be graded: {type(error).__name__}: {error}"
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    result.seconds = time.perf_counter() - start
    return result


def _read_scores(workspace: Path, student_id: str) -> list[dict]:
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(f"sqlite:///{workspace / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student_id)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.cell_type == "code":
                    rows.append(dict(student_id=student_id, notebook=notebook.name,
                                     grade_id=grade.name, score=float(grade.score),
                                     max_score=float(grade.max_score)))
    order = {name: i for i, name in enumerate(notebook_names())}
    return sorted(rows, key=lambda r: (order.get(r["notebook"], 99), r["notebook"]))


def _last_error(log: str) -> str:
    """The last line of nbgrader's log that names an error (else its last line), shortened."""
    lines = log.strip().splitlines() or ["unknown error"]
    errors = [line for line in lines if "ERROR" in line or "Error" in line]
    return redact((errors or lines)[-1], limit=300)


# --------------------------------------------------------------------------------------------
# The class: intake, jobs on a pool or a cluster, the report


def grade(submissions: Path, out: Path = DEFAULT_OUT, profile: str = "tiny", jobs: int = 1,
          feedback_dir: Path | None = None, scheduler: str | None = None) -> list[StudentResult]:
    """Grade every student folder in ``submissions``: ``jobs`` at a time on this machine, or
    on the Dask cluster whose scheduler is at ``scheduler``."""
    feedback_dir = feedback_dir or out.parent / "feedback"
    if feedback_dir.exists():
        shutil.rmtree(feedback_dir)
    with phase("intake"):
        intakes = {student: inspect_submission(submissions / student)
                   for student in find_students(submissions)}
    work = {student: {name: path.read_bytes() for name, path in intake.notebooks.items()}
            for student, intake in intakes.items() if intake.notebooks}
    graded = (_on_cluster if scheduler else _on_this_machine)(
        work, profile, jobs, scheduler)
    results = []
    for student, intake in intakes.items():
        result = graded.get(student) or StudentResult(student, error="nothing to grade")
        result.problems = intake.problems + result.problems
        _write_feedback(result, feedback_dir)
        results.append(result)
    write_csv(results, out)
    print(report(results))
    for name, cell_id, points in hand_graded():
        print(f"\n{name}/{cell_id} ({points:g} points) is graded by hand and is not in the CSV: "
              "grade it in nbgrader's formgrader, or read the answers in the feedback pages.")
    print(f"\nsandbox: each call of a student's code is bounded by {describe_limits()}")
    print(f"\nscores: {out}\nfeedback: {feedback_dir}/<student_id>/{ASSIGNMENT}/")
    return results


def _on_this_machine(work: dict, profile: str, jobs: int, _scheduler) -> dict:
    """Jobs in threads: each waits on nbgrader and judge subprocesses, which do the work."""
    job = functools.partial(_graded_or_failed, profile=profile, jobs=jobs)
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        return dict(zip(work, pool.map(lambda item: job(*item), work.items())))


def _on_cluster(work: dict, profile: str, jobs: int, scheduler: str) -> dict:
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
                      jobs: int = 1) -> StudentResult:
    result = grade_student(student_id, notebooks, profile, jobs)
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
            writer.writerows(result.rows)


def report(results: list[StudentResult]) -> str:
    """The score table (students down, notebooks across, then the total), then each student's
    problems: what could not be graded and why."""
    names = notebook_names()
    width = max([len("student")] + [len(r.student_id) for r in results])
    header = f"{'student':<{width}}  " + "  ".join(f"{n:>12}" for n in names) + f"  {'total':>12}"
    lines = [header, "-" * len(header)]
    for result in results:
        cells, total, maximum = [], 0.0, 0.0
        for name in names:
            rows = [r for r in result.rows if r["notebook"] == name]
            score = sum(r["score"] for r in rows)
            top = sum(r["max_score"] for r in rows)
            total, maximum = total + score, maximum + top
            cells.append(f"{score:g}/{top:g}" if rows else "-")
        line = f"{result.student_id:<{width}}  " + "  ".join(f"{c:>12}" for c in cells)
        lines.append(line + f"  {f'{total:g}/{maximum:g}':>12}")
    troubled = [r for r in results if r.error or r.problems]
    if troubled:
        lines += ["", "Problems:"]
        for result in troubled:
            for problem in ([result.error] if result.error else []) + result.problems:
                lines.append(f"  {result.student_id}: {problem}")
    return "\n".join(lines)

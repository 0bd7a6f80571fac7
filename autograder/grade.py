"""``python -m autograder grade``: grade a folder of submissions with nbgrader.

SUBMISSIONS is laid out as nbgrader's ``submitted/`` folder:
``<student_id>/dual_encoder/<notebook>.ipynb``. Grading happens in a scratch course directory
(fresh gradebook, the solutions copied in), one ``nbgrader autograde`` per student, so one
student's failure never stops the others; with ``--jobs N`` the students are split into N
shards graded at once, each in its own scratch course. The result is one CSV row per test cell
(``student_id,notebook,grade_id,score,max_score``), a summary table, and nbgrader's feedback
HTML for every student.
"""

from __future__ import annotations

import csv
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .nbgrader_run import grading_environment, make_workspace, nbgrader
from .paths import ASSIGNMENT, COURSE_ROOT, notebook_names

CSV_COLUMNS = ["student_id", "notebook", "grade_id", "score", "max_score"]
DEFAULT_OUT = COURSE_ROOT / "grading" / "grades.csv"


@dataclass
class StudentResult:
    student_id: str
    rows: list = field(default_factory=list)   # dicts with CSV_COLUMNS
    seconds: float = 0.0
    error: str = ""                             # why the student could not be graded, if so


def find_students(submissions: Path) -> list[str]:
    if not submissions.is_dir():
        raise FileNotFoundError(f"submissions folder {submissions} does not exist")
    return sorted(path.name for path in submissions.iterdir()
                  if path.is_dir() and not path.name.startswith("."))


def _read_scores(workspace: Path, student_id: str) -> list[dict]:
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(f"sqlite:///{workspace / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student_id)
        for notebook in sorted(submission.notebooks, key=lambda nb: nb.name):
            for grade in notebook.grades:
                if grade.cell_type != "code":
                    continue
                rows.append(dict(student_id=student_id, notebook=notebook.name,
                                 grade_id=grade.name, score=float(grade.score),
                                 max_score=float(grade.max_score)))
    order = {name: i for i, name in enumerate(notebook_names())}
    return sorted(rows, key=lambda r: (order.get(r["notebook"], 99), r["notebook"]))


def grade_student(workspace: Path, submissions: Path, student_id: str, env: dict) -> StudentResult:
    start = time.perf_counter()
    result = StudentResult(student_id)
    target = workspace / "submitted" / student_id / ASSIGNMENT
    source = submissions / student_id / ASSIGNMENT
    if not source.is_dir():
        result.error = f"no {ASSIGNMENT}/ folder in {submissions / student_id}"
        return result
    shutil.copytree(source, target)
    run = nbgrader(workspace, "autograde", ASSIGNMENT, "--create", "--force",
                   f"--student={student_id}", env=env, check=False)
    if run.returncode != 0:
        result.error = _last_error(run.stdout + run.stderr)
    try:
        result.rows = _read_scores(workspace, student_id)
    except Exception as error:  # noqa: BLE001 - reported per student, the batch goes on
        result.error = result.error or f"no grades recorded: {error}"
    result.seconds = time.perf_counter() - start
    return result


def _last_error(log: str) -> str:
    """The last line of nbgrader's log that names an error (else its last line), shortened."""
    lines = log.strip().splitlines() or ["unknown error"]
    errors = [line for line in lines if "ERROR" in line or "Error" in line]
    return (errors or lines)[-1][:300]


def grade_shard(student_ids: list[str], submissions: Path, env: dict,
                feedback_dir: Path) -> list[StudentResult]:
    """Grade some students in a scratch course of their own (nbgrader's SQLite gradebook
    is not safe for concurrent writers, so parallel shards never share one)."""
    workspace = make_workspace("dpr-grade-")
    try:
        nbgrader(workspace, "generate_assignment", ASSIGNMENT, "--force", env=env)
        results = []
        for student_id in student_ids:
            result = grade_student(workspace, submissions, student_id, env)
            print(f"graded {student_id} in {result.seconds:.1f} s"
                  + (f"  [problem: {result.error}]" if result.error else ""), flush=True)
            results.append(result)
        nbgrader(workspace, "generate_feedback", ASSIGNMENT, "--force", env=env, check=False)
        if (workspace / "feedback").exists():
            shutil.copytree(workspace / "feedback", feedback_dir, dirs_exist_ok=True)
        return results
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def grade(submissions: Path, out: Path = DEFAULT_OUT, profile: str = "tiny", jobs: int = 1,
          feedback_dir: Path | None = None) -> list[StudentResult]:
    """Grade every student folder in ``submissions``, ``jobs`` students at a time."""
    feedback_dir = feedback_dir or out.parent / "feedback"
    if feedback_dir.exists():
        shutil.rmtree(feedback_dir)
    env = grading_environment(profile, jobs)
    students = find_students(submissions)
    shards = [students[i::jobs] for i in range(max(1, min(jobs, len(students))))]
    with ThreadPoolExecutor(len(shards)) as pool:  # each shard waits on nbgrader subprocesses
        graded = pool.map(lambda shard: grade_shard(shard, submissions, env, feedback_dir), shards)
        results = sorted((r for shard in graded for r in shard), key=lambda r: r.student_id)
    write_csv(results, out)
    print(summary_table(results))
    print(f"\nscores: {out}\nfeedback: {feedback_dir}/<student_id>/{ASSIGNMENT}/")
    return results


def write_csv(results: list[StudentResult], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for result in results:
            writer.writerows(result.rows)


def summary_table(results: list[StudentResult]) -> str:
    """Students down, notebooks across, ``score/max`` in each cell, then the total."""
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
        line += f"  {f'{total:g}/{maximum:g}':>12}"
        if result.error:
            line += f"  ({result.error})"
        lines.append(line)
    return "\n".join(lines)

"""The semester, as its users go through it, in a fresh copy of the course.

- The README's instructor block, run as it is written (``bash``), week 2 of the course, on a
  Canvas download of two students: nbgrader's own commands give the scores that
  ``python -m autograder grade`` gives, and ``grade --gradebook`` leaves the gradebook as
  ``nbgrader autograde`` does.
- The rehearsal: for every part, the instructor publishes it as a commit on ``main`` of the
  students' repository; two students in the Colab stand-in (``test_colab.Runtime``) open it
  from there, fill it in (one with the reference's answers, one with a buggy sample's), run it
  top to bottom and download it with its outputs; the instructor collects Canvas's zip and
  grades with nbgrader's commands and with ``grade``: the scores are the manifest's, and a
  notebook with its outputs grades as the same notebook without them.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.course import notebooks
from autograder.course.paths import ASSIGNMENT, COURSE_ROOT, RELEASE_DIR
from autograder.course.samples import colab_download, filled, load_manifest, sample_notebook
from autograder.course.parts import PARTS, notebook_names, of_sample
from autograder.tests.test_colab import FROM_THE_INDEX, Runtime
from autograder.tests.test_samples import expected_score

pytestmark = pytest.mark.slow
SAMPLES = {sample.student_id: sample for sample in load_manifest()}
BLOCK = re.compile(r"<!-- semester: [^>]*-->\n```bash\n(.*?)\n```", re.S)


def readme_block() -> str:
    [block] = BLOCK.findall((COURSE_ROOT / "README.md").read_text(encoding="utf-8"))
    return block


def course_copy(root: Path, public_url: str) -> Path:
    """A fresh copy of the course as a clone would hold it, with its ``.venv`` (this one) and
    ``course.toml`` naming the students' repository, as the instructor sets it."""
    files = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"],
                           cwd=COURSE_ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = COURSE_ROOT / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    (root / ".venv").symlink_to(sys.prefix)
    setting = (root / "course.toml").read_text(encoding="utf-8")
    (root / "course.toml").write_text(
        re.sub(r'^repository = ".*"$', f'repository = "{public_url}"', setting, flags=re.M))
    return root


def environment(course: Path, home: Path) -> dict:
    """The instructor's shell: the copy's ``.venv`` activated (its ``nbgrader`` first on
    ``PATH``, whatever this test was started with), this course on the path (the copy's, not
    the one installed here in editable mode), a git identity, nothing of the profile set."""
    home.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("DPR_")}
    env.update(PATH=os.pathsep.join([str(course / ".venv" / "bin"), os.environ["PATH"]]),
               VIRTUAL_ENV=str(course / ".venv"),
               PYTHONPATH=str(course), HOME=str(home), GIT_AUTHOR_NAME="Instructor",
               GIT_AUTHOR_EMAIL="instructor@example.org", GIT_COMMITTER_NAME="Instructor",
               GIT_COMMITTER_EMAIL="instructor@example.org", TRANSFORMERS_VERBOSITY="error")
    return env


def students_repository(root: Path, env: dict) -> tuple[str, Path]:
    """A bare repository standing in for the students' one on GitHub, and its URL."""
    bare = root / "dense-retrieval.git"
    seed = root / "seed"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(seed)], check=True)
    (seed / "LICENSE").write_text("the course's licence\n")
    for command in (["add", "-A"], ["commit", "-qm", "Start"],
                    ["push", "-q", f"file://{bare}", "main"]):
        subprocess.run(["git", "-C", str(seed), *command], check=True, env=env)
    return f"file://{bare}", bare


def clone(url: str, folder: Path, env: dict) -> None:
    subprocess.run(["git", "clone", "-q", url, str(folder)], check=True, env=env)


def canvas_zip(path: Path, handed_in: list[tuple[str, str, str, bytes]]) -> None:
    """Canvas's *Download Submissions*: (login, user id, file name as handed in, content)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for number, (login, user, name, data) in enumerate(handed_in):
            archive.writestr(f"{login}_{user}_{700000 + number}_{name}", data)


def gradebook(course: Path, notebook: str | None = None, comments: bool = False) -> dict:
    """(student, notebook, grade_id) -> (auto_score, needs_manual_grade) in the course's
    gradebook; with ``comments``, (student, notebook, cell) -> each comment's automatic text."""
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as book:
        for submission in book.assignment_submissions(ASSIGNMENT):
            for graded in submission.notebooks:
                if notebook in (None, graded.name):
                    for grade in graded.grades:
                        found[(submission.student.id, graded.name, grade.name)] = (
                            grade.auto_score, bool(grade.needs_manual_grade))
                    for comment in graded.comments if comments else ():
                        found[(submission.student.id, graded.name, comment.name, "comment")] = \
                            comment.auto_comment
    return found


def grade_rows(csv_path: Path, notebook: str) -> dict:
    with open(csv_path, newline="", encoding="utf-8") as f:
        return {(row["student_id"], row["notebook"], row["grade_id"]): float(row["score"])
                for row in csv.DictReader(f) if row["notebook"] == notebook}


def test_the_readme_instructor_block_runs_as_written(tmp_path):
    env = environment(tmp_path / "course", tmp_path / "home")
    url, bare = students_repository(tmp_path, env)
    course = course_copy(tmp_path / "course", url)
    clone(url, course / "public", env)
    buggy = SAMPLES["evaluation_recall_fraction"]
    canvas_zip(course / "downloaded" / ASSIGNMENT / "archive" / "submissions.zip", [
        ("doejane", "12345", "02_evaluation.ipynb", _bytes(sample_notebook(SAMPLES["reference"],
                                                                           "02_evaluation"))),
        ("roejohn_LATE", "23456", "02_evaluation-1.ipynb",
         _bytes(sample_notebook(buggy, "02_evaluation")))])
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_block()], cwd=course, env=env,
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]

    shown = subprocess.run(["git", "-C", str(bare), "log", "--format=%s", "main"],
                           capture_output=True, text=True, check=True).stdout
    assert shown.splitlines()[0] == "Part 2", "the week's publish reached the students"
    assert {p.name for p in (course / "submitted").iterdir()} == {"12345", "23456"}
    nbgrader_scores = gradebook(course, "02_evaluation")
    ours = subprocess.run([sys.executable, "-m", "autograder", "grade", "submitted", "--out",
                           "grading/ours.csv"], cwd=course, env=env, capture_output=True,
                          text=True, timeout=1800)
    assert ours.returncode == 0, ours.stdout[-3000:] + ours.stderr[-3000:]
    rows = grade_rows(course / "grading" / "ours.csv", "02_evaluation")
    assert rows and rows == {key: score for key, (score, _) in nbgrader_scores.items()
                             if key in rows}
    for (student, notebook, cell), score in rows.items():
        sample = SAMPLES["reference" if student == "12345" else buggy.student_id]
        assert score == expected_score(sample, notebook, cell, _points(notebook, cell)), cell
    with open(course / "grades.csv", newline="") as f:  # nbgrader export: one row per student
        exported = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(f)}
    assert exported == {student: sum(s for (who, _, _), s in rows.items() if who == student)
                        for student in ("12345", "23456")}
    page = (course / "feedback" / "23456" / ASSIGNMENT / "02_evaluation.html").read_text()
    assert "percent" in page.lower(), "the hidden test's message reaches the student"
    assert "BEGIN HIDDEN" not in page and "autograder.checks" not in page
    with zipfile.ZipFile(course / "grading" / "feedback-for-canvas.zip") as archive:
        assert sorted(archive.namelist()) == ["doejane_12345_700000_02_evaluation.html",
                                              "roejohn_LATE_23456_700001_02_evaluation.html"]
    assert (course / "grading" / "similarity.csv").read_text().startswith("function,")

    # grade --gradebook, in another fresh copy, leaves the gradebook as nbgrader's autograde
    other = course_copy(tmp_path / "other", url)
    shutil.copytree(course / "submitted", other / "submitted")
    for command in (["build"], ["grade", "submitted", "--gradebook"]):
        done = subprocess.run([sys.executable, "-m", "autograder", *command], cwd=other,
                              env=dict(environment(other, tmp_path / "home"), DPR_PROFILE="tiny"),
                              capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert gradebook(other, comments=True) == gradebook(course, comments=True)
    assert sorted(p.name for p in (other / "autograded" / "12345" / ASSIGNMENT).iterdir()) == \
        ["02_evaluation.ipynb"]
    feedback = subprocess.run(["nbgrader", "generate_feedback", ASSIGNMENT], cwd=other,
                              env=environment(other, tmp_path / "home"), capture_output=True,
                              text=True, timeout=600)
    assert feedback.returncode == 0, feedback.stderr[-3000:]
    assert (other / "feedback" / "23456" / ASSIGNMENT / "02_evaluation.html").is_file()


def _bytes(notebook) -> bytes:
    return nbformat.writes(notebook).encode()


def _points(notebook: str, grade_id: str) -> float:
    cell = notebooks.cell_by_id(notebooks.read(RELEASE_DIR / f"{notebook}.ipynb"), grade_id)
    return float(cell.metadata.nbgrader["points"])


def buggy_sample(part):
    """The first sample of the manifest with a bug in ``part``'s notebook."""
    tests = {notebooks.grade_id(c) for c in notebooks.read(RELEASE_DIR / f"{part.notebook}.ipynb").cells
             if notebooks.is_test(c)}
    return next(s for s in SAMPLES.values() if of_sample(s.student_id) == part
                and set(s.fails) & tests and not s.tamper)


def test_the_semester_rehearsal(tmp_path):
    """Every part, week by week, from the instructor's publish to both graders' scores."""
    started = time.monotonic()
    env = environment(tmp_path / "course", tmp_path / "home")
    url, bare = students_repository(tmp_path, env)
    course = course_copy(tmp_path / "course", url)
    tiny = dict(env, DPR_PROFILE="tiny", HF_HUB_OFFLINE="1")

    def instructor(*command, ok=(0,)) -> subprocess.CompletedProcess:
        done = subprocess.run(list(command), cwd=course, env=tiny, capture_output=True,
                              text=True, timeout=3600)
        assert done.returncode in ok, (command, done.stdout[-3000:], done.stderr[-5000:])
        return done

    instructor(sys.executable, "-m", "autograder", "build")
    clone(url, course / "public", env)
    students = {}
    for user, login in (("12345", "doejane"), ("23456", "roejohn")):
        runtime = Runtime(tmp_path / f"runtime-{user}")
        runtime.serve(*FROM_THE_INDEX)
        students[user] = (login, runtime)
    timings = {}
    for part in PARTS:
        name, week = part.notebook, part.number
        week_started = time.monotonic()
        instructor(sys.executable, "-m", "autograder", "publish", "public", "--through", str(week))
        instructor("git", "-C", "public", "add", "-A")
        instructor("git", "-C", "public", "commit", "-qm", f"Part {week}")
        instructor("git", "-C", "public", "push", "-q")
        published = subprocess.run(  # what Colab opens from the badge
            ["git", "-C", str(bare), "show", f"main:notebooks/{name}.ipynb"],
            capture_output=True, text=True, check=True).stdout
        answers = {"12345": SAMPLES["reference"], "23456": buggy_sample(part)}
        handed_in, bare_copies = [], {}
        for user, (login, runtime) in students.items():
            notebook = filled(nbformat.reads(published, as_version=4), name, answers[user].notebooks[name]
                              if isinstance(answers[user].notebooks[name], dict) else "reference")
            runtime.run_notebook(notebook, allow_errors=user != "12345")
            if user == "12345":
                errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs
                          if o.output_type == "error"]
                assert not errors, f"{name}: the reference's run failed: {errors[:1]}"
            if week == 1:
                assert (runtime.content / "dense-retrieval" / ".git").is_dir(), "cloned"
            downloaded = colab_download(notebook)
            assert any(c.get("outputs") for c in downloaded.cells if c.cell_type == "code")
            handed_in.append((login, user, f"{name}.ipynb", _bytes(downloaded)))
            bare_copies[user] = downloaded
        assert (students["12345"][1].content / "dense-retrieval" / "notebooks" / f"{name}.ipynb"
                ).is_file(), "the first cell updated the clone to this week's commit"
        canvas_zip(course / "downloaded" / ASSIGNMENT / "archive" / f"week-{week}.zip", handed_in)
        instructor("nbgrader", "zip_collect", ASSIGNMENT, "--force")  # as the README says
        instructor("nbgrader", "autograde", ASSIGNMENT, "--force", "--notebook", name)
        by_nbgrader = gradebook(course, name)
        instructor("nbgrader", "generate_feedback", ASSIGNMENT, "--force", "--notebook", name)
        instructor(sys.executable, "-m", "autograder", "return-feedback", "--notebook", name)
        with zipfile.ZipFile(course / "grading" / "feedback-for-canvas.zip") as archive:
            assert sorted(archive.namelist()) == sorted(
                f"{login}_{user}_{700000 + i}_{name}.html"
                for i, (login, user, _, _) in enumerate(handed_in)), f"week {week}'s feedback"

        week_folder = tmp_path / f"week-{week}"
        for user, downloaded in bare_copies.items():
            folder = week_folder / user / ASSIGNMENT
            folder.mkdir(parents=True)
            shutil.copy(course / "submitted" / user / ASSIGNMENT / f"{name}.ipynb", folder)
            stripped = week_folder / f"{user}-without-outputs" / ASSIGNMENT
            stripped.mkdir(parents=True)
            notebooks.write(nbformat.reads(_bytes(downloaded).decode(), as_version=4),
                            stripped / f"{name}.ipynb")  # write() drops the outputs
        instructor(sys.executable, "-m", "autograder", "grade", str(week_folder), "--out",
                   str(week_folder / "grades.csv"))
        by_grade = grade_rows(week_folder / "grades.csv", name)
        for user, sample in answers.items():
            ours = {cell: score for (who, _, cell), score in by_grade.items() if who == user}
            without = {cell: score for (who, _, cell), score in by_grade.items()
                       if who == f"{user}-without-outputs"}
            theirs = {cell: score for (who, _, cell), (score, _) in by_nbgrader.items()
                      if who == user and cell in ours}
            expected = {cell: expected_score(sample, name, cell, _points(name, cell))
                        for cell in ours}
            assert ours == expected, f"week {week}, {sample.student_id}: grade"
            assert theirs == expected, f"week {week}, {sample.student_id}: nbgrader autograde"
            assert without == ours, f"week {week}: outputs changed {sample.student_id}'s scores"
        for cell in notebooks.read(RELEASE_DIR / f"{name}.ipynb").cells:
            if notebooks.is_manual(cell):  # the written report of the reference's student
                assert by_nbgrader[("12345", name, notebooks.grade_id(cell))] == (None, True), \
                    "a written answer waits in the gradebook for a manual grade"
        if week == 1:
            first_week = by_nbgrader
        timings[name] = time.monotonic() - week_started
    assert gradebook(course, notebook_names()[0]) == first_week, \
        "week 1's grades are as they were at the end of the semester"
    total = time.monotonic() - started
    print("semester rehearsal:", ", ".join(f"{n} {t:.0f} s" for n, t in timings.items()),
          f"total {total:.0f} s")

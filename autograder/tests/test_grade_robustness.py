"""Grading goes on, honestly, when a submission loops forever or is laid out wrongly."""

import pytest

from autograder.course import notebooks
from autograder.run import grade
from autograder.course.paths import ASSIGNMENT
from autograder.course.samples import Sample, sample_notebook

pytestmark = pytest.mark.slow


def test_an_endless_forward_times_out_and_scores_zero(tmp_path, monkeypatch):
    monkeypatch.setenv("DPR_CELL_TIMEOUT", "6")
    looping = Sample("endless", "forward never returns",
                     {"01_encoder": {"encoder_forward": "encoder/infinite_loop.py"}})
    notebooks.write(sample_notebook(looping, "01_encoder"),
                    tmp_path / "submitted" / "endless" / ASSIGNMENT / "01_encoder.ipynb")
    [result] = grade(tmp_path / "submitted", tmp_path / "grades.csv")
    assert result.rows and all(row["score"] == 0 for row in result.rows)
    feedback = (tmp_path / "feedback" / "endless" / ASSIGNMENT / "01_encoder.html").read_text()
    assert "did not finish within 6 s and was stopped" in feedback


def test_a_submission_without_the_assignment_folder_is_reported(tmp_path):
    (tmp_path / "submitted" / "lost_student" / "homework").mkdir(parents=True)
    [result] = grade(tmp_path / "submitted", tmp_path / "grades.csv")
    assert result.student_id == "lost_student" and not result.rows
    assert result.error == "nothing to grade"
    assert any("no dual_encoder/ folder" in problem for problem in result.problems)


def test_parallel_grading_gives_the_same_scores(graded_samples, tmp_path):
    """The suite grades the samples with --jobs 2; one at a time gives the same CSV rows."""
    import shutil

    from autograder.course.paths import SAMPLE_SUBMISSIONS

    chosen = ["encoder_mask_ignored", "tampered_tests"]  # one prepared notebook: part 1
    for student in chosen:
        shutil.copytree(SAMPLE_SUBMISSIONS / student, tmp_path / "submitted" / student)
    results = grade(tmp_path / "submitted", tmp_path / "grades.csv", jobs=1)
    serial = [{k: str(v) for k, v in row.items()} for r in results for row in r.rows]
    parallel = [row for row in graded_samples["rows"] if row["student_id"] in chosen]
    assert [r.student_id for r in results] == chosen
    assert serial == parallel
    for student in chosen:
        assert list((tmp_path / "feedback" / student / ASSIGNMENT).glob("0*.html"))


def _feedback_text(graded_samples, student: str, notebook: str) -> str:
    import html
    import re

    page = graded_samples["feedback"] / student / ASSIGNMENT / f"{notebook}.html"
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


@pytest.mark.parametrize("student, notebook, reason", [
    ("hostile_infinite_loop", "01_encoder", "did not finish within"),
    ("hostile_crashes", "02_evaluation", "SIGSEGV"),
    ("hostile_crashes", "02_evaluation", "os._exit"),
    ("hostile_memory_bomb", "03_nce_loss", "MemoryError|used more than its memory limit"),
    ("hostile_fork_memory_bomb", "01_encoder", "used more than its memory limit of 1 GiB"),
    ("hostile_fork_bomb", "03_nce_loss", "processes and threads at once"),
])
def test_hostile_samples_are_told_what_happened(graded_samples, student, notebook, reason):
    import re

    assert re.search(reason, _feedback_text(graded_samples, student, notebook)), reason


def test_nothing_a_submission_started_outlives_grading(graded_samples):
    """hostile_gradebook starts a daemon meant to rewrite gradebooks after grading ends."""
    import subprocess

    left = subprocess.run(["pgrep", "-a", "-f", "gradebook_attack"], capture_output=True,
                          text=True).stdout
    assert not left.strip(), f"hostile_gradebook's daemon is still running: {left}"
    assert all(row["student_id"] != "gradebook_attack" for row in graded_samples["rows"])


def test_the_patched_checks_attack_is_real(tmp_path, monkeypatch):
    """In nbgrader's own kernel, hostile_patched_checks' patches make its wrong loss pass tests
    (the suite's judge gives it 0): the hostile samples attack something real."""
    import shutil

    from autograder.course.paths import SAMPLE_SUBMISSIONS

    monkeypatch.setenv("DPR_GRADER", "kernel")
    shutil.copytree(SAMPLE_SUBMISSIONS / "hostile_patched_checks",
                    tmp_path / "submitted" / "hostile_patched_checks")
    [result] = grade(tmp_path / "submitted", tmp_path / "grades.csv")
    faked = [row["grade_id"] for row in result.rows if row["score"] > 0]
    assert faked, "in a kernel, patching the checks should have faked some points"


def test_bad_input_is_reported_per_student_and_the_rest_is_graded(tmp_path):
    """One run over a class whose hand-ins are broken in every way the intake knows."""
    import shutil

    from autograder.course.paths import SAMPLE_SUBMISSIONS

    submitted = tmp_path / "submitted"
    reference = SAMPLE_SUBMISSIONS / "reference" / ASSIGNMENT

    def hand_in(student: str, files: dict) -> None:
        folder = submitted / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for name, content in files.items():
            (folder / name).write_bytes(content)

    good_03 = (reference / "03_nce_loss.ipynb").read_bytes()
    hand_in("broken_json", {"01_encoder.ipynb": b'{"cells": [', "03_nce_loss.ipynb": good_03})
    hand_in("latin1", {"03_nce_loss.ipynb": good_03.replace(b"Test", "T\xe9st".encode("latin-1"))})
    old = b'{"nbformat": 3, "nbformat_minor": 0, "worksheets": []}'
    hand_in("old_format", {"03_nce_loss.ipynb": old})
    hand_in("misnamed", {"03_NCE_loss (1).ipynb": good_03})
    (submitted / "empty" / ASSIGNMENT).mkdir(parents=True)
    shutil.copytree(reference.parent, submitted / "nested" / "unzipped")

    results = {r.student_id: r for r in grade(submitted, tmp_path / "grades.csv", jobs=2)}
    scored = {s: sum(row["score"] for row in r.rows if row["notebook"] == "03_nce_loss")
              for s, r in results.items()}
    assert scored["broken_json"] == scored["misnamed"] == 9, "the good notebooks are graded"
    problems = {s: " ".join(r.problems) for s, r in results.items()}
    assert "01_encoder.ipynb: is not valid JSON" in problems["broken_json"]
    assert "is not UTF-8" in problems["latin1"] and not results["latin1"].rows
    assert "nbformat 3" in problems["old_format"]
    assert "graded as 03_nce_loss.ipynb" in problems["misnamed"]
    assert "holds no notebooks" in problems["empty"]
    assert "no dual_encoder/ folder" in problems["nested"]


def test_two_jobs_are_clearly_faster_than_one(tmp_path):
    """A smaller `python -m autograder bench` (docs/performance.md reports the full one): four part-3
    students, graded one at a time and two at a time, with the same scores."""
    import shutil
    import time

    from autograder.judge.memo import forget_calls
    from autograder.run import GradingRun
    from autograder.course.paths import SAMPLE_SUBMISSIONS

    for student in ("reference", "nce_loss_arange_labels", "nce_loss_cosine_scores", "nce_loss_sum_reduction"):
        target = tmp_path / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        shutil.copy(SAMPLE_SUBMISSIONS / student / ASSIGNMENT / "03_nce_loss.ipynb", target)
    for copy in ("a", "b"):
        shutil.copytree(tmp_path / "submitted" / "reference", tmp_path / "warm-up" / copy)
    seconds, busy, rows = {}, {}, {}
    with GradingRun("tiny") as run:  # one run: template, prepared notebook, two workers made once
        grade(tmp_path / "warm-up", tmp_path / "warm-up.csv", jobs=2, run=run)
        for jobs in (1, 2):
            forget_calls(run.memo)  # each pass runs the students' code, none replayed
            start = time.perf_counter()
            results = grade(tmp_path / "submitted", tmp_path / f"jobs{jobs}.csv", jobs=jobs, run=run)
            seconds[jobs] = time.perf_counter() - start
            busy[jobs] = sum(result.seconds for result in results)
            rows[jobs] = [row for result in results for row in result.rows]
    assert rows[1] == rows[2]
    # Two workers grade side by side: on average, close to two students are being graded at
    # once. This holds on any machine with two cores; the speed-up itself also depends on how
    # much two processes slow each other down (shared caches, hyperthreads: 1.4-1.9x measured),
    # so it only has to be clearly above one worker's.
    report = f"--jobs 1 {seconds[1]:.1f} s, --jobs 2 {seconds[2]:.1f} s ({busy[2]:.1f} s of grading)"
    assert busy[2] / seconds[2] >= 1.6, f"the two workers did not run side by side: {report}"
    assert seconds[1] / seconds[2] >= 1.25, report


def test_no_secret_of_the_grading_machine_reaches_anything_written(graded_samples):
    """The suite's grading run has secrets planted in its environment and Hugging Face home;
    hostile_secrets hunts for them through every channel. None is in any feedback page, the
    CSV, the report or the log; nor is the grader's home or course directory."""
    import html
    import os

    from autograder.course.paths import COURSE_ROOT

    written = {"report": graded_samples["stdout"], "log": graded_samples["stderr"],
               "csv": graded_samples["csv"].read_text(encoding="utf-8")}
    for page in graded_samples["feedback"].rglob("*.html"):
        written[str(page)] = html.unescape(page.read_text(encoding="utf-8"))
    looked_for = graded_samples["secrets"]
    for where, text in written.items():
        for secret in looked_for:
            assert secret not in text, f"a planted secret is in {where}"
    hunted = written[str(graded_samples["feedback"] / "hostile_secrets" / ASSIGNMENT
                         / "02_evaluation.html")]
    for path in (str(COURSE_ROOT), os.path.expanduser("~")):
        assert path not in hunted, f"{path} is in hostile_secrets' feedback"
    assert "FileNotFoundError" in hunted, "the student sees their exception, redacted"

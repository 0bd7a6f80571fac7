"""A fault of the grader is never a student's zero: reported as a grading error, not scored.

Faults: the child's set-up before the student's code runs, the sandbox, the course's own cells
before the first answer, a hidden check that breaks on the reference solution too. What the
student's code can forge (a fake "grader error" sent back once it runs) stays the student's.
"""

import csv
import os
import subprocess
import sys

import pytest
import torch

from autograder import config
from autograder.course import notebooks
from autograder.course.paths import ASSIGNMENT, COURSE_ROOT, SAMPLE_SUBMISSIONS
from autograder.judge import child
from autograder.judge.faults import ENAME, GradingError
from autograder.judge.notebook import judge, prepare
from autograder.judge.reference import reference
from autograder.judge.student import Student, StudentCodeError, StudentFunction


def _function(source: str, name: str = "f") -> StudentFunction:
    student = Student([("answer", source)], {"torch": torch}, config.defaults(cell_seconds=30))
    return StudentFunction(student, name)


def test_a_failure_before_the_students_code_runs_is_the_graders(monkeypatch):
    def broken():
        raise AttributeError("'FrameLocalsProxy' object has no attribute 'clear'")

    monkeypatch.setattr(child, "_scrub_grader_state", broken)  # the fork inherits it
    with pytest.raises(GradingError, match="the grader failed before f ran: AttributeError"):
        _function("def f():\n    return 1\n")()


def test_what_the_students_code_sends_as_a_grader_error_stays_the_students():
    forged = ("import autograder.judge.transport as t\n"
              "dumps = t.dumps\n"
              "def f():\n"
              "    t.dumps = lambda answer: dumps({'grader_error': 'not me'})\n"
              "    return 1\n")
    with pytest.raises(StudentCodeError) as caught:
        _function(forged)()
    assert not isinstance(caught.value, GradingError)
    sandbox_forged = ("import autograder.judge.transport as t\n"
                      "def f():\n"
                      "    t.dumps = lambda answer: b'\\0SANDBOX not me either'\n"
                      "    return 1\n")
    with pytest.raises(StudentCodeError):
        _function(sandbox_forged)()


@pytest.fixture(scope="module")
def part_one():
    return prepare("01_encoder"), notebooks.read(
        SAMPLE_SUBMISSIONS / "reference" / ASSIGNMENT / "01_encoder.ipynb")


def test_a_hidden_check_that_breaks_on_the_reference_too_is_a_grading_error(part_one, monkeypatch):
    from autograder.checks import encoder as checks

    def broken(Encoder):
        raise KeyError("a check's own bug")

    monkeypatch.setattr(checks, "output_shape_dtype_and_grad", broken)
    verdicts = judge("01_encoder", part_one[1], prepared=part_one[0])
    fault = verdicts["test_encoder_output"]
    assert fault.fault and not fault.passed and fault.output.startswith(f"{ENAME}: ")
    assert "breaks on the reference solution too" in fault.output
    assert all(v.passed for k, v in verdicts.items() if k != "test_encoder_output")


def test_a_hidden_check_that_breaks_on_the_students_answer_only_fails_it(part_one, monkeypatch):
    from autograder.checks import encoder as checks

    solution = reference("encoder")["DistilBertEncoder"]

    def fragile(Encoder):  # as a check that indexes what the student's code returned
        if Encoder is not solution:
            raise TypeError("'NoneType' object is not subscriptable")

    monkeypatch.setattr(checks, "output_shape_dtype_and_grad", fragile)
    verdict = judge("01_encoder", part_one[1], prepared=part_one[0])["test_encoder_output"]
    assert not verdict.passed and not verdict.fault
    assert verdict.output == "TypeError: 'NoneType' object is not subscriptable"


def test_a_failing_course_cell_before_the_first_answer_is_a_grading_error(part_one):
    prepared, submitted = part_one
    broken = type(prepared)(**{**vars(prepared), "failed": "the course's cell 3 failed: OSError"})
    verdicts = judge("01_encoder", submitted, prepared=broken)
    assert verdicts and all(v.fault and "cell 3 failed" in v.output for v in verdicts.values())


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_grading_run_reports_a_fault_as_one_and_scores_nothing(tmp_path):
    """A judge told to compute on a GPU the machine does not have: every call fails before the
    student's code runs. Nothing is scored 0: the CSV leaves the scores blank, the gradebook
    waits for a manual grade, the feedback says the grader failed, and grade exits 3."""
    submitted = tmp_path / "submitted" / "reference" / ASSIGNMENT
    submitted.mkdir(parents=True)
    source = SAMPLE_SUBMISSIONS / "reference" / ASSIGNMENT / "01_encoder.ipynb"
    (submitted / "01_encoder.ipynb").write_bytes(source.read_bytes())
    run = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(tmp_path / "submitted"),
         "--out", str(tmp_path / "grades.csv")], cwd=COURSE_ROOT, capture_output=True, text=True,
        env=dict(os.environ, DPR_PROFILE="tiny", DPR_JUDGE_DEVICE="cuda"), timeout=900)
    assert run.returncode == 3, run.stdout + run.stderr
    with open(tmp_path / "grades.csv", newline="") as f:
        rows = [row for row in csv.DictReader(f) if row["notebook"] == "01_encoder"]
    assert rows and all(row["score"] == "" for row in rows), rows
    assert "Grading errors" in run.stdout and "the grader failed before" in run.stdout
    assert "grading errors: the grader failed, not the students" in run.stderr
    feedback = (tmp_path / "feedback" / "reference" / ASSIGNMENT / "01_encoder.html").read_text()
    assert "the grader failed on this test, not your code" in feedback

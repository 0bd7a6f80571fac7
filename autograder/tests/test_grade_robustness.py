"""Grading goes on, honestly, when a submission loops forever or is laid out wrongly."""

import pytest

from autograder import notebooks
from autograder.grade import grade
from autograder.paths import ASSIGNMENT
from autograder.samples import Sample, sample_notebook

pytestmark = pytest.mark.slow


def test_an_endless_forward_times_out_and_scores_zero(tmp_path, monkeypatch):
    monkeypatch.setenv("DPR_CELL_TIMEOUT", "4")
    looping = Sample("endless", "forward never returns",
                     {"01_encoder": {"encoder_forward": "01_encoder/infinite_loop.py"}})
    notebooks.write(sample_notebook(looping, "01_encoder"),
                    tmp_path / "submitted" / "endless" / ASSIGNMENT / "01_encoder.ipynb")
    [result] = grade(tmp_path / "submitted", tmp_path / "grades.csv")
    assert result.rows and all(row["score"] == 0 for row in result.rows)
    feedback = (tmp_path / "feedback" / "endless" / ASSIGNMENT / "01_encoder.html").read_text()
    assert "CellTimeoutError" in feedback


def test_a_submission_without_the_assignment_folder_is_reported(tmp_path):
    (tmp_path / "submitted" / "lost_student" / "homework").mkdir(parents=True)
    [result] = grade(tmp_path / "submitted", tmp_path / "grades.csv")
    assert result.student_id == "lost_student"
    assert "no dual_encoder/ folder" in result.error and not result.rows

"""Canvas's file names: collected into submitted/, and the feedback named back the same way."""

import zipfile

import pytest

from autograder.commands import return_feedback
from autograder.nbgrading import canvas


@pytest.mark.parametrize("name, student, file_id", [
    ("doejane_12345_678901_01_encoder.ipynb", "12345", "01_encoder"),
    ("roejohn_LATE_23456_678903_02_evaluation-1.ipynb", "23456", "02_evaluation"),
    ("doejane_12345_678904_Copy of 01_encoder.ipynb", "12345", "Copy of 01_encoder"),
])
def test_a_canvas_download_names_its_student_and_notebook(name, student, file_id):
    parsed = canvas.parse(f"/course/downloaded/dual_encoder/extracted/{name}")
    assert (parsed["student_id"], parsed["file_id"]) == (student, file_id)
    assert name.startswith(parsed["prefix"])


@pytest.mark.parametrize("name", ["01_encoder.ipynb", "doejane_12345_678901_notes.txt",
                                  "doejane_jane_678901_01_encoder.ipynb"])
def test_what_is_not_a_canvas_notebook_is_not_taken_for_one(name):
    assert canvas.parse(f"/extracted/{name}") is None


def test_feedback_goes_back_under_the_names_handed_in(tmp_path):
    extracted, feedback = tmp_path / "extracted", tmp_path / "feedback"
    extracted.mkdir()
    for name in ("doejane_12345_700000_01_encoder.ipynb", "doejane_12345_700001_02_evaluation.ipynb",
                 "roejohn_LATE_23456_700002_01_encoder-1.ipynb"):
        (extracted / name).write_text("{}")
    for student, notebook in (("12345", "01_encoder"), ("12345", "02_evaluation"),
                              ("23456", "01_encoder"), ("12345", "03_nce_loss")):
        page = feedback / student / "dual_encoder" / f"{notebook}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"feedback of {student} on {notebook}")
    out = tmp_path / "back.zip"
    written, problems = return_feedback.return_feedback(feedback, out, extracted)
    assert problems == []
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == sorted(written) == [
            "doejane_12345_700000_01_encoder.html", "doejane_12345_700001_02_evaluation.html",
            "roejohn_LATE_23456_700002_01_encoder.html"]
        assert archive.read("roejohn_LATE_23456_700002_01_encoder.html") == \
            b"feedback of 23456 on 01_encoder"
    week, _ = return_feedback.return_feedback(feedback, out, extracted, notebook="02_evaluation")
    assert week == ["doejane_12345_700001_02_evaluation.html"]
    (feedback / "23456" / "dual_encoder" / "01_encoder.html").unlink()
    _, problems = return_feedback.return_feedback(feedback, out, extracted)
    assert problems == [f"23456: handed in 01_encoder, but "
                        f"{feedback / '23456' / 'dual_encoder' / '01_encoder.html'} is missing"]
    with pytest.raises(FileNotFoundError, match="zip_collect"):
        return_feedback.return_feedback(feedback, out, tmp_path / "nothing")

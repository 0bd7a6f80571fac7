"""build is idempotent, the release leaks nothing, and validate's checks can fail."""

import nbformat
import pytest

from autograder.course import notebooks
from autograder.commands import validate
from autograder.course.paths import RELEASE_DIR, SOLUTIONS_DIR


def test_release_and_samples_are_in_sync_with_solutions():
    assert validate.check_in_sync() == []


def test_release_has_no_solutions_or_hidden_tests():
    assert validate.check_release_clean() == []


def test_no_notebook_has_outputs():
    assert validate.check_no_outputs() == []


def test_every_notebook_is_valid_nbformat():
    assert validate.check_notebook_format() == []


def test_a_cell_id_in_an_nbformat_4_4_notebook_is_caught(course_copy, monkeypatch):
    solutions = course_copy / "solutions" / "dual_encoder"
    monkeypatch.setattr(validate, "SOLUTIONS_DIR", solutions)
    path = solutions / "01_encoder.ipynb"
    notebook = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
    assert notebook.nbformat_minor == 4
    notebook.cells.append(nbformat.v4.new_markdown_cell("added with nbformat's constructor"))
    nbformat.write(notebook, str(path))
    assert any("01_encoder.ipynb: not valid nbformat" in p for p in validate.check_notebook_format())


def test_a_leaked_solution_line_is_caught(course_copy, monkeypatch):
    release = course_copy / "notebooks" / "dual_encoder"
    monkeypatch.setattr(validate, "RELEASE_DIR", release)
    path = release / "01_encoder.ipynb"
    notebook = notebooks.read(path)
    answer = next(cell for cell in notebook.cells if notebooks.is_answer(cell))
    solution = notebooks.read(SOLUTIONS_DIR / "01_encoder.ipynb")
    leaked = notebooks.solution_region(
        next(cell for cell in solution.cells if notebooks.is_answer(cell)).source)
    answer.source = notebooks.fill_stub(answer.source, leaked)
    notebooks.write(notebook, path)
    problems = validate.check_release_clean()
    assert any("leaks solution" in p for p in problems), problems


def test_an_output_is_caught(course_copy, monkeypatch):
    release = course_copy / "notebooks" / "dual_encoder"
    monkeypatch.setattr(validate, "RELEASE_DIR", release)
    monkeypatch.setattr(validate, "SOLUTIONS_DIR", course_copy / "solutions" / "dual_encoder")
    path = release / "01_encoder.ipynb"
    notebook = notebooks.read(path)
    code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", text="hello")]
    nbformat.write(notebook, str(path))
    assert any("has outputs" in p for p in validate.check_no_outputs())


def test_a_stale_release_is_caught(monkeypatch, tmp_path):
    stale = tmp_path / "release"
    stale.mkdir()
    (stale / "01_encoder.ipynb").write_text("{}")
    (stale / "99_stray.ipynb").write_text("{}")
    monkeypatch.setattr(validate, "RELEASE_DIR", stale)
    problems = validate.check_in_sync()
    assert any("01_encoder.ipynb is out of date" in p for p in problems)
    assert any("99_stray.ipynb is not made by build" in p for p in problems)


def test_release_cells_are_the_solution_cells_minus_answers():
    solution = notebooks.read(SOLUTIONS_DIR / "01_encoder.ipynb")
    release = notebooks.read(RELEASE_DIR / "01_encoder.ipynb")
    assert [notebooks.grade_id(c) for c in solution.cells] == [notebooks.grade_id(c) for c in release.cells]
    for cell in release.cells:
        if notebooks.is_answer(cell):
            notebooks.fill_stub(cell.source, "pass")  # raises if the stub is missing
        if notebooks.is_test(cell) or notebooks.is_locked_code(cell):
            assert cell.metadata["editable"] is False and cell.metadata["deletable"] is False


@pytest.mark.slow
def test_grading_problems_come_from_the_graded_samples(graded_samples):
    """`validate`'s grading check on the suite's own grading run (no second run): the
    reference has full marks and the blank release zero; a lost point is reported."""
    from autograder.run import StudentResult

    results = []
    for student in ("reference", "blank"):
        rows = [dict(row, score=float(row["score"]), max_score=float(row["max_score"]))
                for row in graded_samples["rows"] if row["student_id"] == student]
        results.append(StudentResult(student, rows))
    assert validate.grading_problems(results) == []
    results[0].rows[0]["score"] = 0.0
    assert any("reference" in p and "expected" in p for p in validate.grading_problems(results))


def test_validate_command_runs_every_check_and_fails_on_a_problem(monkeypatch, capsys):
    from autograder.__main__ import main

    monkeypatch.setattr(validate, "check_grading", lambda profile: [])
    url = ["--repo-url", "https://github.com/some-course/retrieval-notebooks"]
    assert main(["validate", *url]) == 0
    # sync, clean release, no outputs, valid files, the students' repository, grading
    assert capsys.readouterr().out.count("[ok]") == 6
    monkeypatch.setattr(validate, "check_grading", lambda profile: ["reference: lost a point"])
    assert main(["validate", *url]) == 1
    assert "[FAIL] reference full marks, blank zero" in capsys.readouterr().out
    monkeypatch.setattr(validate, "check_grading", lambda profile: [])
    monkeypatch.setattr(validate.home, "public", lambda url=None: validate.home.Public(
        url or validate.home.PLACEHOLDERS[0], "main"))
    assert main(["validate"]) == 1
    assert "[FAIL] the students' repository is set" in capsys.readouterr().out


def test_the_registry_the_solutions_and_the_sample_names_must_agree(course_copy, monkeypatch):
    from autograder.course.samples import Sample

    assert validate.part_problems() == []
    solutions = course_copy / "solutions" / "dual_encoder"
    (solutions / "06_extra.ipynb").write_text((solutions / "01_encoder.ipynb").read_text())
    (solutions / "05_hard_negatives.ipynb").unlink()
    monkeypatch.setattr(validate, "SOLUTIONS_DIR", solutions)
    misnamed = Sample("encoder_wrong_place", "answers in part 3", {"03_nce_loss": {"a": "b"}},
                      fails=["test_nce_dot_product", "test_no_such_cell"])
    monkeypatch.setattr(validate.samples, "load_manifest", lambda: [misnamed])
    assert validate.part_problems() == [
        "solutions/dual_encoder/06_extra.ipynb is not a part of autograder/course/parts.py: "
        "add it there, or remove it",
        "part 05_hard_negatives has no solutions/dual_encoder/05_hard_negatives.ipynb",
        "manifest.toml: sample encoder_wrong_place is named for part encoder but answers in "
        "03_nce_loss",
        "manifest.toml: sample encoder_wrong_place fails test_no_such_cell, which is no test "
        "cell of the course"]

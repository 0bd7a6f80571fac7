"""Part isolation: provided cells are generated from the earlier parts' reference solutions."""

import shutil

import pytest

from autograder.course import notebooks
from autograder.course import provided
from autograder.course.paths import RELEASE_DIR, SOLUTIONS_DIR
from autograder.course.parts import notebook_names


def test_every_later_part_provides_every_earlier_part():
    names = notebook_names()
    for position, name in enumerate(names):
        notebook = notebooks.read(SOLUTIONS_DIR / f"{name}.ipynb")
        sources = [source for _, source in provided.provided_cells(notebook)]
        assert sources == names[:position], f"{name} provides {sources}"


def test_provided_cells_are_up_to_date():
    assert provided.stale_cells() == []


def test_provided_cells_hold_the_reference_answers_without_markers():
    solution_01 = notebooks.read(SOLUTIONS_DIR / "01_encoder.ipynb")
    answer = notebooks.solution_region(notebooks.cell_by_id(solution_01, "encoder_forward").source)
    for name in notebook_names()[1:]:
        release = notebooks.read(RELEASE_DIR / f"{name}.ipynb")
        cell = notebooks.cell_by_id(release, "provided_01_encoder")
        assert answer.strip().splitlines()[0] in cell.source
        assert "BEGIN SOLUTION" not in cell.source and "YOUR CODE HERE" not in cell.source
        assert cell.metadata["editable"] is False  # locked in the release


@pytest.fixture
def solutions_copy(tmp_path, monkeypatch):
    folder = tmp_path / "dual_encoder"
    shutil.copytree(SOLUTIONS_DIR, folder)
    monkeypatch.setattr(provided, "SOLUTIONS_DIR", folder)
    return folder


def test_a_change_in_an_earlier_part_makes_later_parts_stale_until_build(solutions_copy):
    path = solutions_copy / "01_encoder.ipynb"
    notebook = notebooks.read(path)
    cell = notebooks.cell_by_id(notebook, "make_dual_encoder")
    cell.source += "\n# a change"
    notebooks.write(notebook, path)

    stale = provided.stale_cells()
    assert stale == [f"{name}:provided_01_encoder" for name in notebook_names()[1:]]
    assert provided.regenerate() == stale
    assert provided.stale_cells() == []
    regenerated = notebooks.read(solutions_copy / "03_nce_loss.ipynb")
    assert "# a change" in notebooks.cell_by_id(regenerated, "provided_01_encoder").source


def test_a_provided_cell_naming_no_notebook_is_an_error(solutions_copy):
    path = solutions_copy / "02_evaluation.ipynb"
    notebook = notebooks.read(path)
    notebooks.cell_by_id(notebook, "provided_01_encoder").metadata["nbgrader"]["grade_id"] = \
        "provided_01_encodr"
    notebooks.write(notebook, path)
    with pytest.raises(ValueError, match="provided_01_encodr"):
        provided.stale_cells()

import pytest

from autograder.course import notebooks
from autograder.nbgrading.preprocessors import DropDuplicateIds


def test_solution_region_is_dedented():
    source = ("class A:\n    def f(self):\n        ### BEGIN SOLUTION\n        x = 1\n"
              "        if x:\n            return x\n        ### END SOLUTION\n")
    assert notebooks.solution_region(source) == "x = 1\nif x:\n    return x"


def test_solution_region_requires_markers():
    with pytest.raises(ValueError, match="BEGIN SOLUTION"):
        notebooks.solution_region("x = 1")


def test_fill_stub_indents_the_answer_like_the_stub():
    source = "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n# after"
    assert notebooks.fill_stub(source, "y = x\n\nreturn y\n") == \
        "def f(x):\n    y = x\n\n    return y\n# after"


def test_fill_stub_without_stub_is_an_error():
    with pytest.raises(ValueError, match="YOUR CODE HERE"):
        notebooks.fill_stub("x = 1", "y = 2")


def test_duplicates_become_plain_cells_and_the_last_is_graded():
    import nbformat

    def cell(source):
        c = nbformat.v4.new_code_cell(source)
        c.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "locked": True, "points": 1,
                                  "schema_version": 3, "solution": False, "task": False}
        return c

    notebook = nbformat.v4.new_notebook(cells=[cell("forged"), cell("original")])
    notebook, _ = DropDuplicateIds().preprocess(notebook, {})
    assert "nbgrader" not in notebook.cells[0].metadata
    assert notebook.cells[1].metadata["nbgrader"]["grade_id"] == "t"

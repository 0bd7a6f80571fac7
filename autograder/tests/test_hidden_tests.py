"""Hidden tests are declared once, next to their checks; build writes the cells, validate notices."""

import copy
import dataclasses
import random

import numpy as np
import pytest
import torch

from autograder.checks import hidden_test
from autograder.course import hidden_tests, notebooks
from autograder.course.paths import SOLUTIONS_DIR
from autograder.course.parts import PARTS, by_notebook


def solution(name: str):
    return notebooks.read(SOLUTIONS_DIR / f"{name}.ipynb")


def test_the_committed_cells_are_what_the_declarations_say():
    assert hidden_tests.stale_cells() == []
    for part in PARTS:
        declared = {t.grade_id for t in hidden_tests.declared_in(part.checks)}
        cells = {notebooks.grade_id(c) for c in solution(part.notebook).cells
                 if notebooks.is_hidden_test(c)}
        assert declared == cells, part.notebook


def test_a_changed_declaration_rewrites_its_cell_and_a_missing_cell_is_added_in_place(monkeypatch):
    part = by_notebook("01_encoder")
    original = solution(part.notebook)
    test = hidden_tests.DECLARED["test_encoder_padding"]
    monkeypatch.setitem(hidden_tests.DECLARED, test.grade_id, dataclasses.replace(test, points=3.0))
    notebook = copy.deepcopy(original)
    assert hidden_tests.updated(notebook, part) == [
        "01_encoder:test_encoder_padding rewritten from autograder.checks.encoder"]
    assert notebooks.cell_by_id(notebook, "test_encoder_padding").metadata.nbgrader.points == 3

    ids = [notebooks.grade_id(c) for c in original.cells]
    notebook = copy.deepcopy(original)
    notebook.cells = [c for c in notebook.cells if notebooks.grade_id(c) != "test_encoder_padding"]
    monkeypatch.setitem(hidden_tests.DECLARED, test.grade_id, test)
    assert hidden_tests.updated(notebook, part) == ["01_encoder:test_encoder_padding added"]
    cell = notebooks.cell_by_id(notebook, "test_encoder_padding")
    assert cell.source == notebooks.cell_by_id(original, "test_encoder_padding").source
    # after the answer that defines DistilBertEncoder and the tests that follow it
    new_ids = [notebooks.grade_id(c) for c in notebook.cells]
    answer = new_ids.index("encoder_forward")
    assert answer < new_ids.index("test_encoder_padding")
    assert all(notebooks.is_test(c) or c.cell_type == "markdown"
               for c in notebook.cells[answer + 1:new_ids.index("test_encoder_padding")])
    assert len(new_ids) == len(ids)


def test_a_cell_no_check_declares_is_removed_and_a_visible_one_is_never_overwritten(monkeypatch):
    part = by_notebook("03_nce_loss")
    notebook = solution(part.notebook)
    monkeypatch.delitem(hidden_tests.DECLARED, "test_nce_dot_product")
    assert hidden_tests.updated(notebook, part) == [
        "03_nce_loss:test_nce_dot_product removed: no check in autograder.checks.nce_loss "
        "declares it"]
    with pytest.raises(KeyError):
        notebooks.cell_by_id(notebook, "test_nce_dot_product")
    visible = next(c for c in solution(part.notebook).cells
                   if notebooks.is_test(c) and not notebooks.is_hidden_test(c))
    clash = dataclasses.replace(hidden_tests.DECLARED["test_nce_encoders"], grade_id=notebooks.grade_id(visible))
    monkeypatch.setitem(hidden_tests.DECLARED, clash.grade_id, clash)
    with pytest.raises(ValueError, match="is a visible test cell"):
        hidden_tests.updated(solution(part.notebook), part)


def test_a_declaration_needs_a_docstring_and_a_grade_id_of_its_own(monkeypatch):
    monkeypatch.setattr(hidden_tests, "DECLARED", dict(hidden_tests.DECLARED))
    with pytest.raises(ValueError, match="needs a docstring"):
        hidden_test("test_x", points=1, on="f")(lambda f: None)

    def other(f):
        """Another check."""
    with pytest.raises(ValueError, match="test_encoder_padding is declared twice"):
        hidden_test("test_encoder_padding", points=1, on="DistilBertEncoder")(other)


def test_a_check_leaves_the_callers_random_state_as_it_was(monkeypatch):
    monkeypatch.setattr(hidden_tests, "DECLARED", dict(hidden_tests.DECLARED))

    @hidden_test("test_draws", points=1, on="f")
    def draws(f):
        """Draws from every global generator."""
        torch.set_num_threads(1)
        return torch.rand(1), random.random(), np.random.rand()

    torch.manual_seed(0), random.seed(0), np.random.seed(0)
    threads = torch.get_num_threads()
    draws(None)
    assert torch.get_num_threads() == threads
    first = torch.rand(1).item(), random.random(), np.random.rand()
    torch.manual_seed(0), random.seed(0), np.random.seed(0)
    assert (torch.rand(1).item(), random.random(), np.random.rand()) == first


def _variant_of_reference_train_nce(old: str, new: str):
    """The reference ``train_nce`` with ``old`` replaced by ``new`` in its source."""
    from autograder.judge.reference import reference

    function = reference("training")["train_nce"]
    source = notebooks.cell_by_id(solution("04_training"), "train_nce").source
    assert old in source, old
    namespace = dict(function.__globals__)
    exec(compile(source.replace(old, new), "<variant>", "exec"), namespace)  # noqa: S102
    return namespace["train_nce"]


@pytest.mark.parametrize("mistake, old, new", [
    ("ends with the last epoch", "    model.load_state_dict(best_state)\n", ""),
    ("keeps a view of the state", "copy.deepcopy(model.state_dict())", "model.state_dict()"),
    ("selects by Recall@1", "if recall[5] > best_r5", "if recall[1] > best_r5"),
])
def test_the_best_state_check_tells_the_kept_epoch(mistake, old, new):
    from autograder.checks.training import train_loop
    from autograder.judge.reference import reference

    train_loop.keeps_best_state(reference("training")["train_nce"])
    with pytest.raises(AssertionError, match="should end with the weights of epoch 1.*ends with "
                                             "the weights of epoch 2 \\(the last"):
        train_loop.keeps_best_state(_variant_of_reference_train_nce(old, new))

import re

from autograder.course import notebooks
from autograder.course.paths import SOLUTIONS_DIR
from autograder.course.parts import notebook_names
from dpr_course.testing import K_VALUES, load_expectations



def recall(values: dict, name: str) -> dict:
    return dict(zip(K_VALUES, values[name]))


def story_problems(values: dict) -> list[str]:
    """What is wrong with a results table, by the course's bar for the tiny profile."""
    untrained = recall(values, "evaluation.untrained_recall")
    nce = recall(values, "training.nce_recall")
    hard = recall(values, "hard_negatives.nce_hard_recall")
    problems = []
    if untrained[5] > 40:
        problems.append(f"untrained R@5 {untrained[5]} > 40")
    if nce[5] < untrained[5] + 25:
        problems.append(f"NCE R@5 {nce[5]} < untrained R@5 {untrained[5]} + 25")
    if hard[1] <= nce[1]:
        problems.append(f"NCE+hard R@1 {hard[1]} does not beat NCE R@1 {nce[1]}")
    if hard[5] < nce[5]:
        problems.append(f"NCE+hard R@5 {hard[5]} is worse than NCE R@5 {nce[5]}")
    return problems


def test_the_committed_tiny_figures_tell_the_story():
    assert story_problems(load_expectations("tiny")) == []


def test_the_story_check_can_fail():
    values = dict(load_expectations("tiny"))
    values["hard_negatives.nce_hard_recall"] = values["training.nce_recall"]
    assert any("does not beat" in p for p in story_problems(values))


def test_every_expected_value_is_checked_by_a_visible_test_and_recorded():
    """tiny.json holds exactly the names the solutions' visible tests check (no stale entries,
    none missing). That the values are what the reference produces is checked by grading the
    reference sample (test_samples.py), within the visible tests' tolerances; regenerate them
    with `python -m autograder expect`."""
    checked = set()
    for name in notebook_names():
        for cell in notebooks.read(SOLUTIONS_DIR / f"{name}.ipynb").cells:
            if notebooks.is_test(cell):
                checked |= set(re.findall(r'expect_close\("([\w.]+)"', cell.source))
    assert checked == set(load_expectations("tiny"))


def test_every_full_expectation_has_a_tiny_counterpart():
    assert set(load_expectations("full")) == set(load_expectations("tiny"))

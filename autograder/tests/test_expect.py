import numpy as np
import pytest

from autograder.expect import record_expectations
from dpr_course.profiles import PROFILES
from dpr_course.testing import load_expectations

K_VALUES = (1, 5, 10, 20, 100)
TRAINED = ("training.", "hard_negatives.")


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


@pytest.mark.slow
def test_committed_tiny_expectations_are_what_the_reference_produces():
    """Runs every solution notebook top to bottom (tiny profile) and re-records the values.

    Pure values must agree to 1e-4 on any CPU; trained ones within the profile's recall band
    (training amplifies rounding differences between CPUs).
    """
    recorded = record_expectations("tiny")
    committed = load_expectations("tiny")
    assert set(recorded) == set(committed)
    for name, values in committed.items():
        atol = PROFILES["tiny"].recall_band if name.startswith(TRAINED) else 1e-4
        np.testing.assert_allclose(recorded[name], values, atol=atol, err_msg=name)
    assert story_problems(recorded) == []


def test_every_full_expectation_has_a_tiny_counterpart():
    assert set(load_expectations("full")) == set(load_expectations("tiny"))

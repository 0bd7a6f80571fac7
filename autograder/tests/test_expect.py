import numpy as np
import pytest

from autograder.expect import record_expectations
from dpr_course.testing import load_expectations


@pytest.mark.slow
def test_committed_tiny_expectations_are_what_the_reference_produces():
    """Runs every solution notebook top to bottom (tiny profile) and re-records the values."""
    recorded = record_expectations("tiny")
    committed = load_expectations("tiny")
    assert set(recorded) == set(committed)
    for name, values in committed.items():
        np.testing.assert_allclose(recorded[name], values, atol=1e-5, err_msg=name)


def test_every_full_expectation_has_a_tiny_counterpart():
    assert set(load_expectations("full")) == set(load_expectations("tiny"))

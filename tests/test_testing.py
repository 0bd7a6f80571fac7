import json

import pytest
import torch

from dpr_course import testing


@pytest.fixture
def expectations(tmp_path, monkeypatch):
    (tmp_path / "tiny.json").write_text(json.dumps({"values": {"x": [1.0, -2.0]}}))
    monkeypatch.setattr(testing, "EXPECTATIONS_DIR", tmp_path)
    monkeypatch.setenv("DPR_PROFILE", "tiny")
    monkeypatch.delenv(testing.RECORD_ENV, raising=False)
    return tmp_path


def test_close_values_pass(expectations):
    testing.expect_close("x", torch.tensor([1.00004, -2.00004]), atol=1e-4)


def test_far_values_fail_with_a_message_that_says_what_differs(expectations):
    with pytest.raises(AssertionError) as error:
        testing.expect_close("x", torch.tensor([1.0, -2.01]), atol=1e-4)
    message = str(error.value)
    assert "x (tiny profile)" in message and "1.00e-02" in message and "expected" in message


def test_nan_and_wrong_shape_fail(expectations):
    with pytest.raises(AssertionError):
        testing.expect_close("x", torch.tensor([float("nan"), -2.0]), atol=1e-4)
    with pytest.raises(AssertionError, match="shape"):
        testing.expect_close("x", torch.tensor([1.0]), atol=1e-4)


def test_record_mode_records_instead_of_checking(expectations, tmp_path, monkeypatch):
    record = tmp_path / "recorded.json"
    monkeypatch.setenv(testing.RECORD_ENV, str(record))
    testing.expect_close("y", torch.tensor([0.5, 0.25]), atol=1e-4)
    testing.expect_close("x", [3.0], atol=1e-4)  # would fail if checked
    assert json.loads(record.read_text()) == {"x": [3.0], "y": [0.5, 0.25]}


def test_committed_full_expectations_are_the_original_figures():
    assert testing.load_expectations("full")["encoder.cls_first_coordinate"] == [0.2982, -0.0705, 0.1151]

"""Visible tests' helper: compare a student's numbers with the expected ones for the profile.

Expected values live in ``expectations/<profile>.json`` beside this file:

- ``full.json`` holds the original assignment's published figures, typed in and cited;
- ``tiny.json`` is generated from the reference solutions by ``python -m autograder expect``,
  which runs the solution notebooks with ``DPR_RECORD_EXPECTATIONS`` set: in that mode
  ``expect_close`` records the value it is given instead of comparing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .profiles import profile_name

EXPECTATIONS_DIR = Path(__file__).resolve().parent / "expectations"
RECORD_ENV = "DPR_RECORD_EXPECTATIONS"
# The cut-offs of Recall@k that the course reports, as the original assignment does.
K_VALUES = (1, 5, 10, 20, 100)


def _as_list(value):
    if hasattr(value, "detach"):
        value = value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=float).tolist()


def load_expectations(profile: str | None = None) -> dict:
    path = EXPECTATIONS_DIR / f"{profile or profile_name()}.json"
    with open(path, encoding="utf-8") as f:
        return json.load(f)["values"]


def _record(name: str, value) -> None:
    path = Path(os.environ[RECORD_ENV])
    recorded = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    recorded[name] = _as_list(value)
    path.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def expect_close(name: str, actual, atol: float) -> None:
    """Assert ``actual`` is within ``atol`` of the expected value called ``name``.

    The message names the quantity, the profile, both values and the largest difference.
    """
    if os.environ.get(RECORD_ENV):
        _record(name, actual)
        return
    expected = np.asarray(load_expectations()[name], dtype=float)
    got = np.asarray(_as_list(actual), dtype=float)
    profile = profile_name()
    if got.shape != expected.shape:
        raise AssertionError(
            f"{name} ({profile} profile): expected shape {expected.shape}, got {got.shape}"
        )
    difference = np.abs(got - expected)
    if not np.all(difference <= atol):  # also fails on NaN
        raise AssertionError(
            f"{name} ({profile} profile) differs from the expected values:\n"
            f"  got      {np.array2string(got, precision=4)}\n"
            f"  expected {np.array2string(expected, precision=4)}\n"
            f"  largest difference {np.nanmax(difference) if difference.size else 0:.2e} "
            f"(tolerance {atol:.0e})"
        )

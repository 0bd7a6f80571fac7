import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.paths import COURSE_ROOT, SAMPLE_SUBMISSIONS


@pytest.fixture(scope="session")
def graded_samples(tmp_path_factory):
    """Grade every bundled sample once, through the command line, as an instructor would
    (two at a time: test_grade_robustness checks that --jobs does not change scores). A call
    into a student's code may take 60 s here (the longest honest one, part 4's training run,
    takes about 30 s), so hostile_infinite_loop costs a minute, not the default two."""
    out = tmp_path_factory.mktemp("grading") / "grades.csv"
    run = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(SAMPLE_SUBMISSIONS), "--out", str(out),
         "--jobs", "2"],
        cwd=COURSE_ROOT, capture_output=True, text=True,
        env=dict(os.environ, DPR_PROFILE="tiny", DPR_CELL_TIMEOUT="60"),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {"stdout": run.stdout, "csv": out, "rows": rows, "feedback": out.parent / "feedback"}


@pytest.fixture
def course_copy(tmp_path) -> Path:
    """A throwaway copy of the notebooks, for tests that break things on purpose."""
    import shutil

    for folder in ("solutions", "notebooks"):
        shutil.copytree(COURSE_ROOT / folder, tmp_path / folder)
    return tmp_path

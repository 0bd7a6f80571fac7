import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course.paths import COURSE_ROOT, SAMPLE_SUBMISSIONS


@pytest.fixture(scope="session", autouse=True)
def cold_cache(tmp_path_factory):
    """Every test session starts on an empty course-version cache of its own (so the suite
    grades cold first, and never reads the user's cache), shared by the session's runs."""
    before = os.environ.get("DPR_CACHE_DIR")
    os.environ["DPR_CACHE_DIR"] = str(tmp_path_factory.mktemp("course-cache"))
    yield Path(os.environ["DPR_CACHE_DIR"])
    if before is None:
        del os.environ["DPR_CACHE_DIR"]
    else:
        os.environ["DPR_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def graded_samples(request, tmp_path_factory):
    """Grade the bundled samples once, through the command line, as an instructor would
    (two at a time: test_grade_robustness checks that --jobs does not change scores): every
    sample, or only those whose score tests are all that was selected (`pytest -k training_`
    grades part 4's four samples: 107 s here, where the whole class takes 7 minutes). A call
    of train_nce may take 180 s here, not the default 300 (part 4's training run takes 25 to
    110 s on one thread); every other call 15 s, not the tiny profile's 60 (the slowest honest
    one takes 2 s here), so hostile_infinite_loop and hostile_solution_search cost 15 s of one
    job each; and a call's process tree 1 GiB, not 4 (the largest honest call takes about
    0.6 GiB), so that the memory bombs are stopped sooner."""
    submissions = SAMPLE_SUBMISSIONS
    if chosen := samples_chosen(request.session.items):
        submissions = tmp_path_factory.mktemp("submitted")
        for student in chosen:
            shutil.copytree(SAMPLE_SUBMISSIONS / student, submissions / student)
    # On a course-version cache of its own, empty: this grading computes everything (cold).
    graded = grade_samples(submissions, tmp_path_factory, tmp_path_factory.mktemp("samples-cache"))
    return {**graded, "submissions": submissions}


def grade_samples(submissions: Path, tmp_path_factory, cache: Path) -> dict:
    """``python -m autograder grade`` of ``submissions``, two at a time, on the course-version
    cache in ``cache``, with the suite's limits and a grading machine's secrets planted."""
    out = tmp_path_factory.mktemp("grading") / "grades.csv"
    secrets = planted_secrets(tmp_path_factory.mktemp("grader-home"))
    scratch = tmp_path_factory.mktemp("grader-tmp")  # the run's temporary folder: left empty
    run = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(submissions), "--out", str(out),
         "--jobs", "2"],
        cwd=COURSE_ROOT, capture_output=True, text=True,
        env=dict(os.environ, DPR_PROFILE="tiny", DPR_CELL_TIMEOUT="180", DPR_QUICK_CALL_TIMEOUT="15",
                 DPR_MEMORY_LIMIT_GB="1", DPR_CACHE_DIR=str(cache),
                 TMPDIR=str(scratch), **secrets["environ"]),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {"stdout": run.stdout, "stderr": run.stderr, "csv": out, "rows": rows,
            "feedback": out.parent / "feedback", "secrets": secrets["values"], "scratch": scratch,
            "cache": cache}


def samples_chosen(selected: list[pytest.Item]) -> set[str]:
    """The students whose score tests (test_samples.py) are the only selected tests that need
    the graded samples; empty when another one does (it needs the whole class)."""
    chosen = set()
    for item in selected:
        if "graded_samples" not in getattr(item, "fixturenames", ()):
            continue
        if getattr(item, "originalname", "") != "test_sample_scores_as_expected":
            return set()
        chosen.add(item.callspec.params["sample"].student_id)
    return chosen


def planted_secrets(home: Path) -> dict:
    """Secrets of a grading machine, made up for this run: a token-shaped one and a password in
    the environment, and a Hugging Face token where `huggingface-cli login` keeps it. Nothing
    of them may reach a feedback page, the CSV, the report or a log line."""
    import secrets

    token = "hf_" + secrets.token_hex(20)
    stored = "hf_" + secrets.token_hex(20)
    password = "pw-" + secrets.token_urlsafe(18)
    (home / "huggingface").mkdir()
    (home / "huggingface" / "token").write_text(stored)
    environ = {"HF_TOKEN": token, "GRADER_CLUSTER_PASSWORD": password,
               "HF_HOME": str(home / "huggingface")}
    return {"environ": environ, "values": [token, stored, password]}


@pytest.fixture
def course_copy(tmp_path) -> Path:
    """A throwaway copy of the notebooks, for tests that break things on purpose."""
    import shutil

    for folder in ("solutions", "notebooks"):
        shutil.copytree(COURSE_ROOT / folder, tmp_path / folder)
    return tmp_path

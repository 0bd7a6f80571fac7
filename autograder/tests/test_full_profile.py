"""The full profile's own code path, end to end, on a stand-in checkpoint (``autograder.commands.standin``).

Every Colab student with a GPU takes this path: ``from_pretrained("distilbert-base-uncased")``,
NQ-toy files sampled as the original, the original's hyperparameters. Here the weights are a
small random stand-in and the NQ-toy files are the synthetic ones (``DPR_NQ_DIR``), so the
visible tests that compare with the original assignment's published figures must fail, saying
what they expected and what they got; everything else must pass: every cell of the reference
notebooks runs, and the reference gets full marks on every other test when graded.
"""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest

from autograder.course import notebooks
from autograder.course.execute import run_notebook
from autograder.judge.environment import grading_environment
from autograder.course.paths import ASSIGNMENT, COURSE_ROOT, SAMPLE_SUBMISSIONS, SOLUTIONS_DIR
from autograder.course.parts import notebook_names
from autograder.commands.standin import make_standin
from dpr_course.testing import EXPECTATIONS_DIR

PUBLISHED = set(json.loads((EXPECTATIONS_DIR / "full.json").read_text())["values"])


def published_figure_tests() -> dict[str, set[str]]:
    """notebook -> the visible test cells that compare with the original's published figures
    (found from the notebooks: those calling expect_close on a value of full.json)."""
    found = {}
    for name in notebook_names():
        for cell in notebooks.read(SOLUTIONS_DIR / f"{name}.ipynb").cells:
            used = set(re.findall(r'expect_close\("([\w.]+)"', cell.source))
            if notebooks.is_test(cell) and used & PUBLISHED:
                found.setdefault(name, set()).add(notebooks.grade_id(cell))
    return found


@pytest.fixture(scope="module")
def full_profile(tmp_path_factory, monkeypatch_module):
    hf_home = tmp_path_factory.mktemp("huggingface")
    make_standin(hf_home)
    settings = {"DPR_PROFILE": "full", "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1", "DPR_NQ_DIR": str(COURSE_ROOT / "data" / "synthetic")}
    for key, value in settings.items():
        monkeypatch_module.setenv(key, value)
    return settings


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


LOADS = """
import json
from dpr_course.models import load_tokenizer, pretrained_distilbert
from dpr_course.profiles import active_profile
profile = active_profile()
encoded = load_tokenizer(profile)(["Suicide Squad (film)", "Sacroiliac joint"])
print(json.dumps({"profile": profile.name, "ids": encoded["input_ids"], "keys": sorted(encoded),
                  "dropout": pretrained_distilbert(profile).config.dropout}))
"""


def test_the_standin_is_loaded_as_distilbert_base_uncased(full_profile):
    """In a fresh process (the hub library reads HF_HOME when it is imported)."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", LOADS], capture_output=True, text=True,
                         env=dict(grading_environment("full"), **full_profile), cwd=COURSE_ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = json.loads(run.stdout.strip().splitlines()[-1])
    assert loaded["profile"] == "full"
    assert loaded["ids"] == [[101, 5920, 4686, 1006, 2143, 1007, 102],
                             [101, 17266, 26692, 6632, 2278, 4101, 102]], "the original's ids"
    assert loaded["keys"] == ["attention_mask", "input_ids"]
    assert loaded["dropout"] == 0.1, "the stand-in keeps the real checkpoint's dropout"


def test_the_published_figure_tests_are_the_originals():
    assert published_figure_tests() == {
        "01_encoder": {"test_encoder_values"}, "02_evaluation": {"test_untrained_recall"},
        "03_nce_loss": {"test_nce_test_batch"}, "04_training": {"test_nce_recall"},
        "05_hard_negatives": {"test_results_table"}}


@pytest.mark.slow
def test_every_cell_of_the_reference_notebooks_runs_in_the_full_profile(full_profile, capsys):
    allowed = published_figure_tests()
    env = dict(grading_environment("full"), **full_profile)
    for name in notebook_names():
        started = time.perf_counter()
        notebook = run_notebook(SOLUTIONS_DIR / f"{name}.ipynb", env, timeout=900, allow_errors=True)
        with capsys.disabled():
            print(f"\n  full profile on the stand-in: {name} ran in {time.perf_counter() - started:.0f} s")
        for cell in notebook.cells:
            errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
            if not errors:
                continue
            grade_id = notebooks.grade_id(cell)
            assert grade_id in allowed.get(name, set()), \
                f"{name}: {grade_id or 'a cell'} failed: {errors[0].ename}: {errors[0].evalue}"
            message = errors[0].evalue
            assert "(full profile)" in message and "got" in message and "expected" in message, \
                f"{name}/{grade_id} must say what it expected and what it got: {message}"


@pytest.mark.slow
def test_the_reference_loses_only_the_published_figures_when_graded(full_profile, tmp_path, capsys):
    from autograder.run import grade

    shutil.copytree(SAMPLE_SUBMISSIONS / "reference", tmp_path / "submitted" / "reference")
    started = time.perf_counter()
    [result] = grade(tmp_path / "submitted", tmp_path / "grades.csv", profile="full")
    score = sum(row["score"] for row in result.rows), sum(row["max_score"] for row in result.rows)
    with capsys.disabled():
        print(f"\n  graded the reference in the full profile in {time.perf_counter() - started:.0f} s: "
              f"{score[0]:g}/{score[1]:g}")
    assert not result.error, result.error
    allowed = {grade_id for ids in published_figure_tests().values() for grade_id in ids}
    lost = {row["grade_id"] for row in result.rows if row["score"] < row["max_score"]}
    assert result.rows and lost <= allowed, f"the reference lost points on: {sorted(lost - allowed)}"
    feedback = (tmp_path / "feedback" / "reference" / ASSIGNMENT / "01_encoder.html").read_text()
    assert "full profile" in feedback and "expected" in feedback

"""Every DPR_* setting has one default, and the library, nbgrader_config.py and the judge agree."""

import re

import pytest
import torch
from traitlets.config.loader import PyFileConfigLoader

from autograder.course.paths import COURSE_ROOT
from autograder.judge.student import Settings
from dpr_course import profiles, settings


def nbgrader_config(monkeypatch, **environ):
    for name in settings.SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return PyFileConfigLoader("nbgrader_config.py", path=str(COURSE_ROOT)).load_config()


@pytest.mark.parametrize("profile", ["tiny", "full"])
def test_the_kernel_and_the_judge_take_their_timeouts_from_the_table(monkeypatch, profile):
    expected = getattr(settings.SETTINGS["DPR_CELL_TIMEOUT"], profile)
    config = nbgrader_config(monkeypatch, DPR_PROFILE=profile)
    judge = Settings.from_environment({"DPR_PROFILE": profile})
    assert config.Execute.timeout == judge.cell_seconds == float(expected)
    assert judge.notebook_seconds == float(getattr(settings.SETTINGS["DPR_NOTEBOOK_TIMEOUT"], profile))
    assert (judge.memory_bytes, judge.processes, judge.device) == (4 << 30, 64, "auto")


def test_a_setting_in_the_environment_wins_and_an_empty_one_is_the_default(monkeypatch):
    assert Settings.from_environment({"DPR_PROFILE": "tiny", "DPR_CELL_TIMEOUT": "7"}).cell_seconds == 7
    assert Settings.from_environment({"DPR_PROFILE": "tiny", "DPR_CELL_TIMEOUT": ""}).cell_seconds == 300
    assert nbgrader_config(monkeypatch, DPR_PROFILE="full", DPR_CELL_TIMEOUT="42").Execute.timeout == 42


def test_the_grader_setting_chooses_the_judge_or_the_kernel(monkeypatch):
    judged = nbgrader_config(monkeypatch, DPR_PROFILE="tiny").Autograde.autograde_preprocessors
    assert "JudgeTests" in [p.__name__ for p in judged]
    kernel = nbgrader_config(monkeypatch, DPR_PROFILE="tiny", DPR_GRADER="kernel")
    assert "autograde_preprocessors" not in kernel.Autograde  # nbgrader's own, with its kernel


@pytest.mark.parametrize("cuda", [True, False])
def test_unset_profile_means_the_same_everywhere(monkeypatch, cuda):
    monkeypatch.delenv("DPR_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    chosen = "full" if cuda else "tiny"
    assert profiles.profile_name() == settings.profile() == chosen
    timeout = float(getattr(settings.SETTINGS["DPR_CELL_TIMEOUT"], chosen))
    assert Settings.from_environment().cell_seconds == timeout
    assert nbgrader_config(monkeypatch).Execute.timeout == timeout


def test_every_dpr_variable_the_code_reads_is_in_the_table():
    sources = [COURSE_ROOT / "nbgrader_config.py", *sorted((COURSE_ROOT / "dpr_course").rglob("*.py")),
               *[p for p in sorted((COURSE_ROOT / "autograder").rglob("*.py")) if "tests" not in p.parts]]
    named = {name for path in sources
             for name in re.findall(r"[\"'](DPR_[A-Z_]+)[\"']", path.read_text(encoding="utf-8"))}
    assert named and named <= set(settings.SETTINGS), sorted(named - set(settings.SETTINGS))
    assert set(profiles.PROFILES) == {"tiny", "full"}  # what settings.profile() accepts


def test_only_functions_that_train_get_the_long_limit_per_call():
    """An endless loop where the honest code takes milliseconds is stopped after the quick
    limit; train_nce (a stage's `trains`) keeps the cell limit."""
    tiny, full = Settings.defaults("tiny"), Settings.defaults("full")
    assert tiny.call_seconds("train_nce") == tiny.cell_seconds == 300
    assert tiny.call_seconds("get_topk_candidates") == tiny.quick_seconds == 60
    assert tiny.call_seconds("DistilBertEncoder.forward") == 60
    assert full.call_seconds("get_topk_candidates") == full.cell_seconds == 3600
    short = Settings.defaults("tiny", cell_seconds=5)  # never more than the cell limit
    assert short.call_seconds("mine_hard_negatives") == 5


def test_the_judge_computes_on_a_fixed_thread_count_in_the_tiny_profile(monkeypatch):
    """Training numbers change with the thread count, so the tiny profile's judge takes one
    thread whatever the job's share; the full profile's takes the share (its runs need it)."""
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.delenv("DPR_JUDGE_THREADS", raising=False)
    assert Settings.defaults("tiny").judge_threads() == 1
    assert Settings.defaults("full").judge_threads() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    assert Settings.defaults("full").judge_threads() == 8
    for value, threads in (("3", 3), ("auto", 8)):
        monkeypatch.setenv("DPR_JUDGE_THREADS", value)
        assert Settings.from_environment().judge_threads() == threads
    for wrong in ("0", "two"):
        monkeypatch.setenv("DPR_JUDGE_THREADS", wrong)
        with pytest.raises(ValueError, match=f"DPR_JUDGE_THREADS='{wrong}'.*number of threads"):
            Settings.from_environment()

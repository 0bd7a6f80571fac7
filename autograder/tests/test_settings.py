"""Every DPR_* setting has one default; the library, nbgrader_config.py and the judge agree; and a
grading run's settings are one value that every process of the run sees."""

import re

import pytest
import torch
from traitlets.config.loader import PyFileConfigLoader

from autograder import config, phases
from autograder.course.paths import ASSIGNMENT, COURSE_ROOT, SAMPLE_SUBMISSIONS
from autograder.judge.student import call_seconds
from dpr_course import profiles, settings

EVERY_SETTING = {**settings.SETTINGS, **config.SETTINGS}


def nbgrader_config(monkeypatch, **environ):
    for name in [*EVERY_SETTING, config.RUN_ENV]:
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return PyFileConfigLoader("nbgrader_config.py", path=str(COURSE_ROOT)).load_config()


@pytest.mark.parametrize("profile", ["tiny", "full"])
def test_the_kernel_and_the_judge_take_their_timeouts_from_the_table(monkeypatch, profile):
    expected = getattr(config.SETTINGS["DPR_CELL_TIMEOUT"], profile)
    nbgrader = nbgrader_config(monkeypatch, DPR_PROFILE=profile)
    judge = config.resolve({"DPR_PROFILE": profile})
    assert nbgrader.Execute.timeout == judge.cell_seconds == float(expected)
    assert judge.notebook_seconds == float(getattr(config.SETTINGS["DPR_NOTEBOOK_TIMEOUT"], profile))
    assert (judge.memory_bytes, judge.processes, judge.device) == (4 << 30, 64, "auto")


def test_a_setting_in_the_environment_wins_and_an_empty_one_is_the_default(monkeypatch):
    assert config.resolve({"DPR_PROFILE": "tiny", "DPR_CELL_TIMEOUT": "7"}).cell_seconds == 7
    assert config.resolve({"DPR_PROFILE": "tiny", "DPR_CELL_TIMEOUT": ""}).cell_seconds == 300
    assert nbgrader_config(monkeypatch, DPR_PROFILE="full", DPR_CELL_TIMEOUT="42").Execute.timeout == 42


def test_the_run_settings_win_over_the_environment_in_every_reader(monkeypatch):
    """Within a run, what the run decided holds, whatever a process's environment says."""
    run = config.defaults("tiny", cell_seconds=11, grader="kernel")
    nbgrader = nbgrader_config(monkeypatch, DPR_PROFILE="tiny", DPR_CELL_TIMEOUT="99",
                               **run.environ())
    assert nbgrader.Execute.timeout == 11 and "autograde_preprocessors" not in nbgrader.Autograde
    assert config.current() == run
    assert config.RunConfig.from_json(run.to_json()) == run


def test_the_grader_setting_chooses_the_judge_or_the_kernel(monkeypatch):
    judged = nbgrader_config(monkeypatch, DPR_PROFILE="tiny").Autograde.autograde_preprocessors
    assert "JudgeTests" in [p.__name__ for p in judged]
    kernel = nbgrader_config(monkeypatch, DPR_PROFILE="tiny", DPR_GRADER="kernel")
    assert "autograde_preprocessors" not in kernel.Autograde  # nbgrader's own, with its kernel


@pytest.mark.parametrize("cuda", [True, False])
def test_unset_profile_means_the_same_everywhere(monkeypatch, cuda):
    monkeypatch.delenv("DPR_PROFILE", raising=False)
    monkeypatch.delenv(config.RUN_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    chosen = "full" if cuda else "tiny"
    assert profiles.profile_name() == config.resolve().profile == chosen
    timeout = float(getattr(config.SETTINGS["DPR_CELL_TIMEOUT"], chosen))
    assert config.resolve().cell_seconds == timeout
    assert nbgrader_config(monkeypatch).Execute.timeout == timeout


def test_a_wrong_profile_is_an_error_that_names_the_choices():
    with pytest.raises(ValueError, match=r"DPR_PROFILE='tiney' is not a profile.*'full', 'tiny'"):
        config.resolve({"DPR_PROFILE": "tiney"})


def test_every_dpr_variable_the_code_reads_is_in_a_table_and_the_library_holds_only_its_own():
    sources = [COURSE_ROOT / "nbgrader_config.py", *sorted((COURSE_ROOT / "dpr_course").rglob("*.py")),
               *[p for p in sorted((COURSE_ROOT / "autograder").rglob("*.py")) if "tests" not in p.parts]]
    named = {name for path in sources
             for name in re.findall(r"[\"'](DPR_[A-Z_]+)[\"']", path.read_text(encoding="utf-8"))}
    assert named and named <= {*EVERY_SETTING, config.RUN_ENV}, sorted(named - set(EVERY_SETTING))
    library = {name for path in sorted((COURSE_ROOT / "dpr_course").rglob("*.py"))
               for name in re.findall(r"[\"'](DPR_[A-Z_]+)[\"']", path.read_text(encoding="utf-8"))}
    assert library <= set(settings.SETTINGS), "the students' library holds the grader's settings"
    assert not set(settings.SETTINGS) & set(config.SETTINGS), "a setting in both tables"
    assert set(profiles.PROFILES) == {"tiny", "full"}


def test_only_functions_that_train_get_the_long_limit_per_call():
    """An endless loop where the honest code takes milliseconds is stopped after the quick
    limit; train_nce (a part's `trains`) keeps the cell limit."""
    tiny, full = config.defaults("tiny"), config.defaults("full")
    assert call_seconds(tiny, "train_nce") == tiny.cell_seconds == 300
    assert call_seconds(tiny, "get_topk_candidates") == tiny.quick_seconds == 60
    assert call_seconds(tiny, "DistilBertEncoder.forward") == 60
    assert call_seconds(full, "get_topk_candidates") == full.cell_seconds == 3600
    short = config.defaults("tiny", cell_seconds=5)  # never more than the cell limit
    assert call_seconds(short, "mine_hard_negatives") == 5


def test_the_judge_computes_on_a_fixed_thread_count_in_the_tiny_profile(monkeypatch):
    """Training numbers change with the thread count, so the tiny profile's judge takes one
    thread whatever the job's share; the full profile's takes the share (its runs need it)."""
    monkeypatch.setattr(config.os, "cpu_count", lambda: 8)
    assert config.resolve({"DPR_PROFILE": "tiny"}, jobs=4).threads == 1
    assert config.resolve({"DPR_PROFILE": "full"}, jobs=4).threads == 2
    assert config.resolve({"DPR_PROFILE": "full"}).threads == 8
    for value, threads in (("3", 3), ("auto", 4)):
        assert config.resolve({"DPR_PROFILE": "tiny", "DPR_JUDGE_THREADS": value}, jobs=2).threads == threads
    for wrong in ("0", "two"):
        with pytest.raises(ValueError, match=f"DPR_JUDGE_THREADS='{wrong}'.*number of threads"):
            config.resolve({"DPR_PROFILE": "tiny", "DPR_JUDGE_THREADS": wrong})


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_process_of_a_grading_run_sees_the_same_settings(tmp_path, monkeypatch, jobs):
    """Each process that times a phase writes a digest of the run settings it sees: the grader,
    nbgrader's worker, the judge server's prepared notebook and the judge forked for the
    student all see the one value the run built."""
    import os
    import shutil

    from autograder.run import grade

    trace = tmp_path / "trace.jsonl"
    monkeypatch.delenv(config.RUN_ENV, raising=False)
    monkeypatch.setenv("DPR_TRACE", str(trace))
    monkeypatch.setenv("DPR_QUICK_CALL_TIMEOUT", "45")  # a setting that is not the default
    target = tmp_path / "submitted" / "reference" / ASSIGNMENT
    target.mkdir(parents=True)
    shutil.copy(SAMPLE_SUBMISSIONS / "reference" / ASSIGNMENT / "01_encoder.ipynb", target)
    built = []
    monkeypatch.setattr(config, "in_effect", _recording(config.in_effect, built))
    [result] = grade(tmp_path / "submitted", tmp_path / "grades.csv", jobs=jobs)
    encoder = [row for row in result.rows if row["notebook"] == "01_encoder"]
    assert encoder and all(row["score"] == row["max_score"] for row in encoder)
    [settings] = built
    assert (settings.quick_seconds, settings.trace, settings.jobs) == (45, str(trace), jobs)
    assert settings.server and settings.memo and settings.grader_pid == os.getpid()
    records = phases.read(trace)
    seen = {record["pid"]: record["run"] for record in records}
    assert {"intake", "autograde", "prepare notebook", "check"} <= {r["phase"] for r in records}
    assert len(seen) >= 4 and os.getpid() in seen, "the grader, a worker, a prepared notebook, a judge"
    assert set(seen.values()) == {settings.digest()}, seen


def _recording(in_effect, built: list):
    def recorded(settings):
        built.append(settings)
        return in_effect(settings)
    return recorded

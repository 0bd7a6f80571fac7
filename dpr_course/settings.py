"""Every ``DPR_*`` environment setting of the course, in one table.

The library (profiles, data, expectations), ``nbgrader_config.py`` and the grader's judge read
their settings here, so a default is written once and they can never disagree. A setting that
is unset or empty takes its default, which may depend on the profile.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    tiny: str | None      # the default in the tiny profile (None: no default)
    full: str | None      # the default in the full profile
    meaning: str
    grader: bool = True   # read by the grader (the judge gets it from the grader's environment)


TABLE = (
    Setting("DPR_PROFILE", None, None,
            "`tiny` or `full`; unset: `full` where CUDA is available, else `tiny`"),
    Setting("DPR_DEVICE", None, None,
            "where the notebooks compute; unset: `cuda` when a GPU is visible, else `cpu`",
            grader=False),
    Setting("DPR_NQ_DIR", None, None, "a folder holding the real nq-train.json and nq-val.json"),
    Setting("DPR_RECORD_EXPECTATIONS", None, None,
            "set by `python -m autograder expect`: record the visible tests' values",
            grader=False),
    Setting("DPR_GRADER", "judge", "judge",
            "`judge` (the sandboxed judge) or `kernel` (nbgrader's own kernel)"),
    Setting("DPR_CELL_TIMEOUT", "300", "3600",
            "seconds: the kernel's limit per cell, and the judge's per call of a student's "
            "function that trains a model (a stage's `trains`)"),
    Setting("DPR_QUICK_CALL_TIMEOUT", "60", "3600",
            "seconds: the judge's limit per call of any other function of the student's (in the "
            "tiny profile their honest calls take a few seconds at most)"),
    Setting("DPR_NOTEBOOK_TIMEOUT", "1200", "14400",
            "seconds: the judge's limit on all of one notebook's calls together"),
    Setting("DPR_MEMORY_LIMIT_GB", "4", "4",
            "GiB: what one call's whole process tree may use"),
    Setting("DPR_PROCESS_LIMIT", "64", "64",
            "processes and threads one call's tree may run at once"),
    Setting("DPR_JUDGE_DEVICE", "auto", "auto",
            "where the student's code runs when judged: `auto`, `cpu` or `cuda`"),
    Setting("DPR_JUDGE_THREADS", "1", "auto",
            "threads of the judge's own computing (the instructor's cells, the provided code's "
            "training runs): a number, or `auto`, the job's share of the cores. A training run's "
            "numbers change with the thread count, so a number keeps the scores the same at any "
            "`--jobs` and on any cluster worker; the full profile's runs need the cores"),
    Setting("DPR_SANDBOX_LIMITS", "auto", "auto",
            "how the limits are held: `auto`, `cgroup2`, `cgroup1` or `watchdog`"),
    Setting("DPR_TRACE", None, None,
            "a file where grading appends the time of each of its phases (`bench` sets it)"),
    Setting("DPR_JUDGE_SERVER", None, None,
            "set by `python -m autograder grade`: its judge server's socket", grader=False),
    Setting("DPR_JUDGE_MEMO", None, None,
            "set by `python -m autograder grade`: the folder where its judges keep the provided "
            "code's training runs that students share", grader=False),
    Setting("DPR_GRADER_PID", None, None,
            "set by `python -m autograder grade`: the process its jobs and judges die with",
            grader=False),
)
SETTINGS = {setting.name: setting for setting in TABLE}


def profile(environ=os.environ) -> str:
    """The active profile's name (``dpr_course.profiles.profile_name`` decides when unset)."""
    name = (environ.get("DPR_PROFILE") or "").strip().lower()
    if name in ("tiny", "full"):
        return name
    from .profiles import profile_name  # imports torch: only when it must look for a GPU

    return profile_name()


def get(name: str, environ=os.environ, profile_name: str | None = None) -> str | None:
    """``$name`` if set and not empty, else its default in the profile (the active one)."""
    value = (environ.get(name) or "").strip()
    if value:
        return value
    setting = SETTINGS[name]
    if setting.tiny == setting.full:
        return setting.tiny
    return setting.tiny if (profile_name or profile(environ)) == "tiny" else setting.full


def markdown_table() -> str:
    """The table for the README."""
    rows = ["| setting | tiny | full | what it is |", "| :-- | :-- | :-- | :-- |"]
    for s in TABLE:
        rows.append(f"| `{s.name}` | {s.tiny or '–'} | {s.full or '–'} | {s.meaning} |")
    return "\n".join(rows)

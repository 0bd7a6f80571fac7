"""The students' ``DPR_*`` environment settings, in one table (the grader's own are in
``autograder/config.py``, in a table of the same form; they are not shipped to students).

A setting that is unset or empty takes its default, which may depend on the profile.
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
    grader: bool = True   # the judge's processes get it from the grader's environment


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
)
SETTINGS = {setting.name: setting for setting in TABLE}


def value(setting: Setting, environ=os.environ, profile_name: str | None = None) -> str | None:
    """``setting`` from ``environ`` if set and not empty, else its default in the profile (by
    default the active one, ``dpr_course.profiles.profile_name``)."""
    given = (environ.get(setting.name) or "").strip()
    if given:
        return given
    if setting.tiny == setting.full:
        return setting.tiny
    from .profiles import profile_name as active  # imports torch only to look for a GPU

    return setting.tiny if (profile_name or active(environ)) == "tiny" else setting.full


def get(name: str, environ=os.environ, profile_name: str | None = None) -> str | None:
    """The student setting ``name`` (``$name``, else its default)."""
    return value(SETTINGS[name], environ, profile_name)


def markdown_table(table=TABLE) -> str:
    """A table of settings for the documentation."""
    rows = ["| setting | tiny | full | what it is |", "| :-- | :-- | :-- | :-- |"]
    for s in table:
        rows.append(f"| `{s.name}` | {s.tiny or '–'} | {s.full or '–'} | {s.meaning} |")
    return "\n".join(rows)

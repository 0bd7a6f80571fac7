"""The course data for the active profile: NQ-toy for ``full``, synthetic for ``tiny``."""

from __future__ import annotations

from . import REPO_ROOT, nq
from .profiles import Profile, active_profile


def load_profile_data(profile: Profile | None = None) -> tuple[list[dict], list[dict]]:
    """All training and validation examples of the profile's data set, validated."""
    profile = profile or active_profile()
    if profile.data_source == "nq-toy":
        return nq.load_nq_toy()
    return nq.load_nq_dir(REPO_ROOT / profile.data_source)


def build_kb(examples: list[dict]) -> list[dict]:
    """The toy knowledge base: the gold passage of every example, in order (duplicates kept)."""
    return [
        {"title": example["gold_context"]["title"], "text": example["gold_context"]["text"]}
        for example in examples
    ]

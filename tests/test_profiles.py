import dataclasses

import pytest
import torch

from dpr_course import REPO_ROOT
from dpr_course.profiles import (
    PROFILES,
    Profile,
    active_profile,
    choose_device,
    profile_name,
)


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv("DPR_PROFILE", "full")
    assert profile_name() == "full" and active_profile() is PROFILES["full"]
    monkeypatch.setenv("DPR_PROFILE", " Tiny ")
    assert profile_name() == "tiny"


def test_unset_profile_follows_cuda(monkeypatch):
    monkeypatch.delenv("DPR_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert profile_name() == "full"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert profile_name() == "tiny"


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DPR_PROFILE", "huge")
    with pytest.raises(ValueError, match=r"DPR_PROFILE='huge'.*\['full', 'tiny'\]"):
        profile_name()


def test_device_is_chosen_not_assumed(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert choose_device() == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert choose_device() == "cuda"


def test_full_profile_keeps_the_original_settings():
    full = PROFILES["full"]
    assert (full.model_source, full.tokenizer_source) == ("distilbert-base-uncased",) * 2
    assert (full.max_input_length, full.num_train, full.num_val) == (100, 500, 1000)
    assert (full.nce_batch_size, full.hard_batch_size, full.epochs, full.lr) == (128, 64, 5, 1e-4)
    assert full.eval_batch_size == 600


def test_every_profile_sets_every_field():
    fields = {f.name for f in dataclasses.fields(Profile)} - {"model_config"}
    for name, profile in PROFILES.items():
        assert profile.name == name
        assert all(getattr(profile, f) is not None for f in fields)
        # A built model needs its config here; a pretrained one brings its own.
        assert (profile.model_config is not None) == (profile.model_source == "tiny-random")


def test_tiny_data_folder_exists():
    assert (REPO_ROOT / PROFILES["tiny"].data_source / "nq-train.json").is_file()

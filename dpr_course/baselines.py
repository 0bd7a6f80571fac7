"""A lexical baseline: BM25 over each passage's title and text (the ``rank-bm25`` package)."""

from __future__ import annotations

import re

import numpy as np
from rank_bm25 import BM25Okapi


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def bm25_scores(KB: list[dict], data: list[dict]) -> np.ndarray:
    """Every question's BM25 score for every passage: an array of shape (len(data), len(KB))."""
    index = BM25Okapi([words(p["title"] + " " + p["text"]) for p in KB])
    return np.stack([index.get_scores(words(example["question"])) for example in data])


def bm25_topk_candidates(KB: list[dict], data: list[dict], num_candidates: int) -> list[dict]:
    """Top passages per question by BM25, in the layout of ``get_topk_candidates``.

    Ties are broken by KB position (a stable sort), so the result is deterministic.
    """
    results = []
    for example, scores in zip(data, bm25_scores(KB, data)):
        best = np.argsort(-scores, kind="stable")[:num_candidates].tolist()
        results.append(dict(
            question=example["question"], answers=example["answers"],
            gold_title=example["gold_context"]["title"], topk_indices=best,
            topk_titles=[KB[j]["title"] for j in best], topk_values=scores[best].tolist()))
    return results

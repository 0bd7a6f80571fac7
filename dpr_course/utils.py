"""Small helpers every notebook uses."""

import gc
import random

import numpy as np
import torch


def set_seed(seed: int) -> None:
    """Fix every random number generator we use, so runs repeat exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def clear_from_gpu(thing=None) -> None:
    """Give cached GPU memory back after dropping a model (Colab is slow to do it itself).

    Usage: ``del model; clear_from_gpu()``. Passing the model is accepted for compatibility
    with the original assignment, but the caller must still drop its own reference.
    The memory is only freed once no name refers to the model any more.
    """
    del thing
    gc.collect()
    if torch.cuda.is_initialized():  # nothing cached otherwise (and nothing to initialise)
        torch.cuda.empty_cache()

"""Keep the caller's random state: the one helper for it in the grader.

The solution notebooks seed every generator, and a DataLoader iterator (or a student's code)
draws from the global ones; so a hidden check, a reference run or a stand-in build must leave
Python's, NumPy's and torch's generators (and torch's thread count, which checks may lower) as
they found them, or the notebook's next cells would compute something else.
"""

from __future__ import annotations

import contextlib
import random

import numpy as np
import torch


@contextlib.contextmanager
def kept_random_state():
    """Restore Python's, NumPy's and torch's random state (CPU, and CUDA where this process
    has initialised it: never initialised here) and torch's thread count afterwards, also on
    error. Usable as a decorator."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    threads = torch.get_num_threads()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        torch.set_num_threads(threads)
        random.setstate(python_state)
        np.random.set_state(numpy_state)

"""A course notebook run top to bottom in a fresh kernel (``expect``, ``story`` and the tests
that run the reference solutions)."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import nbclient

from autograder.course import notebooks
from autograder.processes import STOP_SIGNALS


@contextlib.contextmanager
def environment(values: dict):
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_notebook(path: Path, env: dict, timeout: int = 600, resources_path: Path | None = None,
                 allow_errors: bool = False):
    """Execute a notebook in a fresh kernel (working directory ``resources_path``, default its
    own folder) and return it with outputs; raise on the first failing cell, unless
    ``allow_errors`` (then every cell runs, and the errors are in the outputs).

    Hidden tests are left out: they record nothing, and grading the reference (``validate``)
    runs them anyway.
    """
    notebook = notebooks.read(path)
    notebook.cells = [cell for cell in notebook.cells if not notebooks.is_hidden_test(cell)]
    folder = resources_path or path.parent
    ours = {number: signal.getsignal(number) for number in STOP_SIGNALS}

    def keep_our_signal_handlers(**_):
        # nbclient sets handlers of its own for the run, which shut the kernel down and then
        # fail with an unrelated error, and leaves the default ones behind: a stop signal must
        # stay ours (``processes.stopped_by_signals``). The kernel still goes: nbclient shuts
        # it down at exit, and it ends itself once its parent is gone.
        for number, handler in ours.items():
            signal.signal(number, handler)

    with environment(env):
        try:
            return nbclient.NotebookClient(
                notebook, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                resources={"metadata": {"path": str(folder)}},
                on_notebook_start=keep_our_signal_handlers).execute()
        finally:
            keep_our_signal_handlers()

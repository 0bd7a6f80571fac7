"""The reference solution of a notebook, as live Python objects, for the hidden tests.

The solution notebooks are the single source: this executes a solution notebook's locked and
answer cells (never its tests or its free exploration cells) in a fresh namespace, quietly,
once per process, leaving the caller's random number generators as they were (the solution
seeds them, and a hidden test must not change what the student's later cells compute).

Each cell runs in a namespace of its own, a copy of what the cells before it defined. So a
function's ``__globals__`` hold only what came before it: one handed to the student's code
during a check (the reference ``configure_optimization``, a provided ``get_topk_candidates``)
cannot lead to an answer further down, such as the ``train_nce`` the student is tested on.
"""

from __future__ import annotations

import contextlib
import functools
import io
from unittest import mock

from autograder.course import notebooks
from autograder.course.paths import SOLUTIONS_DIR
from autograder.course.parts import notebook_of
from autograder.random_state import kept_random_state


def reference(part: str) -> dict:
    """The namespace left by running a part's solution notebook: ``reference("training")``
    (a part key, as the checks name it; a notebook's name, ``04_training``, works too)."""
    return _reference(notebook_of(part))


@functools.lru_cache(maxsize=None)
def _reference(notebook_name: str) -> dict:
    path = SOLUTIONS_DIR / f"{notebook_name}.ipynb"
    notebook = notebooks.read(path)
    namespace = {"__name__": f"reference_{notebook_name}"}
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet), \
            mock.patch("matplotlib.pyplot.show"), kept_random_state():
        for index, cell in enumerate(notebook.cells):
            if notebooks.is_locked_code(cell) or notebooks.is_code_answer(cell):
                code = compile(cell.source, f"{path.name}[cell {index}]", "exec")
                own = dict(namespace)
                exec(code, own)  # noqa: S102 - our own solution notebook
                namespace = own
    import matplotlib.pyplot as plt

    plt.close("all")
    return namespace


reference.cache_clear = _reference.cache_clear  # one cache, whichever name a caller used

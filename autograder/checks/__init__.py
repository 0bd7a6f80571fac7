"""Hidden checks, one module per part (``autograder.checks.<part key>``).

Writing a check
===============

A hidden test is a function here, declared once::

    @hidden_test("test_encoder_padding", points=1, on="DistilBertEncoder")
    def padding_invariance(Encoder) -> None:
        \"\"\"A row's embedding does not change when the batch is padded.

        (Further paragraphs: how the check works, for the people who maintain it.)\"\"\"

- ``grade_id`` and ``points`` are the test cell's; ``on`` names the notebook's objects the
  check is handed (the student's, through the judge's proxies). The docstring's first paragraph
  is what the student reads above the cell: ``# Hidden test: <it>``.
- ``python -m autograder build`` writes the test cell into the part's solution notebook, after
  the visible tests of the answer cell that defines ``on`` (a cell that is there keeps its
  place), and the release and samples from it; ``validate`` fails while a cell and its
  declaration disagree. A sample that must fail it names the grade id in its ``fails``.
- A check raises ``AssertionError`` with a message that says what differs and what to do; any
  other exception also scores 0, with its message.
- It reaches the reference solution through ``autograder.judge.reference``, never through the
  student's namespace, and runs with the caller's random state kept (the declaration does it:
  a hidden test must not change what the notebook computes next).

What crosses the sandbox boundary (``autograder/judge/transport/__init__.py`` has the whole
contract): each call of the student's code runs in a forked, confined child, which sees the
check's arguments as copies; what comes back is the return value and the arguments' new state,
as data: numbers, strings, tensors, arrays, models' weights, optimizers and schedulers, and
dicts, lists, tuples and sets of them. A check that wants to see *how* the student's code called
something hands it a ``spy`` (``autograder.judge.transport.spy``), and one that must set a
name in the student's globals for a call uses ``patched_globals``; nothing else the child does
comes back.
"""

from __future__ import annotations

import functools
import inspect

from autograder.course import hidden_tests
from autograder.course.hidden_tests import HiddenTest
from autograder.random_state import kept_random_state

def hidden_test(grade_id: str, points: float, on: str | tuple[str, ...]):
    """Declare the decorated function as the hidden test cell ``grade_id``."""
    names = (on,) if isinstance(on, str) else tuple(on)

    def declare(check):
        doc = inspect.getdoc(check) or ""
        about = " ".join(doc.split("\n\n", 1)[0].split())
        if not about:
            raise ValueError(f"{check.__module__}.{check.__name__}: a hidden test needs a "
                             "docstring; its first paragraph is what the student reads")
        test = HiddenTest(grade_id, float(points), names, check.__module__, check.__name__, about)
        hidden_tests.declare(test)

        @functools.wraps(check)
        def kept(*args, **kwargs):
            with kept_random_state():
                return check(*args, **kwargs)
        kept.hidden_test = test
        return kept
    return declare

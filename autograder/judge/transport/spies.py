"""What a check may hand the boundary besides data: spies, patched globals, and the guard.

- A *spy* is one of the grader's objects that records what the student's code does with it
  (the calls it got, the model's mode at each call). Its class is marked, by subclassing
  ``Spy`` or with the ``@spy`` decorator; after a call, the public attributes (names not
  starting with ``_``) of each spy among the call's roots come back and are applied to the
  grader's spy. Nothing else of the grader's own comes back: not a closure's cells, not the
  attributes of an unmarked object.
- ``patched_globals(function, **names)`` sets names in the student's globals for the calls made
  meanwhile (the judge sends them along with each call).
- ``check_crossing(roots)``, run by the judge before each call, refuses a check's object that
  the boundary cannot carry back (an unmarked object or a closure defined in an ``autograder.*``
  module): the check would silently see nothing of what the student's code did to it.
"""

from __future__ import annotations

import contextlib
import types

import torch

_MARK = "__transport_spy__"


def spy(cls: type) -> type:
    """Class decorator: instances of ``cls`` (and of its subclasses) are spies."""
    if not isinstance(cls, type):
        raise TypeError(f"transport.spy marks a class (got {cls!r}): record into the attributes "
                        "of an instance of a class marked with @spy, or of a Spy subclass")
    setattr(cls, _MARK, True)
    return cls


@spy
class Spy:
    """Base class of the grader's spies: their public attributes come back from each call (see
    the module's docstring). It adds no state and no methods, so it mixes into any class, an
    ``nn.Module`` included (``class StubEncoder(Spy, torch.nn.Module)``)."""


def is_spy(value) -> bool:
    return getattr(type(value), _MARK, False) is True


def public_attributes(value) -> dict:
    """A spy's attributes that travel: public names, and not a module's train/eval flag."""
    attributes = vars(value) if hasattr(value, "__dict__") else {}
    return {k: v for k, v in attributes.items()
            if isinstance(k, str) and not k.startswith("_")
            and not (k == "training" and isinstance(value, torch.nn.Module))}


@contextlib.contextmanager
def patched_globals(function, **names):
    """Set ``names`` in ``function``'s globals (the student's) for the calls made meanwhile;
    restore them afterwards, also on error.

    In the judge, ``function`` is its proxy for the student's function, whose ``__globals__``
    is a dict of patches sent along with each call; run outside the judge, it is the plain
    function and its real ``__globals__``. A callable without a ``__globals__`` dict (a callable
    object) is called without the patches, as it always was."""
    namespace = getattr(function, "__globals__", None)
    if not isinstance(namespace, dict):
        namespace = {}
    missing = object()
    saved = {name: namespace.get(name, missing) for name in names}
    try:
        namespace.update(names)
        yield namespace
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


# --------------------------------------------------------------------------------------------
# The guard


_CONTAINERS = (dict, list, tuple, set, frozenset)


def _defined_by_checks(module) -> bool:
    """Defined in the grader's own code: ``autograder.*``, but for the judge itself (its proxies
    for the student's code and what the transport rebuilt, a replayed schedule, pass as ever)."""
    return isinstance(module, str) and module.startswith("autograder.") \
        and not module.startswith("autograder.judge.")


def _root_label(name: str) -> str:
    if name == "self":
        return "the object whose method is called"
    if name == "globals":
        return "the patched globals"
    if name.startswith("kw:"):
        return f"keyword argument {name[3:]}"
    return f"argument {name}"


def check_crossing(roots: dict) -> None:
    """Raise a ``TypeError`` naming the first of the check's own objects among ``roots`` (the
    call's arguments, owner and patched globals, walked through containers, models' submodules
    and spies' attributes) that the boundary would not bring back: an object of a class defined
    in an ``autograder.*`` module that is not a spy, or such a closure. Plain functions (no
    closure cells) and everything the notebook or a library defined pass."""
    seen: set[int] = set()
    stack = [(value, _root_label(name)) for name, value in reversed(list(roots.items()))]
    while stack:
        value, where = stack.pop()
        if id(value) in seen or value is None or isinstance(value, (str, bytes, int, float)):
            continue
        seen.add(id(value))
        problem = _problem(value)
        if problem:
            raise TypeError(
                f"{where}: {_describe(value)} {problem}. What the student's code does to it in "
                "the sandbox would not come back. Record into a spy (subclass "
                "autograder.judge.transport.Spy, or mark the class with @transport.spy: its "
                "public attributes come back), and set the student's globals with "
                "transport.patched_globals")
        stack.extend(reversed(list(_children(value, where))))


def _problem(value) -> str | None:
    if is_spy(value) or isinstance(value, (torch.Tensor, torch.optim.Optimizer,
                                           torch.optim.lr_scheduler.LRScheduler)):
        return None
    if isinstance(value, types.FunctionType):
        if _defined_by_checks(value.__module__) and value.__closure__:
            return (f"is a closure defined in {value.__module__}, and closures' cells are not "
                    "synced back")
        return None
    if isinstance(value, types.MethodType):
        return None  # its __self__ is looked at in turn
    module = type(value).__module__
    if _defined_by_checks(module):
        return f"is an instance of {type(value).__qualname__}, defined in {module}, not a spy"
    return None


def _children(value, where: str):
    if isinstance(value, types.MethodType):
        yield value.__self__, f"{where} (bound to)"
    elif isinstance(value, torch.nn.Module):
        for name, module in value.named_modules():
            if name:
                yield module, f"{where}, submodule {name}"
    elif type(value) is dict:
        for key, item in value.items():
            yield item, f"{where}[{key!r}]"
    elif type(value) in (list, tuple):
        for index, item in enumerate(value):
            yield item, f"{where}[{index}]"
    elif type(value) in (set, frozenset):
        for item in value:
            yield item, f"{where} (an element)"
    elif is_spy(value):
        for key, item in public_attributes(value).items():
            yield item, f"{where}.{key}"


def _describe(value) -> str:
    name = getattr(value, "__qualname__", None)
    if isinstance(value, types.FunctionType) and isinstance(name, str):
        return f"the function {name}"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001
        text = f"<{type(value).__qualname__}>"
    return text if len(text) <= 120 else text[:117] + "..."

"""In the confined child: the student's answer cells, then one call, encoded as data.

The grader's process never initialises CUDA (a forked child could not use it then); each child
decides for itself, moves the models and tensors among its arguments to its device, and sends
everything back on the CPU (``autograder.judge.transport``).
"""

from __future__ import annotations

import ctypes
import inspect
import random
import sys
import time
import traceback
import types

import torch

from autograder.judge import memo, sandbox, transport


def call_in_child(answers, namespace, target, args, kwargs, roots, device_setting,
                  python_random=None) -> bytes:
    """In the confined child: run the student's answer cells, then the one call; encode what
    came of it. Everything arrives as arguments: the callers' frames are wiped first.
    ``python_random``: the judge's Python generator, which the fork reseeded: the student's
    code goes on from it, as in the notebook's kernel (NumPy's and torch's are the judge's)."""
    entered = time.monotonic()  # the same clock as the grader's: the confinement's cost
    try:  # the grader's own set-up: no code of the student's has run in this process yet
        # OpenMP's thread pool does not survive fork: one thread, or the child may hang.
        torch.set_num_threads(1)
        if python_random is not None:
            random.setstate(python_random)
        _scrub_grader_state()
        memo.pass_through()  # what the student's code calls is computed, never replayed
        before = {name: transport.plain_digest(value) for name, value in roots.items()}
        host, device = namespace.get("device", "cpu"), _child_device(device_setting)
        if device != host:  # the grader's objects are on its CPU: bring them to the device
            roots = {name: _onto(device, value) for name, value in roots.items()}
            args = tuple(roots[str(i)] for i in range(len(args)))
            kwargs = {name: roots[f"kw:{name}"] for name in kwargs}
            namespace["device"] = device  # the student's defaults (device=device) follow it
        # Indexed as the grader has them, before any code of the student's runs: what changes
        # from here on comes back, and each path leads where it does on the grader's side.
        changes = transport.Encoder(roots, transport.tensor_versions(roots), states=True)
    except BaseException as error:  # noqa: BLE001 - the grader's fault, reported as such
        return transport.dumps({"grader_error": f"{type(error).__name__}: {error}"[:4000]})
    sandbox.untrusted_code_starts()  # from here on, a failure may be the student's
    try:
        started = time.monotonic()
        for grade_id, source in answers:
            exec(compile(source, f"<your cell {grade_id}>", "exec"), namespace)  # noqa: S102
        cells_done = time.monotonic()
        namespace.update(roots.get("globals", {}))
        function = target(namespace)
        if device != host:
            _retarget_defaults(namespace, host, device)
            args, kwargs = _with_device(function, args, kwargs, host, device)
        call_started = time.monotonic()
        result = function(*args, **kwargs)
        called = time.monotonic()
        answer = {"result": transport.Encoder(roots).encode(result),
                  "roots": {name: _new_state(changes, name, value, before[name])
                            for name, value in roots.items()}}
        answer["clock"] = {"entered": entered, "answer cells": cells_done - started,
                           "call": called - call_started, "sent": time.monotonic()}
        return transport.dumps(answer)
    except BaseException as error:  # noqa: BLE001 - the student's error, reported as data
        return transport.dumps({"error": type(error).__name__, "message": str(error)[:4000],
                                "where": _student_frames(error)})


def _new_state(changes: transport.Encoder, name: str, value, before: bytes | None):
    """A root's state after the call; plain data that is as it was comes back as itself."""
    if before is not None and transport.plain_digest(value) == before:
        return {"__alias__": [name]}  # the grader's own copy stands
    changes.stated.add(id(value))  # its state is here: where it comes again, a reference
    return changes.encode(value, alias=False)


# --------------------------------------------------------------------------------------------
# The device a call computes on


def _child_device(setting: str) -> str:
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


def _onto(device: str, value):
    """``value`` with its models moved to ``device`` (in place: the same module) and its
    tensors copied there; containers are rebuilt only around what moved."""
    if isinstance(value, torch.nn.Module):
        return value.to(device)
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if type(value) in (list, tuple):
        moved = [_onto(device, item) for item in value]
        changed = any(a is not b for a, b in zip(moved, value))
        return type(value)(moved) if changed else value
    if type(value) is dict:
        moved = {key: _onto(device, item) for key, item in value.items()}
        return moved if any(moved[k] is not value[k] for k in value) else value
    return value


def _is_device(value, host: str) -> bool:
    return isinstance(value, (str, torch.device)) and str(value) == str(host)


def _retarget_defaults(namespace: dict, host: str, device: str) -> None:
    """Functions defined in the grader (provided cells) default to its device, ``device=device``
    evaluated there; here they default to the child's, as they would in the notebook."""
    for function in list(namespace.values()):
        if not isinstance(function, types.FunctionType):
            continue
        defaults = list(function.__defaults__ or ())
        positional = function.__code__.co_varnames[:function.__code__.co_argcount]
        for index, name in enumerate(positional[len(positional) - len(defaults):]):
            if name == "device" and _is_device(defaults[index], host):
                defaults[index] = device
        function.__defaults__ = tuple(defaults) if defaults else function.__defaults__
        if function.__kwdefaults__ and _is_device(function.__kwdefaults__.get("device"), host):
            function.__kwdefaults__ = {**function.__kwdefaults__, "device": device}


def _with_device(function, args: tuple, kwargs: dict, host: str, device: str):
    """The call's arguments with a ``device`` argument equal to the grader's replaced."""
    try:
        bound = inspect.signature(function).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):  # a wrong signature: the call itself will say so
        return args, kwargs
    if _is_device(bound.arguments.get("device"), host):
        bound.arguments["device"] = device
    return bound.args, bound.kwargs


def _scrub_grader_state() -> None:
    """In the child, before the student's code runs: forget what the grader's callers hold
    (their frames stay suspended in the forked copy; the child never returns to them) and the
    caches of reference solutions, so that nothing of them is left alive to find."""
    frame = sys._getframe(3)  # above this, task() and _child(): run_confined and its callers
    while frame is not None:
        if frame.f_code.co_flags & inspect.CO_OPTIMIZED:  # a function's frame, not a module's
            _forget_locals(frame)
        frame = frame.f_back
    for name, module in list(sys.modules.items()):
        if name.startswith("autograder"):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()
        if name.startswith("autograder.checks"):  # the hidden tests' code: not for import
            del sys.modules[name]


def _forget_locals(frame) -> None:
    """Drop a suspended frame's plain locals; variables shared with closures stay as they are."""
    code = frame.f_code
    shared = set(code.co_cellvars) | set(code.co_freevars)
    if sys.version_info >= (3, 13):  # PEP 667: f_locals is a write-through proxy, no deletion
        proxy = frame.f_locals
        for name in code.co_varnames:
            if name not in shared and name in proxy:
                proxy[name] = None
        return
    names = frame.f_locals  # a snapshot dict, written back (its missing names deleted) below
    kept = {name: names[name] for name in shared if name in names}
    names.clear()
    names.update(kept)
    ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(1))


def _student_frames(error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if f.filename.startswith("<your cell")]
    return "".join(traceback.format_list(frames[-3:]))

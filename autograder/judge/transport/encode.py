"""Child side: encode a call's outcome (the result, the arguments' new state) into plain data.

What the ``Encoder`` makes holds only ``None``, bools, ints, floats, strings, tensors and
dicts and lists of them (``torch.save``d by ``dumps``); each value that is not plain data is a
dict with one tag saying what it was (``__tensor__``, ``__module__``, ``__alias__``...), read
back by ``autograder.judge.transport.decode``.
"""

from __future__ import annotations

import hashlib
import io
import pickle

import numpy as np
import torch

from autograder.judge.transport.optimizers import encode_optimizer, encode_scheduler
from autograder.judge.transport.spies import is_spy, public_attributes


def tensor_versions(roots: dict) -> dict:
    """The tensors of every model among the arguments, with their version counters, taken
    before the student's call: afterwards only the tensors that changed need to travel back
    (a model has millions of weights; most calls change none of them)."""
    return {id(module): {name: _version(t) for name, t in module.state_dict().items()}
            for module in _modules_in(list(roots.values()), set())}


PLAIN = (type(None), bool, int, float, str)


def plain_digest(value) -> bytes | None:
    """A digest of ``value``'s content where it is plain data (None, bools, numbers, strings
    and lists, tuples and dicts of them, of exactly these types), else None. Taken before and
    after the student's call: an argument with the same digest has not changed, and need not
    travel back (a KB or a list of results is megabytes to encode, send and apply)."""
    if not _is_plain(value, set(), 0):
        return None
    # Exact built-in types only, so pickling runs no code of the student's.
    return hashlib.sha256(pickle.dumps(value, protocol=5)).digest()


def _is_plain(value, seen: set, depth: int) -> bool:
    kind = type(value)
    if kind in PLAIN:
        return True
    if depth > 60 or kind not in (list, tuple, dict):
        return False
    if id(value) in seen:  # shared: looked at once
        return True
    seen.add(id(value))
    if kind is dict:
        return all(type(key) in PLAIN and _is_plain(item, seen, depth + 1)
                   for key, item in value.items())
    return all(_is_plain(item, seen, depth + 1) for item in value)


def _modules_in(value, seen: set) -> list:
    """Models in containers and in the grader's spies, depth first."""
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, torch.nn.Module):
        return [value]
    if type(value) is dict:
        children = list(value.values())
    elif type(value) in (list, tuple, set, frozenset):
        children = list(value)
    elif is_spy(value):
        children = list(public_attributes(value).values())
    else:
        return []
    return [module for child in children for module in _modules_in(child, seen)]


def _version(tensor) -> tuple:
    return tensor.data_ptr(), tensor._version, tuple(tensor.shape)


class Encoder:
    def __init__(self, roots: dict, versions: dict | None = None, states: bool = False):
        """``roots``: name -> object (the call's arguments); objects inside them become aliases.
        ``versions``: from ``tensor_versions()``; models then carry only what changed.
        ``states``: for the arguments' new state, indexed before the call: an object that was
        there before comes back as itself (``__same__``) with its new content, so the grader's
        copy keeps its identity wherever the student moved it; its content travels once, where
        it first comes (a model that is an argument and in a spy's records: one copy)."""
        self.stated: set[int] = set()  # objects whose new state this answer already holds
        self.paths: dict[int, tuple] = {}
        self.parameters: dict[int, tuple] = {}
        self.objects: dict[tuple, object] = {}  # path -> object: the decoder's side of paths
        self.versions, self.states = versions or {}, states
        for name, value in roots.items():
            self._index(value, (name,))

    def _index(self, value, path: tuple) -> None:
        if value is None or isinstance(value, (str, bytes, int, float, bool)) \
                or id(value) in self.paths:
            return
        self.paths[id(value)] = path
        self.objects[path] = value
        if isinstance(value, torch.nn.Module):
            for name, parameter in value.named_parameters(remove_duplicate=False):
                self.parameters.setdefault(id(parameter), path + (name,))
        elif type(value) is dict:
            for key, item in value.items():
                self._index(item, path + (key,))
        elif type(value) in (list, tuple):
            for index, item in enumerate(value):
                self._index(item, path + (index,))

    def encode(self, value, alias: bool = True, depth: int = 0):
        if depth > 60:
            return {"__opaque__": "nesting", "text": "nested too deeply"}
        if alias and id(value) in self.parameters:
            return {"__parameter__": list(self.parameters[id(value)])}
        if alias and id(value) in self.paths:
            path = list(self.paths[id(value)])
            if not self.states:
                return {"__alias__": path}
            if id(value) in self.stated:
                return {"__same__": path}
            self.stated.add(id(value))
            return {"__same__": path, "state": self.encode(value, alias=False, depth=depth + 1)}
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            return float(value)
        if isinstance(value, torch.Tensor):
            tensor = value.detach().cpu().clone()
            return {"__tensor__": tensor, "requires_grad": bool(value.requires_grad),
                    "grad_fn": value.grad_fn is not None, "device": str(value.device)}
        if isinstance(value, np.ndarray) and value.dtype != object:
            return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(value))}
        if isinstance(value, torch.nn.Module):
            before = self.versions.get(id(value), {})
            return {"__module__": {k: v.detach().cpu().clone()
                                   for k, v in value.state_dict().items()
                                   if before.get(k) != _version(v)},
                    "type": type(value).__name__, "attrs": self._spy_modules(value)}
        if isinstance(value, torch.optim.Optimizer):
            return encode_optimizer(self, value)
        if isinstance(value, torch.optim.lr_scheduler.LRScheduler):
            return encode_scheduler(value)
        if type(value) is dict:
            keys = list(value)
            if all(isinstance(k, (str, int, float, bool)) or k is None for k in keys):
                return {"__dict__": [[k, self.encode(value[k], depth=depth + 1)] for k in keys]}
        if type(value) in (list, tuple):
            items = [self.encode(item, depth=depth + 1) for item in value]
            return {"__list__": items} if type(value) is list else {"__tuple__": items}
        if type(value) in (set, frozenset):
            return {"__set__": [self.encode(item, depth=depth + 1) for item in value]}
        if is_spy(value):
            return {"__attrs__": [[k, self.encode(v, depth=depth + 1)]
                                  for k, v in public_attributes(value).items()]}
        return {"__opaque__": type(value).__name__, "text": _short_repr(value)}

    def _spy_modules(self, module) -> dict:
        """What the spies among a model's modules recorded (e.g. the calls a stub encoder saw):
        submodule path -> its public attributes."""
        recorded = {}
        for path, submodule in module.named_modules():
            if is_spy(submodule):
                recorded[path] = {"__dict__": [
                    [k, self.encode(v, depth=1)] for k, v in public_attributes(submodule).items()]}
        return recorded


def _short_repr(value) -> str:
    try:
        return repr(value)[:200]
    except Exception:  # noqa: BLE001
        return "?"


def dumps(value) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()

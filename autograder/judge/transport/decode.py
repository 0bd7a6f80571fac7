"""Grader side: read what the child sent (``loads``) and rebuild it (``Decoder``).

``torch.load(weights_only=True)`` builds nothing but containers, numbers, strings and tensors,
so bytes from the student's process can never run code in the grader. The ``Decoder`` then
turns the tags the child's ``Encoder`` wrote back into objects: aliases and parameters into the
grader's own objects (looked up by path among the call's roots), models' and spies' new state
into ``ModuleState`` and ``SpyState`` (for ``update_in_place``), optimizers and schedulers into
ones over the grader's parameters, and anything else into an ``Opaque`` stand-in.
"""

from __future__ import annotations

import io

import torch

from autograder.judge.transport.encode import Encoder
from autograder.judge.transport.optimizers import (ScheduleRecord, bind_schedules,
                                                   rebuild_optimizer)
from autograder.judge.transport.sync import ModuleState, SpyState, update_in_place


class Opaque:
    """Stands in for a returned object the grader cannot carry over (a generator, a socket...)."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self):
        return f"<{self.type_name} object from the student's code: {self.text}>"


def loads(data: bytes):
    return torch.load(io.BytesIO(data), weights_only=True)


class Decoder:
    def __init__(self, roots: dict):
        """``roots``: the grader's objects the call was given, as they were before it."""
        self.roots = roots
        # Where each object was before the call, as the child's Encoder indexed it: applying
        # one object's new state must not change what a later ``__same__`` path leads to.
        self.before = Encoder(roots).objects

    def resolve(self, path: list):
        """The object at ``path`` in the roots as they are now (the result, decoded after the
        roots' new state is applied, points into them as the child left them)."""
        value = self.roots[path[0]]
        for key in path[1:]:
            value = value[key]
        return value

    def original(self, path: list):
        """The object that was at ``path`` in the roots before the call."""
        found = self.before.get(tuple(path))
        return self.resolve(path) if found is None else found

    def parameter(self, path: list):
        owner = self.resolve(path[:-1])
        return dict(owner.named_parameters(remove_duplicate=False))[path[-1]]

    def decode(self, value):
        if not isinstance(value, dict):
            return value
        if "__alias__" in value:
            return self.resolve(value["__alias__"])
        if "__same__" in value:
            same = self.original(value["__same__"])
            if "state" in value:  # else its state came where it first appeared
                update_in_place(same, self.decode(value["state"]))
            return same
        if "__parameter__" in value:
            return self.parameter(value["__parameter__"])
        if "__tensor__" in value:
            tensor = value["__tensor__"]  # on the CPU: the grader never initialises CUDA
            if value["requires_grad"] and tensor.is_floating_point():
                tensor.requires_grad_(True)
                if value.get("grad_fn"):  # it was computed from the parameters, not a leaf
                    tensor = tensor.clone()
            return tensor
        if "__ndarray__" in value:
            return value["__ndarray__"].numpy()
        if "__dict__" in value:
            return {k: self.decode(v) for k, v in value["__dict__"]}
        if "__list__" in value:
            return [self.decode(v) for v in value["__list__"]]
        if "__tuple__" in value:
            return bind_schedules(tuple(self.decode(v) for v in value["__tuple__"]))
        if "__set__" in value:
            return {self.decode(v) for v in value["__set__"]}
        if "__optimizer__" in value:
            optimizer = rebuild_optimizer(self, value)
            if optimizer is None:
                return Opaque(value["__optimizer__"], "an optimizer that is not from torch.optim")
            return optimizer
        if "__scheduler__" in value:
            return ScheduleRecord(value["__scheduler__"], value["rates"], value["last_epoch"])
        if "__module__" in value:
            return ModuleState({**value, "attrs": {path: self._attributes(attributes["__dict__"])
                                                   for path, attributes in value["attrs"].items()}})
        if "__attrs__" in value:
            return SpyState(self._attributes(value["__attrs__"]))
        if "__opaque__" in value:
            return Opaque(value["__opaque__"], value["text"])
        return value

    def _attributes(self, pairs: list) -> dict:
        """A spy's attributes; one the child could not send leaves the grader's as it is."""
        attributes = {k: self.decode(v) for k, v in pairs}
        return {k: v for k, v in attributes.items() if not isinstance(v, Opaque)}

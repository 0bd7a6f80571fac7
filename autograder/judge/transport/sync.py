"""Grader side: apply the new state of the call's arguments to the grader's own objects.

``update_in_place(target, source)`` makes ``target`` (one of the call's roots, an object of the
grader's) equal to ``source`` (what ``Decoder`` made of its new state), keeping the identity of
``target``: a list the student appended to is the same list with one more item; a model it
trained has its own tensors overwritten; a spy's public attributes are updated. What a root's
containers hold is put in place as it came: every object that was among the roots before the
call comes back as the grader's own, with its new content (``__same__``), wherever the student
moved it; anything else is new. (Putting an item's content into whatever object held its place
before would rewrite that object: a passage of the KB that an example pointed at, when the
example now points at another.)
"""

from __future__ import annotations

import torch

from autograder.judge.transport.spies import is_spy


class ModuleState(dict):
    """A model's new state: ``"__module__"``, the state_dict entries that changed; ``"attrs"``,
    submodule path -> the public attributes of that submodule, where it is a spy."""


class SpyState:
    """New public attributes for one of the grader's spies (what cannot cross left out)."""

    def __init__(self, attributes: dict):
        self.attributes = attributes


def update_in_place(target, source) -> None:
    """Make the grader's ``target`` equal to ``source`` (its new value from the child), keeping
    the identity of ``target`` and, where the shapes agree, of what it contains."""
    if target is source:
        return
    if isinstance(source, SpyState):
        if is_spy(target) and hasattr(target, "__dict__"):
            _update_attributes(vars(target), source.attributes)
    elif isinstance(target, torch.nn.Module) and isinstance(source, ModuleState):
        own = target.state_dict()
        with torch.no_grad():
            for name, tensor in source["__module__"].items():
                if name in own and own[name].shape == tensor.shape:
                    own[name].copy_(tensor.to(own[name].device))
        modules = dict(target.named_modules())
        for path, attributes in source.get("attrs", {}).items():
            if path in modules and is_spy(modules[path]):
                _update_attributes(vars(modules[path]), attributes)
    elif isinstance(target, torch.Tensor) and isinstance(source, torch.Tensor):
        if target.shape == source.shape:
            with torch.no_grad():
                target.copy_(source.to(target.device))
    elif isinstance(target, list) and isinstance(source, list):
        if len(target) != len(source):
            target[:] = source
            return
        for index, item in enumerate(source):
            _put(target, index, item)
    elif isinstance(target, dict) and isinstance(source, dict):
        for key in [k for k in target if k not in source]:
            del target[key]
        for key, item in source.items():
            if key in target:
                _put(target, key, item)
            else:
                target[key] = item


def _put(container, key, item) -> None:
    """``item`` in its place: what was among the roots before comes as the grader's own object
    (``__same__``), so it goes there as it is; only the new state of a model or spy that was not
    (one that a spy's records held) goes into the object already in that place."""
    if isinstance(item, (SpyState, ModuleState)):
        update_in_place(container[key], item)
    elif container[key] is not item:
        container[key] = item


def _update_attributes(own: dict, attributes: dict) -> None:
    """A spy's attributes: containers and models updated in place, other values replaced."""
    for key, value in attributes.items():
        if key in own and _updates(own[key], value):
            update_in_place(own[key], value)
        else:
            own[key] = value


def _updates(target, item) -> bool:
    """Whether ``item`` is new state for the object ``target`` rather than a replacement."""
    return isinstance(item, (SpyState, ModuleState)) or (
        isinstance(target, (list, dict)) and type(item) is type(target))

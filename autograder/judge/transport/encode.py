"""Data across the sandbox boundary: what a student's function returned, and what it changed.

The confined child encodes a call's outcome into plain containers, numbers, strings and
tensors, serialised with ``torch.save``; the grader reads it back with
``torch.load(weights_only=True)``, which builds nothing but those types, so bytes from the
student's process can never run code in the grader. Three things keep the checks meaningful:

- *aliases*: an object that is (part of) an argument comes back as a path into the arguments,
  so ``result is data`` or "the model passed in" still hold on the grader's side;
- *changes to the arguments* come back too and are applied in place to the grader's objects
  (a list the function appended to, a model it trained);
- an optimizer and its learning-rate scheduler come back as an optimizer of the same class over
  the grader's own parameters, and a schedule that replays the learning rates they would set.
"""

from __future__ import annotations

import copy
import io

import numpy as np
import torch

RECORDED_STEPS = 1000  # a scheduler's rates are replayed this far (then the last one holds)


class Opaque:
    """Stands in for a returned object the grader cannot carry over (a generator, a socket...)."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self):
        return f"<{self.type_name} object from the student's code: {self.text}>"


class ReplayedSchedule(torch.optim.lr_scheduler.LRScheduler):
    """Sets each group's learning rate to the one the student's scheduler set at that step."""

    def __init__(self, optimizer, rates: list[list[float]], class_name: str):
        self.rates, self.class_name = rates, class_name
        super().__init__(optimizer)

    def get_lr(self):
        step = min(self.last_epoch, len(self.rates) - 1)
        return list(self.rates[step])


# ------------------------------------------------------------------------------------------
# Child side: encode


def tensor_versions(roots: dict) -> dict:
    """The tensors of every model among the arguments, with their version counters, taken
    before the student's call: afterwards only the tensors that changed need to travel back
    (a model has millions of weights; most calls change none of them)."""
    return {id(module): {name: _version(t) for name, t in module.state_dict().items()}
            for module in _modules_in(list(roots.values()), set())}


def _modules_in(value, seen: set) -> list:
    """Models in containers, and in the grader's own closures and spies, depth first."""
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, torch.nn.Module):
        return [value]
    if type(value) is dict:
        children = list(value.values())
    elif type(value) in (list, tuple, set, frozenset):
        children = list(value)
    elif _is_instructors(value) and hasattr(value, "__code__"):
        children = [c.cell_contents for c in value.__closure__ or () if _filled(c)]
    elif _is_instructors(value):
        children = list(getattr(value, "__dict__", {}).values())
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
        copy keeps its identity wherever the student moved it."""
        self.paths: dict[int, tuple] = {}
        self.parameters: dict[int, tuple] = {}
        self.versions, self.states = versions or {}, states
        for name, value in roots.items():
            self._index(value, (name,))

    def _index(self, value, path: tuple) -> None:
        if value is None or isinstance(value, (str, bytes, int, float, bool)) \
                or id(value) in self.paths:
            return
        self.paths[id(value)] = path
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
                    "type": type(value).__name__, "attrs": self._instructor_attributes(value)}
        if isinstance(value, torch.optim.Optimizer):
            return self._optimizer(value)
        if isinstance(value, torch.optim.lr_scheduler.LRScheduler):
            return self._scheduler(value)
        if type(value) is dict:
            keys = list(value)
            if all(isinstance(k, (str, int, float, bool)) or k is None for k in keys):
                return {"__dict__": [[k, self.encode(value[k], depth=depth + 1)] for k in keys]}
        if type(value) in (list, tuple):
            items = [self.encode(item, depth=depth + 1) for item in value]
            return {"__list__": items} if type(value) is list else {"__tuple__": items}
        if type(value) in (set, frozenset):
            return {"__set__": [self.encode(item, depth=depth + 1) for item in value]}
        if _is_instructors(value):
            return self._instructor_state(value, depth)
        return {"__opaque__": type(value).__name__, "text": _short_repr(value)}

    def _instructor_state(self, value, depth: int) -> dict:
        """The state of the grader's own spies and recording closures, to update the originals."""
        if callable(value) and hasattr(value, "__code__"):
            cells = [cell.cell_contents if _filled(cell) else None
                     for cell in value.__closure__ or ()]
            return {"__closure__": [self.encode(c, depth=depth + 1) for c in cells]}
        attributes = vars(value) if hasattr(value, "__dict__") else {}
        return {"__attrs__": [[k, self.encode(v, depth=depth + 1)] for k, v in attributes.items()
                              if isinstance(k, str) and not k.startswith("_")]}

    def _instructor_attributes(self, module) -> dict:
        """What the grader's own test modules recorded (e.g. the calls a stub encoder saw)."""
        recorded = {}
        for path, submodule in module.named_modules():
            if type(submodule).__module__.startswith("autograder."):
                recorded[path] = {"__dict__": [
                    [k, self.encode(v, depth=1)] for k, v in vars(submodule).items()
                    if not k.startswith("_") and k != "training"]}
        return recorded

    def _optimizer(self, optimizer) -> dict:
        groups = []
        for group in optimizer.param_groups:
            options = {k: self.encode(v, alias=False) for k, v in group.items() if k != "params"}
            groups.append({"params": [self.encode(p) for p in group["params"]],
                           "options": {"__dict__": [[k, v] for k, v in options.items()]}})
        steps = [[_step(optimizer.state.get(p)) for p in group["params"]]
                 for group in optimizer.param_groups]
        return {"__optimizer__": type(optimizer).__name__, "module": type(optimizer).__module__,
                "groups": groups, "steps": steps}

    def _scheduler(self, scheduler) -> dict:
        """The rates the scheduler would set from now on, found by stepping a copy of it."""
        rates = []
        try:
            twin = copy.deepcopy(scheduler)  # stepping the copy leaves the student's alone
            for _ in range(RECORDED_STEPS + 1):
                rates.append([float(group["lr"]) for group in twin.optimizer.param_groups])
                _step_quietly(twin)
        except Exception as error:  # noqa: BLE001 - the student's scheduler may be anything
            return {"__opaque__": type(scheduler).__name__,
                    "text": f"could not be stepped: {error}"}
        return {"__scheduler__": type(scheduler).__name__, "rates": rates,
                "last_epoch": int(getattr(scheduler, "last_epoch", 0))}


def _is_instructors(value) -> bool:
    """Defined in the grader's own modules (a student's class may claim that module name,
    but what comes back is data all the same and only updates the grader's own objects)."""
    module = getattr(value, "__module__", None) if callable(value) and hasattr(value, "__code__") \
        else type(value).__module__
    return isinstance(module, str) and module.startswith("autograder.")


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
        return True
    except ValueError:
        return False


def _short_repr(value) -> str:
    try:
        return repr(value)[:200]
    except Exception:  # noqa: BLE001
        return "?"


def _step(state) -> float | None:
    """How many steps the optimizer took for one parameter (None: it has no state yet)."""
    step = state.get("step") if isinstance(state, dict) else None
    try:
        return None if step is None else float(step)
    except (TypeError, ValueError, RuntimeError):
        return None


def _step_quietly(scheduler) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler.step()


def dumps(value) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------
# Grader side: decode


def loads(data: bytes):
    return torch.load(io.BytesIO(data), weights_only=True)


class Decoder:
    def __init__(self, roots: dict):
        self.roots = roots

    def resolve(self, path: list):
        value = self.roots[path[0]]
        for key in path[1:]:
            value = value[key]
        return value

    def parameter(self, path: list):
        owner = self.resolve(path[:-1])
        return dict(owner.named_parameters(remove_duplicate=False))[path[-1]]

    def decode(self, value):
        if not isinstance(value, dict):
            return value
        if "__alias__" in value:
            return self.resolve(value["__alias__"])
        if "__same__" in value:  # resolved before anything above it changes (depth first)
            same = self.resolve(value["__same__"])
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
            return _bind_schedules(tuple(self.decode(v) for v in value["__tuple__"]))
        if "__set__" in value:
            return {self.decode(v) for v in value["__set__"]}
        if "__optimizer__" in value:
            return self._optimizer(value)
        if "__scheduler__" in value:
            return ScheduleRecord(value["__scheduler__"], value["rates"], value["last_epoch"])
        if "__module__" in value:
            return ModuleState(value)
        if "__closure__" in value:
            return InstructorState(closure=[self.decode(v) for v in value["__closure__"]])
        if "__attrs__" in value:
            return InstructorState(attributes={k: self.decode(v) for k, v in value["__attrs__"]})
        if "__opaque__" in value:
            return Opaque(value["__opaque__"], value["text"])
        return value

    def _optimizer(self, value):
        module = torch.optim if value["module"].startswith("torch.optim") else None
        cls = getattr(module, value["__optimizer__"], None) if module else None
        if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
            return Opaque(value["__optimizer__"], "an optimizer that is not from torch.optim")
        groups = []
        for group in value["groups"]:
            options = self.decode(group["options"])
            options.pop("initial_lr", None) if "initial_lr" not in options else None
            groups.append({"params": [self.decode(p) for p in group["params"]], **options})
        optimizer = cls.__new__(cls)
        torch.optim.Optimizer.__init__(optimizer, [{"params": g["params"]} for g in groups],
                                       {k: v for k, v in groups[0].items() if k != "params"}
                                       if groups else {})
        for target, group, steps in zip(optimizer.param_groups, groups, value["steps"]):
            target.update({k: v for k, v in group.items() if k != "params"})
            for parameter, step in zip(target["params"], steps):
                if step is not None:
                    optimizer.state[parameter] = {"step": torch.tensor(step)}
        return optimizer


class ModuleState(dict):
    """A model's new state_dict (and what the grader's stub modules recorded)."""


class InstructorState:
    """New state for one of the grader's spies (``attributes``) or closures (``closure``)."""

    def __init__(self, attributes: dict | None = None, closure: list | None = None):
        self.attributes, self.closure = attributes, closure


class ScheduleRecord:
    """A scheduler that came back without its optimizer: how far it had stepped, its rates."""

    def __init__(self, class_name: str, rates: list, last_epoch: int):
        self.class_name, self.rates, self.last_epoch = class_name, rates, last_epoch


def _bind_schedules(items: tuple) -> tuple:
    """In (optimizer, scheduler), the scheduler drives that optimizer, as it did in the child."""
    optimizers = [item for item in items if isinstance(item, torch.optim.Optimizer)]
    if len(optimizers) != 1:
        return items
    return tuple(_replay(optimizers[0], item) if isinstance(item, ScheduleRecord) else item
                 for item in items)


def _replay(optimizer, record: ScheduleRecord) -> ReplayedSchedule:
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])
    schedule = ReplayedSchedule(optimizer, record.rates, record.class_name)
    schedule.last_epoch = record.last_epoch
    for group, rate in zip(optimizer.param_groups, record.rates[0]):
        group["lr"] = rate
    return schedule



def update_in_place(target, source) -> None:
    """Make the grader's ``target`` equal to ``source`` (its new value from the child), keeping
    the identity of ``target`` and, where the shapes agree, of what it contains."""
    if target is source:
        return
    if isinstance(source, InstructorState):
        _update_instructor_object(target, source)
    elif isinstance(target, torch.nn.Module) and isinstance(source, ModuleState):
        state = source["__module__"]
        own = target.state_dict()
        with torch.no_grad():
            for name, tensor in state.items():
                if name in own and own[name].shape == tensor.shape:
                    own[name].copy_(tensor.to(own[name].device))
        modules = dict(target.named_modules())
        for path, attributes in source.get("attrs", {}).items():
            if path in modules and type(modules[path]).__module__.startswith("autograder."):
                own_attributes = vars(modules[path])
                for key, value in Decoder({}).decode(attributes).items():
                    if key in own_attributes and _updates(own_attributes[key], value):
                        update_in_place(own_attributes[key], value)
                    else:
                        own_attributes[key] = value
    elif isinstance(target, torch.Tensor) and isinstance(source, torch.Tensor):
        if target.shape == source.shape:
            with torch.no_grad():
                target.copy_(source.to(target.device))
    elif isinstance(target, list) and isinstance(source, list):
        if len(target) == len(source):
            for index, item in enumerate(source):
                if _updates(target[index], item):
                    update_in_place(target[index], item)
                elif target[index] is not item:
                    target[index] = item
        else:
            target[:] = source
    elif isinstance(target, dict) and isinstance(source, dict):
        for key in [k for k in target if k not in source]:
            del target[key]
        for key, item in source.items():
            if key in target and _updates(target[key], item):
                update_in_place(target[key], item)
            else:
                target[key] = item


def _updates(target, item) -> bool:
    """Whether ``item`` is new state for the object ``target`` rather than a replacement."""
    return isinstance(item, (InstructorState, ModuleState)) or (
        _container(target) and type(item) is type(target))


def _update_instructor_object(target, source: InstructorState) -> None:
    if not _is_instructors(target):
        return
    if source.closure is not None:
        for cell, value in zip(getattr(target, "__closure__", None) or (), source.closure):
            if _filled(cell) and not callable(cell.cell_contents):
                update_in_place(cell.cell_contents, value)
    elif source.attributes is not None and hasattr(target, "__dict__"):
        own = vars(target)
        for key, value in source.attributes.items():
            if key in own and (_container(own[key]) or isinstance(value, InstructorState)):
                update_in_place(own[key], value)


def _container(value) -> bool:
    return isinstance(value, (list, dict))


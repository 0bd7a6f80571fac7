"""Optimizers and learning-rate schedulers across the boundary.

Neither can be sent as it is (an optimizer holds the child's parameters, a scheduler its
optimizer and the student's code). An optimizer travels as its class name, its groups' options,
its parameters (as paths into the arguments) and how many steps each took; the grader rebuilds
one of the same ``torch.optim`` class over its own parameters. A scheduler travels as the rates
it would set at each of the next ``RECORDED_STEPS`` steps (found by stepping a copy of it in
the child); when it comes back next to its optimizer, in a tuple ``(optimizer, scheduler)``, the
grader gets a ``ReplayedSchedule`` that drives the rebuilt optimizer through those rates.
"""

from __future__ import annotations

import copy
import warnings

import torch

RECORDED_STEPS = 1000  # a scheduler's rates are replayed this far (then the last one holds)


class ReplayedSchedule(torch.optim.lr_scheduler.LRScheduler):
    """Sets each group's learning rate to the one the student's scheduler set at that step."""

    def __init__(self, optimizer, rates: list[list[float]], class_name: str):
        self.rates, self.class_name = rates, class_name
        super().__init__(optimizer)

    def get_lr(self):
        step = min(self.last_epoch, len(self.rates) - 1)
        return list(self.rates[step])


# ------------------------------------------------------------------------------------------
# Child side


def encode_optimizer(encoder, optimizer) -> dict:
    """``encoder``: the call's ``Encoder``, which turns parameters into paths."""
    groups = []
    for group in optimizer.param_groups:
        options = {k: encoder.encode(v, alias=False) for k, v in group.items() if k != "params"}
        groups.append({"params": [encoder.encode(p) for p in group["params"]],
                       "options": {"__dict__": [[k, v] for k, v in options.items()]}})
    steps = [[_step(optimizer.state.get(p)) for p in group["params"]]
             for group in optimizer.param_groups]
    return {"__optimizer__": type(optimizer).__name__, "module": type(optimizer).__module__,
            "groups": groups, "steps": steps}


def encode_scheduler(scheduler) -> dict:
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


def _step(state) -> float | None:
    """How many steps the optimizer took for one parameter (None: it has no state yet)."""
    step = state.get("step") if isinstance(state, dict) else None
    try:
        return None if step is None else float(step)
    except (TypeError, ValueError, RuntimeError):
        return None


def _step_quietly(scheduler) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler.step()


# ------------------------------------------------------------------------------------------
# Grader side


def rebuild_optimizer(decoder, value: dict):
    """An optimizer of the student's ``torch.optim`` class over the grader's parameters (paths
    resolved by ``decoder``), its options and step counts restored; None for a class from
    elsewhere (the caller returns it as opaque)."""
    module = torch.optim if value["module"].startswith("torch.optim") else None
    cls = getattr(module, value["__optimizer__"], None) if module else None
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        return None
    groups = []
    for group in value["groups"]:
        options = decoder.decode(group["options"])
        options.pop("initial_lr", None) if "initial_lr" not in options else None
        groups.append({"params": [decoder.decode(p) for p in group["params"]], **options})
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


class ScheduleRecord:
    """A scheduler that came back without its optimizer: how far it had stepped, its rates."""

    def __init__(self, class_name: str, rates: list, last_epoch: int):
        self.class_name, self.rates, self.last_epoch = class_name, rates, last_epoch


def bind_schedules(items: tuple) -> tuple:
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

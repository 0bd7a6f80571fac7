"""Hidden checks for notebook 04: ``configure_optimization`` (the AdamW groups, the schedule)."""

from __future__ import annotations

import math

import torch

from autograder.checks import hidden_test
from autograder.checks.training.harness import isolated, ref


def _expected_decay(model, weight_decay: float) -> dict:
    """id(parameter) -> (name, expected weight decay)."""
    layer_norm_weights = {id(module.weight) for module in model.modules()
                          if isinstance(module, torch.nn.LayerNorm)}
    expected = {}
    for name, parameter in model.named_parameters():  # a shared parameter once
        no_decay = name.endswith("bias") or id(parameter) in layer_norm_weights
        expected[id(parameter)] = (name, 0.0 if no_decay else weight_decay)
    return expected


def _names(names: list, limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _configure(configure_optimization, model, adamw: bool = True, **arguments):
    result = configure_optimization(model, **arguments)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise AssertionError("configure_optimization must return the pair (optimizer, scheduler), "
                             f"got {type(result).__name__}")
    optimizer, scheduler = result
    assert isinstance(optimizer, torch.optim.AdamW if adamw else torch.optim.Optimizer), (
        f"expected a torch.optim.AdamW optimizer, got {type(optimizer).__name__}"
        + (" (Adam's weight_decay is an L2 penalty, not decoupled decay)"
           if isinstance(optimizer, torch.optim.Adam) else ""))
    if not hasattr(scheduler, "step"):
        raise AssertionError("the second value returned must be the learning-rate scheduler, "
                             f"got {type(scheduler).__name__}")
    return optimizer, scheduler


@hidden_test("test_optimizer_groups", points=1, on="configure_optimization")
def optimizer_groups(configure_optimization) -> None:
    """AdamW groups on a model with tied encoders; every parameter once, with the right decay.

    AdamW; every parameter in exactly one group; no decay on biases and LayerNorm weights."""
    weight_decay, lr = 0.07, 3e-4
    with isolated():
        for tie in (False, True):
            label = "tied encoders (query_encoder is passage_encoder)" if tie else "two encoders"
            model = ref()["make_distilbert_dual_encoder"](tie_encoders=tie)
            try:
                optimizer, _ = _configure(configure_optimization, model, num_train_steps=50,
                                          num_warmup_steps=5, lr=lr, weight_decay=weight_decay)
            except ValueError as error:
                if "more than one parameter group" in str(error):
                    raise AssertionError(
                        f"with {label}, some parameters go into both groups ({error}). "
                        "Iterate over model.named_parameters(), which lists a shared parameter "
                        "once, rather than over each encoder's parameters") from error
                raise
            expected = _expected_decay(model, weight_decay)
            seen, duplicates, foreign, wrong_lr = {}, [], 0, []
            for group in optimizer.param_groups:
                group_lr = group.get("initial_lr", group["lr"])
                for parameter in group["params"]:
                    key = id(parameter)
                    if key not in expected:
                        foreign += 1
                        continue
                    if key in seen:
                        duplicates.append(expected[key][0])
                    seen[key] = group["weight_decay"]
                    if not math.isclose(group_lr, lr, rel_tol=1e-9):
                        wrong_lr.append((expected[key][0], group_lr))
            if duplicates:
                raise AssertionError(
                    f"with {label}, {len(duplicates)} parameter(s) appear in the optimizer more "
                    f"than once: {_names(duplicates)}. Iterate over model.named_parameters(), "
                    "which lists a shared parameter once")
            if foreign:
                raise AssertionError(f"{foreign} tensor(s) in the optimizer are not parameters "
                                     "of the model passed in")
            left_out = [name for key, (name, _) in expected.items() if key not in seen]
            if left_out:
                raise AssertionError(f"with {label}, {len(left_out)} parameter(s) are in no group, "
                                     f"so they would never be trained: {_names(left_out)}")
            if wrong_lr:
                name, got = wrong_lr[0]
                raise AssertionError(f"learning rate of {name}'s group is {got:g}, expected the "
                                     f"lr argument {lr:g}")
            _check_decay(expected, seen, weight_decay, label)


def _check_decay(expected: dict, seen: dict, weight_decay: float, label: str) -> None:
    decays_wrongly, spared_wrongly = [], []
    for key, (name, want) in expected.items():
        got = seen[key]
        if math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
            continue
        (decays_wrongly if want == 0.0 else spared_wrongly).append((name, got))
    if not decays_wrongly and not spared_wrongly:
        return
    problems = []
    if decays_wrongly:
        names = [name for name, _ in decays_wrongly]
        problem = (f"{len(names)} parameter(s) decay (weight_decay {decays_wrongly[0][1]:g}) that "
                   f"should not: {_names(names)}")
        if all("sa_layer_norm.weight" in n or "output_layer_norm.weight" in n for n in names):
            problem += (". The name test 'LayerNorm.weight' misses sa_layer_norm and "
                        "output_layer_norm: find the torch.nn.LayerNorm modules instead (e.g. "
                        "with model.named_modules())")
        elif all(n.endswith("bias") for n in names):
            problem += ". Biases get weight_decay 0"
        elif all("norm" in n.lower() and n.endswith("weight") for n in names):
            problem += ". Every LayerNorm weight gets weight_decay 0"
        problems.append(problem)
    if spared_wrongly:
        names = [name for name, _ in spared_wrongly]
        values = _names([f"{value:g}" for value in sorted({got for _, got in spared_wrongly})])
        problems.append(f"{len(names)} parameter(s) have weight_decay {values} instead of the "
                        f"weight_decay argument {weight_decay:g}: {_names(names)}")
    raise AssertionError(f"with {label}: " + "; ".join(problems))


def _linear_warmup(step: int, total: int, warmup: int, lr: float) -> float:
    if step < warmup:
        return lr * step / max(1, warmup)
    return lr * max(0.0, (total - step) / max(1, total - warmup))


def _cosine_warmup(step: int, total: int, warmup: int, lr: float) -> float:
    if step < warmup:
        return lr * step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return lr * max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


@hidden_test("test_warmup_schedule", points=1, on="configure_optimization")
def warmup_schedule(configure_optimization) -> None:
    """The learning rate over a whole schedule, for other step counts and learning rates.

    The learning rate at every step: linear warm-up from 0 to lr, then linear decay to 0."""
    with isolated():
        model = ref()["make_distilbert_dual_encoder"]()
        for total, warmup, lr in ((37, 5, 2e-3), (20, 0, 5e-4), (12, 3, 0.1)):
            optimizer, scheduler = _configure(configure_optimization, model, adamw=False,
                                              num_train_steps=total, num_warmup_steps=warmup,
                                              lr=lr, weight_decay=0.01)
            rates = []
            for step in range(total + 1):
                group_rates = {group["lr"] for group in optimizer.param_groups}
                if len(group_rates) != 1:
                    raise AssertionError(f"at step {step} the parameter groups have different "
                                         f"learning rates {sorted(group_rates)}; the schedule "
                                         "scales them all alike")
                rates.append(group_rates.pop())
                optimizer.step()  # no gradients: changes nothing, keeps the scheduler quiet
                scheduler.step()
            expected = [_linear_warmup(step, total, warmup, lr) for step in range(total + 1)]
            for step, (got, want) in enumerate(zip(rates, expected)):
                if not math.isclose(got, want, rel_tol=1e-6, abs_tol=lr * 1e-9):
                    raise AssertionError(
                        f"num_train_steps={total}, num_warmup_steps={warmup}, lr={lr:g}: the "
                        f"learning rate at step {step} is {got:.6g}, expected {want:.6g} "
                        f"(linear warm-up to step {warmup}, then linear decay to 0 at step "
                        f"{total}). {_schedule_hint(rates, total, warmup, lr)}".rstrip())


def _schedule_hint(rates: list, total: int, warmup: int, lr: float) -> str:
    def matches(candidate):
        return all(math.isclose(a, b, rel_tol=1e-6, abs_tol=lr * 1e-9)
                   for a, b in zip(rates, candidate))

    steps = range(total + 1)
    if matches([lr] * (total + 1)):
        return "The rate never changes: use transformers.get_linear_schedule_with_warmup."
    if matches([_linear_warmup(s, warmup, total, lr) for s in steps]):
        return ("It warms up over num_train_steps: get_linear_schedule_with_warmup takes "
                "(optimizer, num_warmup_steps, num_training_steps), in that order.")
    if warmup and matches([_linear_warmup(s, total, 0, lr) for s in steps]):
        return "There is no warm-up: pass num_warmup_steps on to the schedule."
    if matches([_cosine_warmup(s, total, warmup, lr) for s in steps]):
        return "That is a cosine decay; the task asks for a linear one."
    if matches([_linear_warmup(s, total, warmup, lr) for s in range(1, total + 2)]):
        return ("The schedule is one step ahead (scheduler.step() called inside "
                "configure_optimization?).")
    return ""

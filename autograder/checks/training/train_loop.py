"""Hidden checks for notebook 04: ``train_nce`` (the trajectory against the reference, the best
epoch's weights, the history).

They run the student's ``train_nce`` on a handful of examples from the reference data, with
the reference's ``configure_optimization`` (or a spy around it) in its globals; the plumbing is
in ``harness``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import warnings

import torch

from autograder.checks import hidden_test
from autograder.checks.training.harness import (LossSpy, OptimizationSpy, as_float, fresh_model,
                                                history_entries, isolated, ref, run_student,
                                                small_data, snapshot, state_digest, traps)
from autograder.judge.transport import Spy
from dpr_course.testing import K_VALUES

# The short run that test_train_trajectory compares with the reference: one batch per epoch,
# so that the shuffle order cannot change which examples are trained together, and warm-up 0.
# With the tiny model at lr 5e-3, a missing scheduler step, zero_grad or clipping moves the
# per-epoch losses by 7e-2 or more (clipping is the least visible), while equivalent code, even
# one that orders the batch differently, agrees within 1e-4 (Adam turns rounding differences
# into whole steps in near-zero gradient components, so not much better than that). The full
# profile's pretrained DistilBERT gets a learning rate nearer its own.
TRAJECTORY = {"batch_size": 8, "epochs": 5, "weight_decay": 0.05, "use_hard_negative": True,
              "warmup_fraction": 0.0, "eval_batch_size": 64, "seed": 3}
TRAJECTORY_LR = {"tiny": 5e-3, "full": 5e-4}
LOSS_ATOL = 5e-3

# What the notebook's task asks of the loop, for the messages.
LOOP_HINT = ("Per batch: loss from get_in_batch_contrastive_loss, loss.backward(), "
             "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0), optimizer.step(), "
             "scheduler.step(), and zeroing the gradients.")


# --------------------------------------------------------------------------------------------
# train_nce: the trajectory against the reference


def _mirror_losses(model, data_train, settings: dict, *, zero_grad=True, scheduler_step=True,
                   clip=True, scheduler_first=False, use_hard_negative=None) -> list:
    """Per-epoch losses of the reference loop, or of one of its classic mistakes (to name the
    mistake when the student's losses match it). No evaluation: it does not change the weights."""
    R = ref()
    hard = settings["use_hard_negative"] if use_hard_negative is None else use_hard_negative
    R["set_seed"](settings["seed"])
    def collate(samples):
        return R["tensorize_contrastive"](samples, use_hard_negative=hard)

    loader = R["DataLoader"](R["MyDataset"](data_train), settings["batch_size"], shuffle=True,
                             collate_fn=collate)
    total = len(loader) * settings["epochs"]
    optimizer, scheduler = R["configure_optimization"](
        model, total, int(settings["warmup_fraction"] * total), settings["lr"],
        weight_decay=settings["weight_decay"])
    losses = []
    for _ in range(settings["epochs"]):
        model.train()
        loss_total = 0.0
        for batch in loader:
            loss, _ = R["get_in_batch_contrastive_loss"](model, batch, device=R["device"])
            loss_total += loss.item()
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            if scheduler_first and scheduler_step:
                scheduler.step()
            optimizer.step()
            if scheduler_step and not scheduler_first:
                scheduler.step()
            if zero_grad:
                model.zero_grad()
        losses.append(loss_total / len(loader))
    return losses


MISTAKES = (
    ("scheduler.step() is never called, so the learning rate never follows the schedule",
     {"scheduler_step": False}),
    (("the gradients are never zeroed, so each step uses the sum of all gradients so far "
      "(optimizer.zero_grad() or model.zero_grad() once per batch)"), {"zero_grad": False}),
    (("the gradients are not clipped (torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0) "
      "between backward() and optimizer.step())"), {"clip": False}),
    ("scheduler.step() comes before optimizer.step(), which skips the schedule's first value",
     {"scheduler_first": True}),
    ("use_hard_negative is not passed on to tensorize_contrastive", {"use_hard_negative": False}),
)


def _diagnose(model_state, data_train, settings: dict, losses: list, gap: float,
              first_differs: bool) -> str:
    """Name the classic mistake whose losses the student's match (much closer than the
    reference's: after a mistake, this tiny model's training can turn chaotic)."""
    found = []
    for description, variant in MISTAKES:
        model = fresh_model()
        model.load_state_dict(model_state)
        with warnings.catch_warnings():  # scheduler.step() first: torch warns, rightly
            warnings.simplefilter("ignore")
            candidate = _mirror_losses(model, copy.deepcopy(data_train), settings, **variant)
        if all(abs(a - b) <= max(LOSS_ATOL, 0.1 * gap) for a, b in zip(losses, candidate)):
            found.append(description)
    if found:
        return "These losses are what the reference gives when " + "; or when ".join(found) + "."
    if first_differs:
        return ("The first epoch's loss comes before any update, so the batches or the loss "
                "differ: a DataLoader over MyDataset(data_train), collate_fn calling "
                "tensorize_contrastive(samples, use_hard_negative=use_hard_negative), and the "
                "loss from get_in_batch_contrastive_loss averaged over the epoch's batches.")
    return LOOP_HINT


def _check_spy(spy: OptimizationSpy, expected_steps: int, settings: dict, what: str) -> None:
    """When train_nce used configure_optimization: called once, with the right arguments, and
    the optimiser and scheduler stepped once per batch."""
    if not spy.calls:
        return  # built its own optimiser: the losses will tell
    if len(spy.calls) != 1:
        raise AssertionError(
            f"{what}: train_nce called configure_optimization {len(spy.calls)} times; create the "
            "optimizer and scheduler once, before the epochs (a new one restarts the schedule "
            "and forgets Adam's statistics)")
    arguments, optimizer, scheduler = spy.calls[0]
    warmup = int(settings["warmup_fraction"] * expected_steps)
    for name, want in (("num_train_steps", expected_steps), ("num_warmup_steps", warmup),
                       ("lr", settings["lr"]), ("weight_decay", settings["weight_decay"])):
        got = arguments.get(name)
        close = isinstance(got, (int, float)) and not isinstance(got, bool) \
            and math.isclose(got, want, rel_tol=1e-9)
        if not (got == want or close):
            hint = {
                "num_train_steps": "batches per epoch (len of the DataLoader) x epochs",
                "num_warmup_steps": "int(warmup_fraction * num_train_steps)",
                "lr": "the lr argument (not a global such as PROFILE.lr)",
                "weight_decay": "the weight_decay argument",
            }[name]
            raise AssertionError(f"{what}: configure_optimization got {name}={got!r}, expected "
                                 f"{want!r}: {hint}")
    scheduler_steps = getattr(scheduler, "last_epoch", expected_steps)
    if scheduler_steps != expected_steps:
        raise AssertionError(
            f"{what}: the scheduler was stepped {scheduler_steps} times for {expected_steps} "
            "batches; call scheduler.step() once after every optimizer.step()")
    optimizer_steps = max((int(state["step"]) for state in optimizer.state.values()
                           if "step" in state), default=expected_steps)
    if optimizer_steps != expected_steps:
        raise AssertionError(
            f"{what}: the optimiser stepped {optimizer_steps} times for {expected_steps} "
            "batches; call optimizer.step() once per batch")


@hidden_test("test_train_trajectory", points=2, on="train_nce")
def trajectory_matches_reference(train_nce) -> None:
    """A short run (3 epochs, one batch each) follows the reference: losses and recall per epoch.

    A short run from the same weights as the reference: same losses and recall per epoch."""
    R = ref()
    settings = {**TRAJECTORY, "lr": TRAJECTORY_LR.get(R["PROFILE"].name, 5e-3)}
    epochs = settings["epochs"]
    with isolated():
        data_train, data_val, KB = small_data(8, 20, hard_negatives=True)
        model = fresh_model()
        start = snapshot(model)
        reference_model = copy.deepcopy(model)
        spy, loss_spy = OptimizationSpy(), LossSpy()  # noting the model's train/eval mode
        history = run_student(train_nce, model, copy.deepcopy(data_train),
                              copy.deepcopy(data_val), copy.deepcopy(KB), settings,
                              {"configure_optimization": spy,
                               "get_in_batch_contrastive_loss": loss_spy, **traps()})
        with contextlib.redirect_stdout(io.StringIO()):
            expected = R["train_nce"](reference_model, data_train, data_val, KB,
                                      device=R["device"], disable_tqdm=True, **settings)
        history = history_entries(history, epochs)
        _check_spy(spy, epochs, settings, f"{epochs} epochs of one batch")
        modes = loss_spy.modes
        if not all(modes):
            raise AssertionError(
                f"{modes.count(False)} of {len(modes)} training batches ran with the model in "
                "eval mode: call model.train() at the start of every epoch (the evaluation "
                "leaves the model in eval mode, which turns dropout off)")

        losses = [as_float(entry["loss"], f"history[{i}]['loss']")
                  for i, entry in enumerate(history)]
        reference_losses = [entry["loss"] for entry in expected]
        worst = max(range(epochs), key=lambda i: abs(losses[i] - reference_losses[i]))
        if not abs(losses[worst] - reference_losses[worst]) <= LOSS_ATOL:  # NaN fails too
            gap = abs(losses[worst] - reference_losses[worst])
            hint = _diagnose(start, data_train, settings, losses,
                             gap if math.isfinite(gap) else 1.0,
                             not abs(losses[0] - reference_losses[0]) <= LOSS_ATOL)
            raise AssertionError(
                f"{epochs} epochs of one batch of 8 (lr {settings['lr']:g}, no warm-up, hard "
                "negatives), from the same weights: average training loss per epoch "
                f"{[round(x, 4) for x in losses]}, reference "
                f"{[round(x, 4) for x in reference_losses]} "
                f"(they differ by {abs(losses[worst] - reference_losses[worst]):.3g} at epoch "
                f"{worst}; tolerance {LOSS_ATOL:g}). {hint}")

        one_query = 100.0 / len(data_val)
        for epoch, (entry, reference_entry) in enumerate(zip(history, expected)):
            recall, reference_recall = entry["recall"], reference_entry["recall"]
            if "num_queries" in recall and recall["num_queries"] != len(data_val):
                raise AssertionError(
                    f"epoch {epoch}: recall over {recall['num_queries']} questions, but data_val "
                    f"has {len(data_val)}: evaluate on the data_val argument")
            if 5 not in recall:
                raise AssertionError(f"history[{epoch}]['recall'] has no Recall@5: use "
                                     "topk_retrieval_accuracy's default k_values")
            for k in (k for k in K_VALUES if k in recall):
                got = as_float(recall[k], f"history[{epoch}]['recall'][{k}]")
                want = reference_recall[k]
                if not abs(got - want) <= one_query + 1e-6:
                    raise AssertionError(
                        f"epoch {epoch}: Recall@{k} {got:.1f}, reference {want:.1f} "
                        "(the losses agree). "
                        "After each epoch's training, evaluate the model on data_val against KB "
                        "with get_topk_candidates (100 candidates, or all of a smaller KB) and "
                        "topk_retrieval_accuracy")

        # Several batches per epoch: the step counts (only visible through the optimiser).
        settings = {"batch_size": 4, "epochs": 2, "lr": 1e-3, "weight_decay": 0.01,
                    "warmup_fraction": 0.5, "eval_batch_size": 64, "seed": 5}
        data_train, data_val, KB = small_data(8, 4)
        spy = OptimizationSpy()
        run_student(train_nce, fresh_model(), data_train, data_val, KB, settings,
                    {"configure_optimization": spy, **traps()})
        _check_spy(spy, 4, settings, "2 epochs of 2 batches")


# --------------------------------------------------------------------------------------------
# train_nce: the best epoch's weights


SCRIPTED_RECALL = (  # Recall@5 best at epoch 1; every other k would choose epoch 0 or 2
    {1: 10.0, 5: 10.0, 10: 80.0, 20: 90.0, 100: 100.0},
    {1: 0.0, 5: 50.0, 10: 60.0, 20: 70.0, 100: 80.0},
    {1: 20.0, 5: 20.0, 10: 70.0, 20: 95.0, 100: 97.0},
)


class _ScriptedAccuracy(Spy):
    """``topk_retrieval_accuracy`` with Recall@k scripted per epoch (``SCRIPTED_RECALL``) on the
    validation results; it records a digest of the model's state at each new evaluation
    (``states``) and, per call, how many there were before it (``calls``)."""

    def __init__(self, model, data_val: list):
        self._real = ref()["topk_retrieval_accuracy"]
        self._model, self._data_val = model, data_val
        self.states, self.calls = [], []

    def __call__(self, results, k_values=(1, 5, 10, 20, 100), *args, **kwargs):
        if len(results) != len(self._data_val):  # not the validation recall: the real thing
            return self._real(results, k_values, *args, **kwargs)
        epochs = len(SCRIPTED_RECALL)
        self.calls.append(len(self.states))
        state = state_digest(self._model)
        if not self.states or state != self.states[-1]:  # not a second call in one epoch
            self.states.append(state)
        table = SCRIPTED_RECALL[min(len(self.states), epochs) - 1]
        accuracy = {k: table.get(k, table[max([j for j in table if j <= k], default=1)])
                    for k in k_values}
        accuracy["num_queries"] = len(results)
        return accuracy


@hidden_test("test_train_best_state", points=1, on="train_nce")
def keeps_best_state(train_nce) -> None:
    """The model ends with the weights of the epoch with the best Recall@5.

    With Recall@5 scripted to 10, 50, 20, the model ends with the epoch-1 weights."""
    R = ref()
    epochs = len(SCRIPTED_RECALL)
    settings = {"batch_size": 4, "epochs": epochs, "lr": 1e-3, "weight_decay": 0.01,
                "warmup_fraction": 0.0, "eval_batch_size": 64, "seed": 11}
    with isolated():
        data_train, data_val, KB = small_data(4, 6)
        model = fresh_model()
        scripted = _ScriptedAccuracy(model, data_val)
        run_student(train_nce, model, data_train, data_val, KB, settings,
                    {"configure_optimization": R["configure_optimization"],
                     "topk_retrieval_accuracy": scripted,
                     "data_train": data_train, "data_val": data_val, "KB": KB})
        states, calls = scripted.states, scripted.calls
        if len(calls) < epochs:
            raise AssertionError(
                f"train_nce called topk_retrieval_accuracy on the validation results "
                f"{len(calls)} times in {epochs} epochs: after each epoch, evaluate with "
                "get_topk_candidates(KB, data_val, ...) and topk_retrieval_accuracy, and keep "
                "the best state by Recall@5")
        if len(states) < epochs:
            return  # the weights did not change between evaluations: nothing to tell apart
        if len(states) > epochs:
            raise AssertionError(
                f"train_nce evaluated {len(states)} different models on data_val in {epochs} "
                "epochs: evaluate once, after each epoch's training")
        final = state_digest(model)
        matching = [epoch for epoch, state in enumerate(states) if state == final]
        if 1 in matching:
            return
        r5 = ", ".join(f"{table[5]:g}" for table in SCRIPTED_RECALL)
        if not matching:
            where = ("weights that are none of the epochs' (the best state must be a copy, "
                     "copy.deepcopy(model.state_dict()), loaded back with model.load_state_dict)")
        else:
            chosen = matching[-1]
            notes = ["the last"] if chosen == epochs - 1 else []
            by = [f"Recall@{k}" for k in K_VALUES if k != 5 and max(
                range(epochs), key=lambda e: SCRIPTED_RECALL[e][k]) == chosen]
            if by:
                notes.append(f"the best by {' or '.join(by)}")
            where = f"the weights of epoch {chosen}" + (f" ({'; '.join(notes)})" if notes else "")
            if chosen == epochs - 1:
                where += (". Select by Recall@5, keep a copy of the best epoch's state, "
                          "copy.deepcopy(model.state_dict()) (model.state_dict() alone is a view "
                          "that keeps changing with the model), and load it back at the end")
        raise AssertionError(f"With validation Recall@5 {r5} in epochs 0..{epochs - 1}, the model "
                             f"should end with the weights of epoch 1, the best by Recall@5; it "
                             f"ends with {where}")


# --------------------------------------------------------------------------------------------
# train_nce: the history


@hidden_test("test_train_history", points=1, on="train_nce")
def history_per_epoch(train_nce) -> None:
    """One history entry per epoch, with the loss and Recall@k; the inputs are not changed.

    One {"epoch", "loss", "recall"} per epoch; loss a float, the epoch's mean batch loss;
    the input lists unchanged."""
    R = ref()
    epochs = 2
    settings = {"batch_size": 4, "epochs": epochs, "lr": 1e-3, "weight_decay": 0.01,
                "warmup_fraction": 0.1, "eval_batch_size": 64, "seed": 13}
    with isolated():
        data_train, data_val, KB = small_data(8, 6)
        originals = copy.deepcopy((data_train, data_val, KB))
        recording_loss = LossSpy()
        history = run_student(train_nce, fresh_model(), data_train, data_val, KB, settings,
                              {"configure_optimization": R["configure_optimization"],
                               "get_in_batch_contrastive_loss": recording_loss,
                               "data_train": data_train, "data_val": data_val, "KB": KB})
        batch_losses = recording_loss.losses
        history = history_entries(history, epochs)
        numbers = [entry["epoch"] for entry in history]
        if numbers not in (list(range(epochs)), list(range(1, epochs + 1))):
            raise AssertionError(f"the history's epoch numbers are {numbers}, expected "
                                 f"{list(range(epochs))}")
        per_epoch = len(batch_losses) // epochs if len(batch_losses) == 2 * epochs else None
        for index, entry in enumerate(history):
            loss = entry["loss"]
            assert not isinstance(loss, torch.Tensor), (
                f"history[{index}]['loss'] is a tensor; store a plain float (loss.item()), "
                "which also frees the autograd graph")
            assert isinstance(loss, (float, int)) and not isinstance(loss, bool), \
                f"history[{index}]['loss'] must be a float, got {type(loss).__name__}"
            if per_epoch:
                mean = sum(batch_losses[index * per_epoch:(index + 1) * per_epoch]) / per_epoch
                if not abs(loss - mean) <= 1e-4 * max(1.0, abs(mean)):
                    raise AssertionError(
                        f"history[{index}]['loss'] is {loss:.5g}, but the epoch's two batch "
                        f"losses average {mean:.5g}: record the average training loss over the "
                        "epoch's batches (sum of loss.item() / number of batches)")
            recall = entry["recall"]
            missing = [k for k in K_VALUES if k not in recall]
            if missing:
                raise AssertionError(f"history[{index}]['recall'] lacks Recall@{missing}: use "
                                     "topk_retrieval_accuracy(results) with its default k_values")
            for k in K_VALUES:
                value = recall[k]
                if isinstance(value, torch.Tensor) or not isinstance(value, (int, float)) \
                        or not 0.0 <= value <= 100.0:
                    raise AssertionError(f"history[{index}]['recall'][{k}] should be a percentage, "
                                         f"got {value!r}")
        for name, now, before in zip(("data_train", "data_val", "KB"), (data_train, data_val, KB),
                                     originals):
            if now != before:
                raise AssertionError(
                    f"train_nce changed its argument {name} (its order or contents); leave the "
                    "inputs as they are: the DataLoader does the shuffling")

"""Hidden checks for notebook 04: ``configure_optimization`` and ``train_nce``.

The training checks run the student's ``train_nce`` on a handful of examples from the reference
data. Stage isolation: while it runs, ``configure_optimization`` in the student's namespace
(``train_nce.__globals__``) is the reference's, so that a wrong optimiser costs points only in
its own tests; everything patched is restored afterwards, as is the global random state (the
function calls ``set_seed``) and torch's thread count (one thread: these runs are far too small
to gain from more, and on a busy machine more threads make them many times slower).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import math
import random
import warnings

import numpy as np
import torch

from autograder.checks import hidden_test
from autograder.judge.reference import reference

NOTEBOOK = "04_training"
K_VALUES = (1, 5, 10, 20, 100)

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


def _ref() -> dict:
    return reference(NOTEBOOK)


# --------------------------------------------------------------------------------------------
# Plumbing: isolation, patching, small data, fresh models.


@contextlib.contextmanager
def _isolated():
    """Restore the global random state (python, numpy, torch CPU and CUDA) and torch's thread
    count afterwards; run on one thread meanwhile."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    threads = torch.get_num_threads()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        try:
            torch.set_num_threads(1)
            yield
        finally:
            torch.set_num_threads(threads)
            random.setstate(python_state)
            np.random.set_state(numpy_state)


@contextlib.contextmanager
def _patched(namespace: dict, **replacements):
    """Set names in ``namespace`` (the student's globals) for the duration; restore them after,
    also on error."""
    missing = object()
    saved = {name: namespace.get(name, missing) for name in replacements}
    try:
        namespace.update(replacements)
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def _student_globals(function) -> dict:
    namespace = getattr(function, "__globals__", None)
    return namespace if isinstance(namespace, dict) else {}


class _GlobalTrap(list):
    """Stands in for a notebook global that ``train_nce`` must not read."""

    def __init__(self, name: str):
        super().__init__()
        self._name = name

    def _fail(self, *args, **kwargs):
        raise AssertionError(
            f"train_nce reads the global variable {self._name} instead of its argument "
            f"{self._name}: everything it needs comes in as arguments, so that part 5 can call "
            "it on other data")

    __iter__ = __len__ = __getitem__ = __bool__ = __contains__ = __eq__ = __add__ = _fail
    __hash__ = None


def _traps() -> dict:
    return {name: _GlobalTrap(name) for name in ("data_train", "data_val", "KB")}


def _small_data(num_train: int, num_val: int, hard_negatives: bool = False):
    """Fresh copies of reference examples: (train, val, KB), the KB ~130 passages holding every
    gold passage of train and val (so that 100 candidates are always available)."""
    R = _ref()
    train_pool, val_pool = R["data_train"], R["data_val"]
    train = copy.deepcopy(train_pool[:num_train])
    if hard_negatives:  # someone else's gold passage: a passage the question does not match
        for i, example in enumerate(train):
            example["hard_negative"] = copy.deepcopy(train_pool[200 + i]["gold_context"])
    val = copy.deepcopy(val_pool[:num_val])
    others = train_pool[200:200 + max(num_train, 8)] + train_pool[300:400]
    KB = [{"title": e["gold_context"]["title"], "text": e["gold_context"]["text"]}
          for e in train + val + others]
    return train, val, KB


def _fresh_model(tie_encoders: bool = False):
    """A dual encoder as the notebook makes it, on the reference's device, without dropout (the
    full profile's DistilBERT has 0.1, whose masks would depend on how the random stream is
    consumed) and with the word embeddings frozen (they hold 95% of the tiny model's weights:
    Adam's steps on them would make each run several times slower and test nothing more)."""
    R = _ref()
    model = R["make_distilbert_dual_encoder"](tie_encoders=tie_encoders)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    for encoder in (model.query_encoder, model.passage_encoder):
        encoder.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    return model.to(R["device"])


def _snapshot(model) -> dict:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def _same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[name], b[name].to(a[name].device))
                                        for name in a)


class _OptimizationSpy:
    """The reference ``configure_optimization``, recording how it is called and what it returns."""

    def __init__(self):
        self.function = _ref()["configure_optimization"]
        self.calls = []  # (arguments by name, optimizer, scheduler)

    def __call__(self, *args, **kwargs):
        optimizer, scheduler = self.function(*args, **kwargs)
        bound = inspect.signature(self.function).bind(*args, **kwargs)
        bound.apply_defaults()
        self.calls.append((dict(bound.arguments), optimizer, scheduler))
        return optimizer, scheduler


def _run_student(train_nce, model, data_train, data_val, KB, settings: dict, patches: dict):
    """Call the student's train_nce quietly, with ``patches`` set in its globals meanwhile."""
    R = _ref()
    with _patched(_student_globals(train_nce), **patches), \
            contextlib.redirect_stdout(io.StringIO()):
        return train_nce(model, data_train, data_val, KB, device=R["device"], disable_tqdm=True,
                         **settings)


def _history_entries(history, epochs: int, who: str = "train_nce") -> list:
    """The history as a list of dicts with "loss" and "recall"; else an AssertionError says why."""
    if history is None:
        raise AssertionError(f"{who} returned None: return the history, a list with one "
                             "{'epoch', 'loss', 'recall'} dict per epoch")
    assert isinstance(history, list), \
        f"{who} must return a list (one dict per epoch), got {type(history).__name__}"
    if len(history) != epochs:
        raise AssertionError(f"{who} ran {epochs} epochs but returned a history of "
                             f"{len(history)} entries: append one entry per epoch")
    for index, entry in enumerate(history):
        assert isinstance(entry, dict), \
            f"history[{index}] must be a dict, got {type(entry).__name__}"
        missing = [key for key in ("epoch", "loss", "recall") if key not in entry]
        if missing:
            raise AssertionError(f"history[{index}] lacks the key(s) {missing}; it has "
                                 f"{sorted(map(str, entry))}")
        assert isinstance(entry["recall"], dict), (
            f"history[{index}]['recall'] must be the dict that topk_retrieval_accuracy "
            f"returns, got {type(entry['recall']).__name__}")
    return history


def _as_float(value, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError) as error:
        raise AssertionError(f"{what} must be a number, got {type(value).__name__}") from error


# --------------------------------------------------------------------------------------------
# configure_optimization


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
    with _isolated():
        for tie in (False, True):
            label = "tied encoders (query_encoder is passage_encoder)" if tie else "two encoders"
            model = _ref()["make_distilbert_dual_encoder"](tie_encoders=tie)
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
    with _isolated():
        model = _ref()["make_distilbert_dual_encoder"]()
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


# --------------------------------------------------------------------------------------------
# train_nce: the trajectory against the reference


def _mirror_losses(model, data_train, settings: dict, *, zero_grad=True, scheduler_step=True,
                   clip=True, scheduler_first=False, use_hard_negative=None) -> list:
    """Per-epoch losses of the reference loop, or of one of its classic mistakes (to name the
    mistake when the student's losses match it). No evaluation: it does not change the weights."""
    R = _ref()
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
        model = _fresh_model()
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


def _check_spy(spy: _OptimizationSpy, expected_steps: int, settings: dict, what: str) -> None:
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
    R = _ref()
    settings = {**TRAJECTORY, "lr": TRAJECTORY_LR.get(R["PROFILE"].name, 5e-3)}
    epochs = settings["epochs"]
    with _isolated():
        data_train, data_val, KB = _small_data(8, 20, hard_negatives=True)
        model = _fresh_model()
        start = _snapshot(model)
        reference_model = copy.deepcopy(model)
        spy = _OptimizationSpy()
        modes, real_loss = [], R["get_in_batch_contrastive_loss"]

        def loss_noting_mode(*args, **kwargs):  # the reference's, noting train/eval mode
            modes.append(getattr(args[0] if args else kwargs.get("model"), "training", True))
            return real_loss(*args, **kwargs)

        history = _run_student(train_nce, model, copy.deepcopy(data_train),
                               copy.deepcopy(data_val), copy.deepcopy(KB), settings,
                               {"configure_optimization": spy,
                                "get_in_batch_contrastive_loss": loss_noting_mode, **_traps()})
        with contextlib.redirect_stdout(io.StringIO()):
            expected = R["train_nce"](reference_model, data_train, data_val, KB,
                                      device=R["device"], disable_tqdm=True, **settings)
        history = _history_entries(history, epochs)
        _check_spy(spy, epochs, settings, f"{epochs} epochs of one batch")
        if not all(modes):
            raise AssertionError(
                f"{modes.count(False)} of {len(modes)} training batches ran with the model in "
                "eval mode: call model.train() at the start of every epoch (the evaluation "
                "leaves the model in eval mode, which turns dropout off)")

        losses = [_as_float(entry["loss"], f"history[{i}]['loss']")
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
                got = _as_float(recall[k], f"history[{epoch}]['recall'][{k}]")
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
        data_train, data_val, KB = _small_data(8, 4)
        spy = _OptimizationSpy()
        _run_student(train_nce, _fresh_model(), data_train, data_val, KB, settings,
                     {"configure_optimization": spy, **_traps()})
        _check_spy(spy, 4, settings, "2 epochs of 2 batches")


# --------------------------------------------------------------------------------------------
# train_nce: the best epoch's weights


SCRIPTED_RECALL = (  # Recall@5 best at epoch 1; every other k would choose epoch 0 or 2
    {1: 10.0, 5: 10.0, 10: 80.0, 20: 90.0, 100: 100.0},
    {1: 0.0, 5: 50.0, 10: 60.0, 20: 70.0, 100: 80.0},
    {1: 20.0, 5: 20.0, 10: 70.0, 20: 95.0, 100: 97.0},
)


@hidden_test("test_train_best_state", points=1, on="train_nce")
def keeps_best_state(train_nce) -> None:
    """The model ends with the weights of the epoch with the best Recall@5.

    With Recall@5 scripted to 10, 50, 20, the model ends with the epoch-1 weights."""
    R = _ref()
    epochs = len(SCRIPTED_RECALL)
    settings = {"batch_size": 4, "epochs": epochs, "lr": 1e-3, "weight_decay": 0.01,
                "warmup_fraction": 0.0, "eval_batch_size": 64, "seed": 11}
    real_accuracy = R["topk_retrieval_accuracy"]
    with _isolated():
        data_train, data_val, KB = _small_data(4, 6)
        model = _fresh_model()
        states, calls = [], []

        def scripted_accuracy(results, k_values=(1, 5, 10, 20, 100), *args, **kwargs):
            if len(results) != len(data_val):  # not the validation recall: the real thing
                return real_accuracy(results, k_values, *args, **kwargs)
            calls.append(len(states))
            state = _snapshot(model)
            if not states or not _same_state(state, states[-1]):  # a second call, same epoch
                states.append(state)
            table = SCRIPTED_RECALL[min(len(states), epochs) - 1]
            accuracy = {k: table.get(k, table[max([j for j in table if j <= k], default=1)])
                        for k in k_values}
            accuracy["num_queries"] = len(results)
            return accuracy

        _run_student(train_nce, model, data_train, data_val, KB, settings,
                     {"configure_optimization": R["configure_optimization"],
                      "topk_retrieval_accuracy": scripted_accuracy,
                      "data_train": data_train, "data_val": data_val, "KB": KB})
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
        final = _snapshot(model)
        matching = [epoch for epoch, state in enumerate(states) if _same_state(final, state)]
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
    R = _ref()
    epochs = 2
    settings = {"batch_size": 4, "epochs": epochs, "lr": 1e-3, "weight_decay": 0.01,
                "warmup_fraction": 0.1, "eval_batch_size": 64, "seed": 13}
    real_loss = R["get_in_batch_contrastive_loss"]
    with _isolated():
        data_train, data_val, KB = _small_data(8, 6)
        originals = copy.deepcopy((data_train, data_val, KB))
        batch_losses = []

        def recording_loss(*args, **kwargs):
            loss, num_correct = real_loss(*args, **kwargs)
            batch_losses.append(loss.item())
            return loss, num_correct

        history = _run_student(train_nce, _fresh_model(), data_train, data_val, KB, settings,
                               {"configure_optimization": R["configure_optimization"],
                                "get_in_batch_contrastive_loss": recording_loss,
                                "data_train": data_train, "data_val": data_val, "KB": KB})
        history = _history_entries(history, epochs)
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

"""What the checks of the training part share: the reference, isolation, small data, fresh models,
and the spies handed to the student's ``train_nce``.

Part isolation: while ``train_nce`` runs, ``configure_optimization`` in the student's namespace
is the reference's (set with ``transport.patched_globals``), so that a wrong optimiser costs
points only in its own tests; everything patched is restored afterwards, as is the global
random state (the function calls ``set_seed``) and torch's thread count (one thread: these runs
are far too small to gain from more, and on a busy machine more threads make them many times
slower). What the checks want to see of how ``train_nce`` called things is recorded by spies
(``transport.Spy``), whose public attributes come back from the sandbox.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io

import torch

from autograder.judge.memo import fingerprint
from autograder.judge.reference import reference
from autograder.judge.transport import Spy, patched_globals
from autograder.random_state import kept_random_state

def ref() -> dict:
    return reference("training")


@contextlib.contextmanager
def isolated():
    """Restore the global random state and torch's thread count afterwards (also on error);
    run on one thread meanwhile."""
    with kept_random_state():
        torch.set_num_threads(1)
        yield


# --------------------------------------------------------------------------------------------
# Small data, fresh models


def small_data(num_train: int, num_val: int, hard_negatives: bool = False):
    """Fresh copies of reference examples: (train, val, KB), the KB ~130 passages holding every
    gold passage of train and val (so that 100 candidates are always available)."""
    R = ref()
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


def fresh_model(tie_encoders: bool = False):
    """A dual encoder as the notebook makes it, on the reference's device, without dropout (the
    full profile's DistilBERT has 0.1, whose masks would depend on how the random stream is
    consumed) and with the word embeddings frozen (they hold 95% of the tiny model's weights:
    Adam's steps on them would make each run several times slower and test nothing more)."""
    R = ref()
    model = R["make_distilbert_dual_encoder"](tie_encoders=tie_encoders)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    for encoder in (model.query_encoder, model.passage_encoder):
        encoder.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    return model.to(R["device"])


def snapshot(model) -> dict:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def state_digest(model) -> str:
    """A digest of the model's weights: what a spy keeps of a state (a copy would travel back
    from the sandbox, tens of megabytes each)."""
    return fingerprint(dict(model.state_dict())).hexdigest()


# --------------------------------------------------------------------------------------------
# What train_nce is handed: spies and traps


class GlobalTrap(Spy, list):
    """Stands in for a notebook global that ``train_nce`` must not read. (A spy only so that it
    may cross into the sandbox: it has nothing to record.)"""

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


def traps() -> dict:
    return {name: GlobalTrap(name) for name in ("data_train", "data_val", "KB")}


class OptimizationSpy(Spy):
    """The reference ``configure_optimization``, recording how it is called and what it returns."""

    def __init__(self):
        self._function = ref()["configure_optimization"]
        self.calls = []  # (arguments by name, optimizer, scheduler)

    def __call__(self, *args, **kwargs):
        optimizer, scheduler = self._function(*args, **kwargs)
        bound = inspect.signature(self._function).bind(*args, **kwargs)
        bound.apply_defaults()
        self.calls.append((dict(bound.arguments), optimizer, scheduler))
        return optimizer, scheduler


class LossSpy(Spy):
    """The reference ``get_in_batch_contrastive_loss``, recording for each batch the model's
    train/eval mode (``modes``) and the loss (``losses``)."""

    def __init__(self):
        self._loss = ref()["get_in_batch_contrastive_loss"]
        self.modes, self.losses = [], []

    def __call__(self, *args, **kwargs):
        self.modes.append(getattr(args[0] if args else kwargs.get("model"), "training", True))
        loss, num_correct = self._loss(*args, **kwargs)
        self.losses.append(loss.item())
        return loss, num_correct


def run_student(train_nce, model, data_train, data_val, KB, settings: dict, patches: dict):
    """Call the student's train_nce quietly, with ``patches`` set in its globals meanwhile."""
    R = ref()
    with patched_globals(train_nce, **patches), contextlib.redirect_stdout(io.StringIO()):
        return train_nce(model, data_train, data_val, KB, device=R["device"], disable_tqdm=True,
                         **settings)


# --------------------------------------------------------------------------------------------
# What train_nce returns


def history_entries(history, epochs: int, who: str = "train_nce") -> list:
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


def as_float(value, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError) as error:
        raise AssertionError(f"{what} must be a number, got {type(value).__name__}") from error

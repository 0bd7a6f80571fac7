"""Hidden checks for notebook 03: ``get_in_batch_contrastive_loss(model, batch, device)``.

The student's function gets a stub dual encoder whose encoders look the embedding of each row
up in a table (by the row's first token id), so every score is known exactly. Each check
isolates one property: where it is not the property under test, the data are built so that
other mistakes do not show (unit-norm embeddings where cosine does not matter, one shared table
where the choice of encoder does not matter, mean or sum accepted where the reduction does not
matter). ``matches_independent_formulation`` then checks everything at once.
"""

from __future__ import annotations

import math

import torch

from autograder.checks import hidden_test
from autograder.judge.reference import reference
from autograder.checks.common import full_precision
from autograder.judge.transport import Spy

LOSS_ATOL = 1e-4


def _device():
    return reference("nce_loss")["device"]


class _TableEncoder(Spy, torch.nn.Module):
    """Maps each row of ``input_ids`` to ``table[input_ids[row, 0]]``; records every call (a
    spy: ``calls`` comes back from the student's code)."""

    def __init__(self, table: torch.Tensor):
        super().__init__()
        self.table = torch.nn.Parameter(table.float().clone())
        self.calls = []

    def forward(self, input_ids, attention_mask=None):
        self.calls.append((input_ids.detach().cpu().clone(),
                           None if attention_mask is None else attention_mask.detach().cpu().clone()))
        return self.table[input_ids[:, 0]]


class _StubDualEncoder(Spy, torch.nn.Module):
    """Shaped like the notebook's DualEncoder (same forward), with table encoders.

    ``passage_table=None`` makes both encoders one and the same module. A spy, as the check's
    own class handed to the student's code, though only its encoders record anything.
    """

    def __init__(self, query_table, passage_table=None):
        super().__init__()
        self.query_encoder = _TableEncoder(query_table)
        self.passage_encoder = (self.query_encoder if passage_table is None
                                else _TableEncoder(passage_table))

    def forward(self, Q=None, Q_mask=None, P=None, P_mask=None):
        X = self.query_encoder(Q, Q_mask) if Q is not None else None
        Y = self.passage_encoder(P, P_mask) if P is not None else None
        return X, Y


def _ids(first: torch.Tensor, length: int, generator) -> tuple:
    """Token ids whose first column is ``first`` (the table row), random word pieces after it,
    and a padding mask with rows of different lengths."""
    rows = first.shape[0]
    ids = torch.randint(1000, 30000, (rows, length), generator=generator)
    ids[:, 0] = first
    lengths = torch.randint(2, length + 1, (rows,), generator=generator)
    lengths[0] = length
    mask = (torch.arange(length).unsqueeze(0) < lengths.unsqueeze(1)).long()
    return ids.masked_fill(mask == 0, 0), mask


def _setup(X, Y, labels, *, shared=True, seed=0, junk=None):
    """A stub model and a batch ``(Q, Q_mask, P, P_mask, labels)`` whose question embeddings
    are exactly ``X`` (B, d) and passage embeddings exactly ``Y`` (N, d).

    Question rows use table rows 0..B-1, passages rows B..B+N-1. ``shared``: one table and one
    encoder for both; otherwise the query table holds ``junk`` where the passages are and the
    passage table ``junk`` where the questions are, so a swapped encoder gives wrong vectors.
    """
    B, N = X.shape[0], Y.shape[0]
    generator = torch.Generator().manual_seed(seed)
    if shared:
        model = _StubDualEncoder(torch.cat([X, Y]))
    else:
        junk_q, junk_p = junk
        model = _StubDualEncoder(torch.cat([X, junk_q]), torch.cat([junk_p, Y]))
    Q, Q_mask = _ids(torch.arange(B), 6, generator)
    P, P_mask = _ids(torch.arange(B, B + N), 9, generator)
    batch = (Q, Q_mask, P, P_mask, torch.as_tensor(labels, dtype=torch.long))
    return model.to(_device()), batch


def _unit_rows(generator, rows, dim):
    vectors = torch.randn(rows, dim, generator=generator, dtype=torch.float64)
    return vectors / vectors.norm(dim=1, keepdim=True)


def _expected(X, Y, labels, *, reduction="mean", cosine=False, transpose=False):
    """The in-batch loss and num_correct, in float64, as -log_softmax gathered at the labels."""
    X, Y = X.double(), Y.double()
    if cosine:
        X, Y = X / X.norm(dim=1, keepdim=True), Y / Y.norm(dim=1, keepdim=True)
    scores = Y @ X.T if transpose else X @ Y.T
    labels = torch.as_tensor(labels, dtype=torch.long)
    rows = torch.arange(labels.shape[0])
    nll = -torch.log_softmax(scores, dim=1)[rows, labels]
    loss = nll.mean() if reduction == "mean" else nll.sum()
    num_correct = int((scores.argmax(dim=1) == labels).sum())
    return loss.item(), num_correct


# Wrong losses this module can name, as arguments to _expected (B = 6 in the independent check).
KNOWN_MISTAKES = (
    ("the sum over the questions instead of the mean", {"reduction": "sum"}),
    ("computed from cosine similarities instead of dot products", {"cosine": True}),
    ("computed from cosine similarities, summed", {"cosine": True, "reduction": "sum"}),
    ("computed with labels torch.arange(B) instead of the batch's labels",
     {"labels": list(range(6))}),
    ("computed on the transposed scores Y @ X.T", {"transpose": True}),
)


def _call(fn, model, batch):
    """Run the student's function; return its (loss, num_correct) as given."""
    Q, _, P, _, labels = batch
    try:
        with full_precision():
            output = fn(model, batch, _device())
    except Exception as error:  # the feedback shows only this message, so say where it happened
        raise AssertionError(
            f"get_in_batch_contrastive_loss raised {type(error).__name__}: {error} (on a batch "
            f"of {Q.shape[0]} questions and {P.shape[0]} passages, labels {labels.tolist()}, "
            "with a stub model whose encoders return preset embeddings)") from error
    if not isinstance(output, (tuple, list)) or len(output) != 2:
        raise AssertionError("get_in_batch_contrastive_loss must return a pair "
                             f"(loss, num_correct); got {type(output).__name__}"
                             + (f" of length {len(output)}" if isinstance(output, (tuple, list))
                                else ""))
    return tuple(output)


def _scalar(value, what: str = "the loss", per_question_ok: bool = False) -> float:
    """The loss as a float. ``per_question_ok``: a vector of per-question losses is averaged
    (in checks where the reduction is not the point: ``mean_reduction`` rejects it)."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            if per_question_ok and value.dim() == 1:
                return float(value.detach().cpu().double().mean().item())
            raise AssertionError(
                f"{what} must be a single number (the mean over the questions); got a tensor of "
                f"shape {tuple(value.shape)}. F.cross_entropy averages by default.")
        return float(value.detach().cpu().double().item())
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} must be a scalar tensor, got {type(value).__name__}") \
            from None


def _count(value) -> int:
    what = "num_correct"
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise AssertionError(
                f"{what} must be a count (an int or a 0-dim tensor); got a tensor of shape "
                f"{tuple(value.shape)}. Sum the matches: (predictions == labels).sum().")
        value = value.detach().cpu().double().item()
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} must be a count, got {type(value).__name__}") from None
    if not math.isfinite(number) or number != round(number):
        raise AssertionError(f"{what} must be a whole number of questions; got {number:.4g} "
                             "(a fraction or a mean instead of a count?)")
    return round(number)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= LOSS_ATOL


def _loss_either_reduction(loss, X, Y, labels, what, **kwargs) -> None:
    """The loss equals the right cross-entropy, averaged or summed (the reduction is checked
    elsewhere)."""
    mean, _ = _expected(X, Y, labels, **kwargs)
    total, _ = _expected(X, Y, labels, reduction="sum", **kwargs)
    if not (_close(loss, mean) or _close(loss, total)):
        raise AssertionError(f"{what}: the loss is {loss:.6g}; expected {mean:.6g} "
                             "(cross-entropy of the scores X @ Y.T with the batch's labels)")


@hidden_test("test_nce_label_layout", points=1, on="get_in_batch_contrastive_loss")
def label_layout_with_hard_negatives(fn) -> None:
    """With hard negatives the labels come from the batch (0, 2, 4, ...), not arange.

    Questions with hard negatives: passages laid out gold, negative, gold, negative...; the
    labels come from the batch (0, 2, 4, ...), not torch.arange(B)."""
    generator = torch.Generator().manual_seed(301)
    B, dim = 5, 12
    X = _unit_rows(generator, B, dim)
    Y = _unit_rows(generator, 2 * B, dim)
    labels = [0, 2, 4, 6, 8]
    Y[labels] = X + 0.3 * _unit_rows(generator, B, dim)   # golds close to their questions
    Y = Y / Y.norm(dim=1, keepdim=True)                    # unit norm: cosine would not matter
    model, batch = _setup(X, Y, labels, seed=302)
    loss = _scalar(_call(fn, model, batch)[0], per_question_ok=True)
    what = f"a batch of {B} questions with hard negatives (scores {B}x{2 * B}, labels {labels})"
    arange = list(range(B))
    for reduction in ("mean", "sum"):
        wrong, _ = _expected(X, Y, arange, reduction=reduction)
        if _close(loss, wrong):
            raise AssertionError(
                f"{what}: the loss is the cross-entropy with labels torch.arange({B}) = {arange}"
                ", i.e. as if passage i were question i's gold. With hard negatives question i's "
                "gold passage is at position 2i: use the labels of the batch.")
    _loss_either_reduction(loss, X, Y, labels, what)


@hidden_test("test_nce_mean_reduction", points=1, on="get_in_batch_contrastive_loss")
def mean_reduction(fn) -> None:
    """The loss is the mean, not the sum, over questions.

    The loss is the mean over the questions of the batch, not the sum."""
    generator = torch.Generator().manual_seed(311)
    B, dim = 6, 10
    X, Y = _unit_rows(generator, B, dim), _unit_rows(generator, B, dim)
    labels = list(range(B))
    model, batch = _setup(X, Y, labels, seed=312)
    loss = _scalar(_call(fn, model, batch)[0])
    what = f"a batch of {B} questions (scores {B}x{B})"
    mean, _ = _expected(X, Y, labels)
    total, _ = _expected(X, Y, labels, reduction="sum")
    if _close(loss, total):
        raise AssertionError(f"{what}: the loss is {loss:.6g}, the *sum* over the questions; "
                             f"expected the mean, {mean:.6g} (F.cross_entropy's default "
                             "reduction), so that the step size does not grow with the batch")
    for divisor in (B * B, 2 * B):
        if _close(loss, total / divisor):
            raise AssertionError(f"{what}: the loss is {loss:.6g}, the sum divided by "
                                 f"{divisor}; expected the mean over the {B} questions, "
                                 f"{mean:.6g}")
    if not _close(loss, mean):
        raise AssertionError(f"{what}: the loss is {loss:.6g}; expected the mean cross-entropy "
                             f"{mean:.6g}")


@hidden_test("test_nce_dot_product", points=1, on="get_in_batch_contrastive_loss")
def dot_product_not_cosine(fn) -> None:
    """Scores are raw dot products, not cosine similarities.

    Scores are raw inner products: embeddings of very different norms tell them apart from
    cosine similarities (or scores normalised on one side only)."""
    generator = torch.Generator().manual_seed(321)
    B, dim = 5, 8
    x_norms = torch.tensor([0.4, 2.5, 1.0, 3.0, 0.7], dtype=torch.float64).unsqueeze(1)
    y_norms = torch.tensor([2.0, 0.3, 1.5, 0.6, 2.8], dtype=torch.float64).unsqueeze(1)
    X = _unit_rows(generator, B, dim) * x_norms
    Y = _unit_rows(generator, B, dim) * y_norms
    labels = list(range(B))
    model, batch = _setup(X, Y, labels, seed=322)
    loss = _scalar(_call(fn, model, batch)[0], per_question_ok=True)
    what = f"a batch of {B} questions whose embeddings have norms from 0.3 to 3"
    for reduction in ("mean", "sum"):
        cosine, _ = _expected(X, Y, labels, reduction=reduction, cosine=True)
        if _close(loss, cosine):
            raise AssertionError(
                f"{what}: the loss ({loss:.6g}) is computed from cosine similarities "
                f"(normalised embeddings); DPR scores with the raw dot product X @ Y.T")
        x_unit = X / X.norm(dim=1, keepdim=True)
        y_unit = Y / Y.norm(dim=1, keepdim=True)
        for side, (a, b) in (("question", (x_unit, Y)), ("passage", (X, y_unit))):
            if _close(loss, _expected(a, b, labels, reduction=reduction)[0]):
                raise AssertionError(f"{what}: the loss ({loss:.6g}) uses normalised {side} "
                                     "embeddings; score with the raw dot product X @ Y.T")
    _loss_either_reduction(loss, X, Y, labels, what)


@hidden_test("test_nce_encoders", points=1, on="get_in_batch_contrastive_loss")
def query_and_passage_encoders(fn) -> None:
    """Questions go through the query encoder, passages through the passage encoder.

    Questions go through model.query_encoder with Q_mask, passages through
    model.passage_encoder with P_mask (mask by keyword or position)."""
    generator = torch.Generator().manual_seed(331)
    B, dim = 4, 10
    X, Y = _unit_rows(generator, B, dim), _unit_rows(generator, B, dim)
    junk = (_unit_rows(generator, B, dim), _unit_rows(generator, B, dim))
    labels = list(range(B))
    model, batch = _setup(X, Y, labels, shared=False, junk=junk, seed=332)
    Q, Q_mask, P, P_mask, _ = batch
    loss = _scalar(_call(fn, model, batch)[0], per_question_ok=True)
    encoders = {"query_encoder": (model.query_encoder, Q, Q_mask, "questions Q", "Q_mask"),
                "passage_encoder": (model.passage_encoder, P, P_mask, "passages P", "P_mask")}
    for name, (encoder, ids, mask, inputs, mask_name) in encoders.items():
        if not encoder.calls:
            other = "passage_encoder" if name == "query_encoder" else "query_encoder"
            raise AssertionError(f"model.{name} was never called: the {inputs} must go "
                                 f"through model.{name} (not model.{other})")
        for got_ids, got_mask in encoder.calls:
            if not (got_ids.shape == ids.shape and torch.equal(got_ids, ids)):
                given = ("the passages P" if got_ids.shape == P.shape and torch.equal(got_ids, P)
                         else "the questions Q" if got_ids.shape == Q.shape
                         and torch.equal(got_ids, Q) else f"ids of shape {tuple(got_ids.shape)}")
                raise AssertionError(f"model.{name} was called on {given}; it must encode the "
                                     f"{inputs}")
            if got_mask is None:
                raise AssertionError(f"model.{name} was called without an attention mask: pass "
                                     f"{mask_name} (attention_mask={mask_name}) so that padding "
                                     "is ignored")
            if not (got_mask.shape == mask.shape and torch.equal(got_mask.long(), mask)):
                raise AssertionError(f"model.{name} was called with a mask other than "
                                     f"{mask_name}")
    what = f"a batch of {B} questions, query and passage encoders that differ"
    for reduction in ("mean", "sum"):
        if _close(loss, _expected(X, Y, labels, reduction=reduction, transpose=True)[0]):
            raise AssertionError(f"{what}: the loss is computed on the transposed scores "
                                 "Y @ X.T; rows must be questions: X @ Y.T")
    _loss_either_reduction(loss, X, Y, labels, what)


@hidden_test("test_nce_num_correct", points=1, on="get_in_batch_contrastive_loss")
def num_correct_by_row_argmax(fn) -> None:
    """Num_correct counts rows whose largest score is the gold passage.

    num_correct counts the questions (rows) whose largest score is at their label."""
    # Scores set exactly: question embeddings are score rows, passage embeddings the identity.
    # Rows 0-2 are right, rows 3-4 wrong; by columns none would be.
    square = torch.tensor([[5.0, 1.0, 0.0, 2.0, 0.5],
                           [3.0, 4.0, 1.0, 0.0, 2.0],
                           [0.0, 1.0, 6.0, 1.5, 0.0],
                           [2.0, 7.0, 0.0, 1.0, 3.0],
                           [6.5, 0.0, 8.0, 0.5, 1.0]], dtype=torch.float64)
    # With hard negatives (labels 0, 2, 4, 6): rows 0, 1, 3 right; with arange labels rows 0, 2.
    hard = torch.tensor([[4.0, 1.0, 0.0, 2.0, 0.5, 1.0, 0.0, 0.0],
                         [0.0, 1.0, 3.0, 0.0, 2.0, 0.0, 1.0, 0.0],
                         [0.0, 0.0, 5.0, 1.0, 2.0, 0.0, 0.5, 0.0],
                         [1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 6.0, 3.0]], dtype=torch.float64)
    for scores, labels, seed in ((square, [0, 1, 2, 3, 4], 341), (hard, [0, 2, 4, 6], 342)):
        B, N = scores.shape
        X, Y = scores, torch.eye(N, dtype=torch.float64)
        model, batch = _setup(X, Y, labels, seed=seed)
        num_correct = _count(_call(fn, model, batch)[1])
        right = int((scores.argmax(dim=1) == torch.tensor(labels)).sum())
        what = f"scores {B}x{N} with labels {labels}, {right} rows whose argmax is the label"
        if num_correct == right:
            continue
        by_column = (int((scores.argmax(dim=0) == torch.tensor(labels)).sum())
                     if B == N else None)
        by_arange = int((scores.argmax(dim=1) == torch.arange(B)).sum())
        if num_correct == by_column:
            raise AssertionError(f"{what}: num_correct is {num_correct}, counted by column "
                                 "(argmax over dim 0); count by row: scores.argmax(dim=1)")
        if B != N and num_correct == by_arange:
            raise AssertionError(f"{what}: num_correct is {num_correct}, counted against "
                                 "torch.arange(B); with hard negatives use the batch's labels")
        if num_correct == B - right:
            raise AssertionError(f"{what}: num_correct is {num_correct}, the number of wrong "
                                 f"rows; expected the number of right ones, {right}")
        raise AssertionError(f"{what}: num_correct is {num_correct}; expected {right}")


@hidden_test("test_nce_independent", points=2, on="get_in_batch_contrastive_loss")
def matches_independent_formulation(fn) -> None:
    """Agreement with an independent formulation on random embeddings, B x B and B x 2B.

    Random embeddings (various norms, different encoders): B x B, B x 2B, and a batch where
    only some questions have a hard negative. Loss and num_correct as computed here in float64;
    the loss a scalar tensor attached to the graph."""
    generator = torch.Generator().manual_seed(351)
    B, dim = 6, 16
    layouts = (("B x B", B, list(range(B))),
               ("B x 2B", 2 * B, [0, 2, 4, 6, 8, 10]),
               ("hard negatives for 4 of 6 questions", 10, [0, 2, 3, 5, 6, 8]))
    for n, (name, N, labels) in enumerate(layouts):
        while True:  # no near-ties in any row, so that num_correct is well defined
            X = torch.randn(B, dim, generator=generator, dtype=torch.float64) \
                * torch.empty(B, 1, dtype=torch.float64).uniform_(0.3, 1.2, generator=generator)
            Y = torch.randn(N, dim, generator=generator, dtype=torch.float64) \
                * torch.empty(N, 1, dtype=torch.float64).uniform_(0.3, 1.2, generator=generator)
            X, Y = X.float().double(), Y.float().double()  # what the float32 tables hold
            top2 = torch.topk(X @ Y.T, 2, dim=1).values
            if bool(((top2[:, 0] - top2[:, 1]) > 1e-2).all()):
                break
        junk = (torch.randn(N, dim, generator=generator, dtype=torch.float64),
                torch.randn(B, dim, generator=generator, dtype=torch.float64))
        model, batch = _setup(X, Y, labels, shared=False, junk=junk, seed=360 + n)
        loss_tensor, num_correct = _call(fn, model, batch)
        loss, num_correct = _scalar(loss_tensor), _count(num_correct)
        what = f"random embeddings, {name} (scores {B}x{N}, labels {labels})"
        if n == 0:
            assert isinstance(loss_tensor, torch.Tensor), \
                f"{what}: the loss must be a tensor, got {type(loss_tensor).__name__}"
            assert loss_tensor.dim() == 0, \
                f"{what}: the loss must be a 0-dim tensor, got shape {tuple(loss_tensor.shape)}"
            assert loss_tensor.requires_grad and loss_tensor.grad_fn is not None, (
                f"{what}: the loss is cut off from the autograd graph (torch.no_grad, .detach() "
                "or .item()?): loss.backward() could not train the encoders")
        expected_loss, expected_correct = _expected(X, Y, labels)
        if not _close(loss, expected_loss):
            for mistake, variant in KNOWN_MISTAKES:
                if variant.get("transpose") and N != B:
                    continue  # transposed scores would not fit the labels
                if _close(loss, _expected(X, Y, variant.get("labels", labels), **{
                        key: value for key, value in variant.items() if key != "labels"})[0]):
                    raise AssertionError(f"{what}: the loss is {loss:.6g}, {mistake}; expected "
                                         f"{expected_loss:.6g}")
            raise AssertionError(
                f"{what}: the loss is {loss:.6g}; expected {expected_loss:.6g}, the mean over "
                "questions of -log softmax(X @ Y.T)[i, labels[i]] (tolerance 1e-4)")
        assert num_correct == expected_correct, (
            f"{what}: num_correct is {num_correct}; expected {expected_correct} rows whose "
            "largest score is at the label")

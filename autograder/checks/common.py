"""Helpers shared by the hidden checks."""

from __future__ import annotations

import contextlib

import torch

CLS_ID, SEP_ID, PAD_ID = 101, 102, 0


def call_each(function, calls: list[tuple]) -> list:
    """``function(*args)`` for each call, in order: a student's function in one confined child
    (``StudentFunction.each``), the reference's (or any plain function) directly."""
    each = getattr(function, "each", None)
    results = each(calls) if each is not None else [function(*args) for args in calls]
    assert isinstance(results, list) and len(results) == len(calls), \
        f"{getattr(function, '__name__', 'the function')} did not answer each of {len(calls)} calls"
    return results


def random_token_batch(seed: int, batch: int = 4, length: int = 12, padded: bool = True):
    """A batch of random word-piece ids shaped like tokenizer output: [CLS] ... [SEP] [PAD]...

    With ``padded`` the rows have different lengths (the first is full); else all are full.
    """
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, 30000, (batch, length), generator=generator)
    if padded:
        lengths = torch.randint(3, length, (batch,), generator=generator)
        lengths[0] = length
    else:
        lengths = torch.full((batch,), length)
    positions = torch.arange(length).unsqueeze(0)
    mask = (positions < lengths.unsqueeze(1)).long()
    ids = ids.masked_fill(mask == 0, PAD_ID)
    ids[:, 0] = CLS_ID
    ids[torch.arange(batch), lengths - 1] = SEP_ID
    return ids, mask, lengths


def assert_close(actual, expected, what: str, atol: float = 1e-4, hint: str = "") -> None:
    """Assert two tensors agree elementwise within ``atol``; say where and by how much not."""
    if not isinstance(actual, torch.Tensor):
        raise AssertionError(f"{what}: expected a tensor, got {type(actual).__name__}")  # noqa: TRY004
    actual = actual.detach().cpu().double()
    expected = expected.detach().cpu().double()
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: expected shape {tuple(expected.shape)}, "
                             f"got {tuple(actual.shape)}. {hint}".rstrip())
    difference = (actual - expected).abs()
    if not torch.all(difference <= atol):  # NaN fails too
        worst = int(torch.nan_to_num(difference, nan=float("inf")).flatten().argmax())
        where = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), difference.shape))
        raise AssertionError(
            f"{what}: largest difference {difference.flatten()[worst].item():.3g} at index "
            f"{where} (got {actual.flatten()[worst].item():.5g}, expected "
            f"{expected.flatten()[worst].item():.5g}; tolerance {atol:g}). {hint}".rstrip())


@contextlib.contextmanager
def full_precision():
    """float32 matrix products without TF32/bf16 shortcuts, whatever the notebook has set."""
    saved = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(saved)

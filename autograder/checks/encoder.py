"""Hidden checks for notebook 01: ``DistilBertEncoder.forward``."""

from __future__ import annotations

import torch

from autograder.checks import hidden_test
from autograder.judge.reference import reference
from autograder.checks.common import assert_close, random_token_batch

MASK_HINT = "Pass attention_mask on to self.encoder so that padding is ignored."


def _encoder(Encoder):
    return Encoder().eval()  # eval: no dropout, so repeated calls agree


def _hidden_states(encoder, ids, mask):
    with torch.no_grad():
        return encoder.encoder(input_ids=ids, attention_mask=mask).last_hidden_state


@hidden_test("test_encoder_output", points=1, on="DistilBertEncoder")
def output_shape_dtype_and_grad(Encoder) -> None:
    """Output type, shape and dtype; still attached to the autograd graph."""
    encoder = _encoder(Encoder)
    ids, mask, _ = random_token_batch(seed=11, batch=5, length=9)
    dim = encoder.encoder.config.dim
    for name, output in (("with a mask", encoder(ids, mask)),
                         ("with attention_mask=None", encoder(ids))):
        assert isinstance(output, torch.Tensor), \
            f"forward ({name}) must return a tensor, got {type(output).__name__}"
        assert output.shape == (5, dim), \
            f"forward ({name}) must return shape (batch, dim) = (5, {dim}), got {tuple(output.shape)}"
        assert output.dtype == torch.float32, f"expected float32 embeddings, got {output.dtype}"
        assert output.requires_grad, (
            f"forward ({name}) returns a tensor cut off from the autograd graph (torch.no_grad "
            "or .detach()?): training in part 4 could not update the encoder")


@hidden_test("test_encoder_cls_position", points=1, on="DistilBertEncoder")
def cls_position(Encoder) -> None:
    """The vector returned is the hidden state at position 0 ([CLS]).

    Compare with the hidden states themselves, on unpadded rows, to name the position used."""
    encoder = _encoder(Encoder)
    ids, mask, _ = random_token_batch(seed=12, batch=3, length=10, padded=False)
    with torch.no_grad():
        output = encoder(ids, mask)
    hidden = _hidden_states(encoder, ids, mask)
    if isinstance(output, torch.Tensor) and output.shape == hidden[:, 0].shape:
        if torch.allclose(output, hidden[:, 0], atol=1e-4):
            return
        for label, candidate in (("the mean over positions (mean pooling)", hidden.mean(1)),
                                 ("the maximum over positions (max pooling)", hidden.amax(1)),
                                 (f"the last position ({ids.shape[1] - 1})", hidden[:, -1])):
            if torch.allclose(output, candidate, atol=1e-4):
                raise AssertionError(f"forward returns {label}; the [CLS] vector is at position 0")
        for position in range(1, ids.shape[1]):
            if torch.allclose(output, hidden[:, position], atol=1e-4):
                raise AssertionError(
                    f"forward returns the hidden state at position {position}; "
                    "the [CLS] vector is at position 0")
    assert_close(output, hidden[:, 0], "forward vs last_hidden_state[:, 0]",
                 hint="Return the final hidden state at position 0 ([CLS]).")


@hidden_test("test_encoder_padding", points=1, on="DistilBertEncoder")
def padding_invariance(Encoder) -> None:
    """Extra padding (masked out) does not change any embedding.

    A row's embedding is the same alone and unpadded as inside a padded batch."""
    encoder = _encoder(Encoder)
    ids, mask, lengths = random_token_batch(seed=13, batch=4, length=14)
    with torch.no_grad():
        batch_output = encoder(ids, mask)
        extra = 6  # more padding at the end must not matter either
        more_padded = encoder(torch.nn.functional.pad(ids, (0, extra)),
                              torch.nn.functional.pad(mask, (0, extra)))
        for row, length in enumerate(lengths.tolist()):
            alone = encoder(ids[row:row + 1, :length], mask[row:row + 1, :length])
            assert_close(batch_output[row:row + 1], alone,
                         f"row {row} (length {length}) padded to {ids.shape[1]} vs unpadded",
                         hint=MASK_HINT)
    assert_close(more_padded, batch_output, f"batch with {extra} extra padding positions",
                 hint=MASK_HINT)


@hidden_test("test_encoder_batch_independence", points=1, on="DistilBertEncoder")
def batch_independence(Encoder) -> None:
    """Each sequence's embedding does not depend on the others in its batch.

    Each row's embedding does not depend on which other rows share its batch."""
    encoder = _encoder(Encoder)
    ids, mask, _ = random_token_batch(seed=14, batch=4, length=11)
    with torch.no_grad():
        together = encoder(ids, mask)
        for row in range(ids.shape[0]):
            alone = encoder(ids[row:row + 1], mask[row:row + 1])
            assert_close(together[row:row + 1], alone,
                         f"row {row} encoded in a batch of {ids.shape[0]} vs on its own",
                         hint="Do not mix or normalise across the batch dimension.")


@hidden_test("test_encoder_reference", points=2, on="DistilBertEncoder")
def matches_reference(Encoder) -> None:
    """Agreement with the reference solution on fresh random batches, with and without masks.

    Same weights, fresh random batches: the student's forward equals the reference's."""
    student = _encoder(Encoder)
    ref = reference("encoder")["DistilBertEncoder"]().eval()
    ref.load_state_dict(student.state_dict())
    for seed, batch, length in ((21, 6, 16), (22, 1, 5), (23, 3, 30)):
        ids, mask, _ = random_token_batch(seed=seed, batch=batch, length=length)
        with torch.no_grad():
            # Unpadded first, so that a wrong pooling is not blamed on the mask.
            assert_close(student(ids), ref(ids),
                         f"embeddings of a random {batch}x{length} batch, attention_mask=None",
                         hint="Return the [CLS] vector: last_hidden_state[:, 0].")
            assert_close(student(ids, mask), ref(ids, mask),
                         f"embeddings of a random {batch}x{length} batch with its mask",
                         hint=MASK_HINT)

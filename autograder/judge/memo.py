"""Long computations done once per course version: the provided code's, which many students
share, and each confined call of a student's code that took a while.

In part 5 the instructor's cells train a model with the *provided* ``train_nce`` on the hard
negatives the student's ``mine_hard_negatives`` picked: half a minute per student in the tiny
profile, hours in the full one, and the same run for every student whose negatives are the
same. Around it, they retrieve with the provided ``get_topk_candidates`` and with BM25, the same
for every student. The judge's prepared notebook therefore wraps those functions
(``autograder.judge.notebook.SHARED``) in ``memoized``: a call is looked up by a fingerprint of
everything it starts from (the function, its arguments' content, models' weights and modes
included, and the random generators' state), and on a hit its effect is replayed: the models'
new weights and modes, the generators' state after the run, and its return value.

Only trusted code is memoized this way, and only where the judge calls it: what the student's
code calls in its confined child runs there (``pass_through``); a student's answers reach this
memo only as data, which is part of the fingerprint. A memoized call made within another is
part of that one's run. Arguments that cannot be fingerprinted (anything but data, tensors,
modules and the course's own functions), a run that changes an argument other than a model, or
a return value that is not plain data or tensors: the call just runs.

A confined call of the student's code is kept apart (``keep_call``, ``load_call``), as the
encoded answer its child sent back, when it took ``KEEP_SECONDS`` or more: a resubmission, or a
second grading of the same notebook, replays it instead of training again. Its key
(``autograder.judge.student.Student._start``) covers the student's answer cells, what every
call before it in the notebook sent back, its arguments and the judge's random state, so that
only the same code, started the same way after the same history, is replayed; the time it took
is charged to the notebook's budget as if it ran.

The memo is a folder (the run settings' ``memo``, set by ``python -m autograder grade``) shared
by all the judges the run forks and capped at ``MEMO_BYTES``: the course version's folder in
the cache (``autograder/cache.py``, kept for later runs of the same course version, whose key
covers the course's code), or with ``grade --no-cache`` one in the run's scratch folder,
removed with it. Each kept file begins with the sha256 of the rest: a damaged one runs again;
students' code never reaches it (the sandbox hides the cache).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import io
import marshal
import os
import pickle
import random
import tempfile
import types
from pathlib import Path

import numpy as np
import torch

from autograder import config

MEMO_BYTES = 8 << 30  # beyond it, new runs are not kept (a full-profile model is ~0.5 GiB)
KEEP_SECONDS = 0.5    # a confined call of the student's code that took less is not kept


class Unfingerprintable(TypeError):
    """An argument whose content the memo cannot vouch for: the call just runs."""


def fingerprint(value, digest=None):
    """A sha256 of ``value``'s content: plain data, tensors and modules (type, mode, weights)."""
    digest = digest or hashlib.sha256()
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        digest.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"tensor:{tensor.dtype}:{tuple(tensor.shape)}:{value.device};".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes()  # 0-dim too
                      if tensor.numel() else b"")
    elif isinstance(value, torch.nn.Module):
        digest.update(f"module:{type(value).__module__}.{type(value).__qualname__};".encode())
        fingerprint([module.training for module in value.modules()], digest)
        fingerprint(dict(value.state_dict()), digest)
    elif isinstance(value, types.FunctionType):  # the course's own (a student's is a proxy)
        digest.update(f"function:{value.__module__}.{value.__qualname__};".encode())
        digest.update(marshal.dumps(value.__code__))
        fingerprint([value.__defaults__, value.__kwdefaults__,
                     [cell.cell_contents for cell in value.__closure__ or ()]], digest)
    elif isinstance(value, torch.device):
        digest.update(f"device:{value};".encode())
    elif isinstance(value, dict):
        digest.update(f"dict:{len(value)};".encode())
        for key, item in value.items():  # in order: a dict's order can matter to the run
            fingerprint(key, digest)
            fingerprint(item, digest)
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__}:{len(value)};".encode())
        for item in value:
            fingerprint(item, digest)
    else:
        raise Unfingerprintable(type(value).__name__)
    return digest


def _random_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None}


def comparable_random_state() -> list:
    """The generators' state now, as data ``fingerprint`` takes (a forked child starts with it)."""
    return _comparable(_random_state())


def _comparable(state: dict) -> list:
    """The generators' state as data ``fingerprint`` takes."""
    name, keys, position, has_gauss, gauss = state["numpy"]
    return [state["python"], [name, torch.from_numpy(keys.copy()), position, has_gauss, gauss],
            state["torch"], state["cuda"]]


def _set_random_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None:
        torch.cuda.set_rng_state_all(state["cuda"])


def _modules(args: tuple, kwargs: dict) -> list[torch.nn.Module]:
    return [value for value in (*args, *kwargs.values()) if isinstance(value, torch.nn.Module)]


def _others(args: tuple, kwargs: dict) -> list:
    return [value for value in (*args, *kwargs.values()) if not isinstance(value, torch.nn.Module)]


def _folder_bytes(folder: Path) -> int:
    return sum(entry.stat().st_size for entry in folder.iterdir() if entry.is_file())


_passing_through = False  # within a memoized run, and in a sandboxed child: calls just run


def pass_through() -> None:
    """From now on, memoized functions just run in this process (a sandboxed child's)."""
    global _passing_through
    _passing_through = True


def memoized(function, folder: Path):
    """``function``, whose runs are kept in ``folder`` and replayed for the same start."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        if _passing_through:
            return function(*args, **kwargs)
        try:
            start = fingerprint([function.__module__, function.__qualname__, args, kwargs,
                                 comparable_random_state()]).hexdigest()
        except Unfingerprintable:
            return function(*args, **kwargs)
        kept = folder / f"{start}.pt"
        effect = _load(kept)
        if effect is not None:
            return _replay(effect, args, kwargs)
        others = fingerprint(_others(args, kwargs)).hexdigest()
        versions = [_versions(module) for module in _modules(args, kwargs)]
        result = _inner(function, args, kwargs)
        try:
            unchanged = fingerprint(_others(args, kwargs)).hexdigest() == others
            fingerprint(result)  # data and tensors only: what replaying hands back is a copy
        except Unfingerprintable:
            return result
        result = copy.deepcopy(result)  # as a replay's: sharing nothing with the arguments
        if unchanged:
            with contextlib.suppress(OSError):  # a memo that cannot keep it: the run still counts
                _keep(kept, {"weights": [m.state_dict() if _versions(m) != before else None
                                         for m, before in zip(_modules(args, kwargs), versions)],
                             "modes": [[m.training for m in module.modules()]
                                       for module in _modules(args, kwargs)],
                             "random": _random_state(), "result": result})
        return result

    run.memo = folder
    return run


def _inner(function, args: tuple, kwargs: dict):
    """Run ``function``; the memoized calls it makes are part of its run, not kept apart."""
    global _passing_through
    _passing_through = True
    try:
        return function(*args, **kwargs)
    finally:
        _passing_through = False


def _keep(kept: Path, effect: dict) -> None:
    payload = io.BytesIO()
    torch.save(effect, payload)
    keep_bytes(kept, payload.getvalue())


def keep_bytes(kept: Path, payload: bytes) -> None:
    """Keep ``payload`` in the file ``kept``, whole or not at all (judges read it concurrently),
    after the sha256 of it; not once the memo's folder holds ``MEMO_BYTES``."""
    folder = kept.parent
    folder.mkdir(parents=True, exist_ok=True)
    if _folder_bytes(folder) >= MEMO_BYTES:
        return
    handle, scratch = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(hashlib.sha256(payload).hexdigest().encode() + b"\n")
            file.write(payload)
        os.replace(scratch, kept)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(scratch)


def load_bytes(kept: Path) -> bytes | None:
    """What ``keep_bytes`` kept in ``kept``, or None: not kept (yet), or not whole (its first
    line is the sha256 of the rest; a memo kept between runs may meet a disk's or a killed
    writer's damage, and a damaged run must be run again, never replayed)."""
    try:  # written whole by the grader's judges, never by a student's code
        digest, _, payload = kept.read_bytes().partition(b"\n")
    except OSError:
        return None
    return payload if hashlib.sha256(payload).hexdigest().encode() == digest else None


def _load(kept: Path):
    """The effect kept in ``kept``, or None (see ``load_bytes``)."""
    payload = load_bytes(kept)
    if payload is None:
        return None
    try:
        return torch.load(io.BytesIO(payload), weights_only=False)
    except (EOFError, RuntimeError, pickle.UnpicklingError):
        return None


def keep_call(folder: Path | None, start: str | None, seconds: float, answer: bytes) -> None:
    """Keep what a confined call of the student's code sent back (``autograder.judge.student``),
    under the digest of its start, if it took ``KEEP_SECONDS`` or more (a quicker one is cheaper
    to run again than to keep)."""
    if folder is not None and start is not None and seconds >= KEEP_SECONDS:
        with contextlib.suppress(OSError):  # a memo that cannot keep it: the run still counts
            keep_bytes(folder / f"call-{start}", f"{seconds:.3f}\n".encode() + answer)


def load_call(folder: Path | None, start: str | None) -> tuple[float, bytes] | None:
    """(seconds it took, what it sent back) of the call kept under ``start``, or None."""
    kept = load_bytes(folder / f"call-{start}") if folder is not None and start else None
    if kept is None:
        return None
    seconds, _, answer = kept.partition(b"\n")
    return float(seconds), answer


def forget_calls(folder: Path) -> None:
    """Remove the kept calls of students' code from ``folder`` (the provided runs stay)."""
    for kept in folder.glob("call-*"):
        with contextlib.suppress(FileNotFoundError):
            kept.unlink()


def _versions(module: torch.nn.Module) -> list:
    """Where each of its tensors lies and how often it was changed in place: the same after a
    run that only read the weights (a retrieval), whose effect then keeps no copy of them."""
    return [(tensor.data_ptr(), tensor._version) for tensor in module.state_dict().values()]


def _replay(effect: dict, args: tuple, kwargs: dict):
    for module, weights, modes in zip(_modules(args, kwargs), effect["weights"], effect["modes"]):
        if weights is not None:
            module.load_state_dict(weights)
        for submodule, training in zip(module.modules(), modes):
            submodule.training = training
    _set_random_state(effect["random"])
    return effect["result"]


def memo_folder() -> Path | None:
    """The grading run's memo folder (made when first needed); None where no run set one."""
    where = config.current().memo
    return Path(where) if where else None

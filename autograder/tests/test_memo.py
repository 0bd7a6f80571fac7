"""The judge's memo of the provided code's training runs: a replay is the run itself."""

import random

import numpy as np
import pytest
import torch

from autograder.judge.memo import MEMO_BYTES, _load, memoized

CALLS = []


def train(model, data, steps=3, seed=None):
    """A small stand-in for train_nce: draws from every generator, trains in place, returns a
    history (data), and leaves the generators where it got to."""
    CALLS.append(len(data))
    if seed is not None:
        torch.manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    history = []
    for step in range(steps):
        x = torch.randn(4, 3) + len(data) + random.random() + float(np.random.rand())
        loss = model(x).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append({"step": step, "loss": loss.item(), "recall": {1: 0.5, 5: 1.0}})
    model.eval()
    return history


def everything(model):
    return ([p.detach().clone() for p in model.parameters()], model.training,
            torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())


def same(a, b):
    weights_a, mode_a, torch_a, numpy_a, python_a = a
    weights_b, mode_b, torch_b, numpy_b, python_b = b
    return (all(torch.equal(x, y) for x, y in zip(weights_a, weights_b)) and mode_a == mode_b
            and torch.equal(torch_a, torch_b) and np.array_equal(numpy_a, numpy_b)
            and python_a == python_b)


def seeded(seed=0):
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    return torch.nn.Linear(3, 2)


@pytest.fixture
def memo(tmp_path):
    CALLS.clear()
    return memoized(train, tmp_path)


def test_a_replay_has_every_effect_of_the_run(memo, tmp_path):
    model = seeded()
    expected_history = train(model, ["a", "b"])
    expected = everything(model)
    CALLS.clear()

    for _ in range(2):  # the first runs and keeps its effect; the second replays it
        model = seeded()
        history = memo(model, ["a", "b"])
        assert history == expected_history and same(everything(model), expected)
    assert CALLS == [2] and len(list(tmp_path.glob("*.pt"))) == 1


@pytest.mark.parametrize("change", ["data", "weights", "mode", "random state", "keyword"])
def test_any_difference_in_the_start_runs_again(memo, change):
    model = seeded()
    memo(model, ["a", "b"])
    model, data, options = seeded(), ["a", "b"], {}
    if change == "data":
        data = ["a", "c"]
    elif change == "weights":
        with torch.no_grad():
            model.bias[0] += 1e-6
    elif change == "mode":
        model.eval()
    elif change == "random state":
        random.random()
    else:
        options = {"steps": 2}
    memo(model, data, **options)
    assert len(CALLS) == 2


def test_a_run_that_changes_its_data_or_cannot_be_fingerprinted_is_not_kept(tmp_path):
    def shuffles(model, data):
        data.reverse()
        return train(model, data)

    for function, data in ((shuffles, ["a", "b"]), (train, ("a", object()))):
        CALLS.clear()
        memo = memoized(function, tmp_path)
        for _ in range(2):
            memo(seeded(), list(data))
        assert len(CALLS) == 2
    assert not list(tmp_path.glob("*.pt"))


def test_the_memo_stops_keeping_runs_when_full(memo, tmp_path, monkeypatch):
    (tmp_path / "earlier.pt").write_bytes(b"x" * 16)
    monkeypatch.setattr("autograder.judge.memo.MEMO_BYTES", 16)
    for _ in range(2):
        memo(seeded(), ["a"])
    assert len(CALLS) == 2 and MEMO_BYTES > 16


def test_a_memo_that_cannot_keep_runs_never_fails_them(tmp_path):
    """Gone (a bench pass clears it), or not writable: the run is the same, kept or not."""
    model = seeded()
    expected = train(model, ["a"])
    gone = memoized(train, tmp_path / "memo")
    assert gone(seeded(), ["a"]) == expected and list((tmp_path / "memo").glob("*.pt"))
    (tmp_path / "file").write_text("")
    blocked = memoized(train, tmp_path / "file" / "memo")  # cannot be made
    assert blocked(seeded(), ["a"]) == expected


def test_the_judge_memoizes_the_provided_computations_and_never_the_students(tmp_path,
                                                                            monkeypatch):
    from autograder.judge import notebook as judge
    from autograder import config
    from dpr_course import baselines

    monkeypatch.setenv(config.RUN_ENV, config.defaults(memo=str(tmp_path)).to_json())
    monkeypatch.setattr(baselines, "bm25_topk_candidates", baselines.bm25_topk_candidates)
    namespace = {"train_nce": train, "get_topk_candidates": len, "mine_hard_negatives": len}
    judge._memoize_shared(namespace)
    assert namespace["train_nce"].memo == tmp_path and namespace["mine_hard_negatives"] is len
    assert namespace["get_topk_candidates"].memo == tmp_path
    assert baselines.bm25_topk_candidates.memo == tmp_path, \
        "the library's BM25, which the instructor's cells import as they go"
    judge._memoize_shared(namespace)  # as after every cell of the preparation
    assert not hasattr(baselines.bm25_topk_candidates.__wrapped__, "memo"), "wrapped once"
    assert not hasattr(namespace["train_nce"].__wrapped__, "memo"), "wrapped once"
    monkeypatch.delenv(config.RUN_ENV)
    namespace = {"train_nce": train}
    judge._memoize_shared(namespace)
    assert namespace["train_nce"] is train


def test_the_references_runs_that_the_checks_compare_with_are_shared_too(tmp_path, monkeypatch):
    from autograder import config
    from autograder.judge import notebook as judge

    monkeypatch.setenv(config.RUN_ENV, config.defaults(memo=str(tmp_path)).to_json())
    solution = {"train_nce": train, "topk_retrieval_accuracy": len}
    monkeypatch.setattr(judge, "reference", lambda name: solution)  # one namespace per part
    judge.prepare("01_encoder")
    assert solution["train_nce"].memo == tmp_path, \
        "a check's reference run from the same start is the same for every student"
    assert solution["topk_retrieval_accuracy"] is len


def test_calls_within_a_run_and_in_a_sandboxed_child_just_run(tmp_path, monkeypatch):
    inner = memoized(train, tmp_path)

    def outer(model, data):  # like train_nce, which retrieves with get_topk_candidates
        return inner(model, data, steps=1) + inner(model, data, steps=1)

    memo = memoized(outer, tmp_path)
    CALLS.clear()
    first = memo(seeded(), ["a"])
    assert CALLS == [1, 1] and len(list(tmp_path.glob("*.pt"))) == 1, "one run, kept whole"
    assert memo(seeded(), ["a"]) == first and CALLS == [1, 1]

    from autograder.judge import memo as memo_module

    monkeypatch.setattr(memo_module, "_passing_through", False)
    memo_module.pass_through()  # what the sandboxed child does before the student's code
    assert memo(seeded(), ["a"]) == first and CALLS == [1, 1, 1, 1], "computed, not replayed"
    inner(seeded(), ["b"])
    assert len(list(tmp_path.glob("*.pt"))) == 1, "and nothing kept"


def test_a_result_shares_nothing_with_the_arguments_whether_run_or_replayed(tmp_path):
    def retrieve(model, data):  # like get_topk_candidates: its results hold the data's lists
        return [{"answers": example["answers"]} for example in data]

    memo = memoized(retrieve, tmp_path)
    for _ in range(2):
        data = [{"answers": ["a"]}]
        result = memo(seeded(), data)
        assert result == [{"answers": ["a"]}] and result[0]["answers"] is not data[0]["answers"]


def test_a_run_that_only_reads_the_weights_keeps_no_copy_of_them(tmp_path):
    def retrieve(model, data):  # like get_topk_candidates: eval mode, the weights read
        model.eval()
        with torch.no_grad():
            return model(torch.ones(len(data), 3)).tolist()

    memo = memoized(retrieve, tmp_path)
    expected = memo(seeded(), ["a", "b"])
    (kept,) = tmp_path.glob("*.pt")
    assert _load(kept)["weights"] == [None]
    model = seeded()
    assert memo(model, ["a", "b"]) == expected and not model.training, "the mode is replayed"
    memo(seeded(), ["a"])
    trained = memoized(train, tmp_path)
    trained(seeded(), ["a"])
    kept_weights = [_load(path)["weights"] for path in tmp_path.glob("*.pt")]
    assert sum(weights != [None] for weights in kept_weights) == 1, "a training run keeps them"


@pytest.mark.parametrize("damage", ["a flipped byte", "cut short", "no digest line", "empty"])
def test_a_damaged_run_is_run_again_never_replayed(memo, tmp_path, damage):
    """A memo kept between grading runs (the course-version cache) can meet a disk's or a
    killed writer's damage: the kept file's first line is the sha256 of the rest."""
    model = seeded()
    expected_history = memo(model, ["a", "b"])
    expected = everything(model)
    [kept] = tmp_path.glob("*.pt")
    data = kept.read_bytes()
    digest, _, payload = data.partition(b"\n")
    kept.write_bytes({"a flipped byte": digest + b"\n" + payload[:-9] + bytes([payload[-9] ^ 1])
                      + payload[-8:],
                      "cut short": data[: len(data) // 2],
                      "no digest line": payload,
                      "empty": b""}[damage])
    CALLS.clear()
    model = seeded()
    assert memo(model, ["a", "b"]) == expected_history and same(everything(model), expected)
    assert CALLS == [2], "run again"
    assert kept.read_bytes() == data, "and kept whole again"


@pytest.mark.parametrize("tensor", [torch.tensor(1.5), torch.tensor(True), torch.zeros(0),
                                    torch.arange(6).reshape(2, 3).T])
def test_every_tensor_has_a_fingerprint_that_tells_its_content(tensor):
    """A scalar (a loss), a bool, an empty and a non-contiguous tensor: each fingerprints, and
    the same content gives the same digest, other content another."""
    from autograder.judge.memo import fingerprint

    assert fingerprint(tensor).hexdigest() == fingerprint(tensor.clone()).hexdigest()
    if tensor.numel():
        other = tensor.clone().reshape(-1)
        other[0] = not other[0] if other.dtype == torch.bool else other[0] + 1
        assert fingerprint(other.reshape(tensor.shape)).hexdigest() != fingerprint(tensor).hexdigest()

"""A confined call of the student's code that took a while is kept, and replayed only for the
same code started the same way after the same history (``Student._start``)."""

import random

import pytest
import torch

from autograder import config
from autograder.judge import memo, student as student_module
from autograder.judge.student import Student, StudentCodeError, StudentFunction

# Each run draws a fresh number in the child, so a replay shows as the same number again; the
# student's code also changes its argument in place, which a replay must do too.
SOURCE = ("import os\n"
          "def f(items, scale=1):\n"
          "    items.append(1)\n"
          "    return int.from_bytes(os.urandom(8), 'big')\n")


@pytest.fixture
def kept(tmp_path, monkeypatch):
    monkeypatch.setattr(memo, "KEEP_SECONDS", 0.0)  # keep every call, however quick
    return tmp_path / "memo"


def student(folder, source=SOURCE, notebook="01_encoder", seconds=60.0) -> Student:
    settings = config.defaults(memo=str(folder) if folder else "", notebook_seconds=seconds)
    return Student([("answer", source)], {"torch": torch}, settings, notebook)


def call(who: Student, items=None, **kwargs):
    items = [] if items is None else items
    return StudentFunction(who, "f")(items, **kwargs), items


def test_the_same_call_of_the_same_code_is_replayed_with_its_effects(kept):
    first, items = call(student(kept))
    again, replayed_items = call(student(kept))
    assert again == first and replayed_items == items == [1], "replayed, in place too"
    assert len(list(kept.glob("call-*"))) == 1


@pytest.mark.parametrize("change", ["code", "argument", "keyword", "random state", "notebook",
                                    "history", "use"])
def test_any_difference_in_what_a_call_starts_from_runs_it_again(kept, change):
    random.seed(0), torch.manual_seed(0)
    first, _ = call(student(kept))
    random.seed(0), torch.manual_seed(0)
    other = student(kept, SOURCE + "# a comment\n" if change == "code" else SOURCE,
                    "02_evaluation" if change == "notebook" else "01_encoder")
    if change == "random state":
        torch.manual_seed(1)  # the child starts with the judge's generators
    if change == "history":
        call(other, items=[0])  # an earlier call in the notebook that the first run did not make
    if change == "use":
        [again] = StudentFunction(other, "f").each([([],)])
    else:
        again, _ = call(other, items=[0] if change == "argument" else None,
                        **({"scale": 1.0} if change == "keyword" else {}))
    assert again != first, f"a different {change} must not replay the first run"


def test_a_later_call_is_replayed_only_after_the_same_history(kept):
    one = student(kept)
    call(one)
    [first_call] = kept.glob("call-*")
    second = call(one)[0]
    replaying = student(kept)
    call(replaying)
    assert call(replaying)[0] == second, "the same history: replayed"
    # A run whose first call gave something else (the code is not deterministic) has another
    # history: its second call is not the first run's second call.
    first_call.unlink()
    other = student(kept)
    call(other)
    assert call(other)[0] != second


def test_what_cannot_be_fingerprinted_or_failed_or_was_quick_is_not_kept(kept, monkeypatch):
    first, _ = call(student(kept), scale={1})  # a set crosses, but is not fingerprinted
    assert call(student(kept), scale={1})[0] != first and not kept.exists()
    monkeypatch.setattr(memo, "KEEP_SECONDS", 60.0)
    call(student(kept))
    assert not list(kept.glob("call-*")), "a call quicker than KEEP_SECONDS is not kept"
    monkeypatch.setattr(memo, "KEEP_SECONDS", 0.0)
    with pytest.raises(ValueError):
        call(student(kept, "def f(items, scale=1):\n    raise ValueError('no')\n"))
    assert len(list(kept.glob("call-*"))) == 1, "the student's own error is what it gave back"
    slow = student(kept, "import time\ndef f(items, scale=1):\n    time.sleep(30)\n")
    monkeypatch.setattr(student_module, "call_seconds", lambda settings, name: 1.0)
    with pytest.raises(StudentCodeError, match="did not finish"):
        call(slow)
    assert len(list(kept.glob("call-*"))) == 1, "a call stopped by a limit is not kept"


def test_a_replay_costs_the_notebook_budget_what_the_run_did(kept):
    slow = "import time\ndef f(items, scale=1):\n    time.sleep(1.5)\n    return 1\n"
    call(student(kept, slow))
    replaying = student(kept, slow, seconds=2.5)
    before = replaying.deadline
    assert call(replaying)[0] == 1
    assert before - replaying.deadline >= 1.5


def test_a_damaged_kept_call_runs_again(kept):
    first, _ = call(student(kept))
    (path,) = kept.glob("call-*")
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert call(student(kept))[0] != first


def test_without_a_memo_every_call_runs(kept):
    first, _ = call(student(None))
    assert call(student(None))[0] != first and not kept.exists()


def test_a_call_after_quick_ones_that_ran_again_is_replayed(kept, monkeypatch):
    """The history is what the calls gave back, not when: a quick call (not kept) that runs
    again gives the same history, so the slow call after it is replayed."""
    monkeypatch.setattr(memo, "KEEP_SECONDS", 0.3)
    source = SOURCE + "def quick():\n    return 7\n"
    slow = source.replace("    items.append(1)\n", "    items.append(1)\n    import time; time.sleep(0.4)\n")

    def history(who):
        return StudentFunction(who, "quick")(), call(who)[0]

    first = history(student(kept, slow))
    assert len(list(kept.glob("call-*"))) == 1, "only the slow call is kept"
    assert history(student(kept, slow)) == first


def test_the_students_code_goes_on_from_the_judges_python_generator():
    """A fork reseeds Python's generator from the OS's entropy; the child is handed the judge's,
    so code that draws from it unseeded gives the same answer from the same start, as it would
    in the notebook's kernel (and such a call can be replayed)."""
    source = "import random\ndef f(items, scale=1):\n    return random.random()\n"
    random.seed(5)
    first, _ = call(student(None, source))
    random.seed(5)
    assert call(student(None, source))[0] == first == random.Random(5).random()


def test_a_second_grading_run_replays_the_slow_calls_with_the_same_scores(tmp_path, monkeypatch):
    """Two grading runs of the same notebook on one cache: the second replays the calls the
    first kept (part 2's retrieval over the KB takes about a second), and scores the same."""
    import shutil

    from autograder import phases
    from autograder.commands.bench import traced
    from autograder.course.paths import ASSIGNMENT, SAMPLE_SUBMISSIONS
    from autograder.run import grade

    monkeypatch.setenv("DPR_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "submitted" / "reference" / ASSIGNMENT
    folder.mkdir(parents=True)
    shutil.copy(SAMPLE_SUBMISSIONS / "reference" / ASSIGNMENT / "02_evaluation.ipynb", folder)
    rows, replayed = [], []
    for run in range(2):
        trace = tmp_path / f"trace{run}.jsonl"
        trace.write_text("")
        with traced(trace):
            [result] = grade(tmp_path / "submitted", tmp_path / f"grades{run}.csv", jobs=1)
        rows.append(result.rows)
        replayed.append([r for r in phases.read(trace) if r["phase"] == "replayed call"])
    assert rows[0] == rows[1] and sum(r["score"] for r in rows[0]) == 11
    assert not replayed[0] and replayed[1], "the first run replays nothing, the second its slow calls"


def test_a_kept_call_that_returned_a_scalar_tensor_is_replayed(kept):
    """A loss is a 0-dimensional tensor: its answer is fingerprinted like any other."""
    source = "import os, torch\ndef f(items, scale=1):\n    return torch.tensor(float(os.getpid()))\n"
    first, _ = call(student(kept, source))
    assert first.dim() == 0 and torch.equal(call(student(kept, source))[0], first)

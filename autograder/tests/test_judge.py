"""The judge: the student's code runs only in the sandbox, and only data comes back."""

import math
import time

import pytest
import torch

from autograder import config
from autograder.course import notebooks
from autograder.judge import transport
from autograder.judge.notebook import judge
from autograder.judge.student import Student, StudentCodeError, StudentFunction
from autograder.course.paths import ASSIGNMENT, SAMPLE_SUBMISSIONS


def _student(source: str, cell_seconds: float = 60) -> Student:
    return Student([("answer", source)], {"torch": torch}, config.defaults(cell_seconds=cell_seconds))


def test_results_and_changes_to_the_arguments_come_back():
    function = StudentFunction(_student(
        "def f(items, model):\n"
        "    items.append({'new': torch.ones(2)})\n"
        "    with torch.no_grad():\n"
        "        model.weight.fill_(3.0)\n"
        "    return items, model.weight, torch.zeros(1, requires_grad=True) * 2\n"), "f")
    items, model = [{"old": 1}], torch.nn.Linear(2, 2)
    first = items[0]
    returned, weight, graph = function(items, model)
    assert returned is items and items[0] is first, "aliases and identities are kept"
    assert torch.equal(items[1]["new"], torch.ones(2))
    assert weight is model.weight and bool((model.weight == 3.0).all())
    assert graph.requires_grad and graph.grad_fn is not None


def test_each_answers_many_calls_from_one_confined_child(monkeypatch):
    from autograder.judge import student as student_module

    children = []
    confine = student_module.run_confined
    monkeypatch.setattr(student_module, "run_confined",
                        lambda task, limits: children.append(1) or confine(task, limits))
    function = StudentFunction(_student("import os\ndef f(x, y):\n    return x * y, os.getpid()\n"), "f")
    answers = function.each([(2, 3), ("ab", 2), (0, 9)])
    assert [value for value, _ in answers] == [6, "abab", 0]
    assert len(children) == 1 and len({pid for _, pid in answers}) == 1
    with pytest.raises(ZeroDivisionError, match="your cell"):
        StudentFunction(_student("def f(x):\n    return 1 / x\n"), "f").each([(1,), (0,)])


def test_an_optimizer_and_its_schedule_come_back_over_the_graders_parameters():
    function = StudentFunction(_student(
        "from transformers import get_linear_schedule_with_warmup\n"
        "def configure(model):\n"
        "    groups = [{'params': [model.weight], 'weight_decay': 0.1},\n"
        "              {'params': [model.bias], 'weight_decay': 0.0}]\n"
        "    optimizer = torch.optim.AdamW(groups, lr=1e-3)\n"
        "    return optimizer, get_linear_schedule_with_warmup(optimizer, 2, 10)\n"), "configure")
    model = torch.nn.Linear(3, 1)
    optimizer, scheduler = function(model)
    assert type(optimizer) is torch.optim.AdamW
    assert [g["params"][0] for g in optimizer.param_groups] == [model.weight, model.bias]
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.1, 0.0]
    rates = []
    for _ in range(11):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    expected = [1e-3 * s / 2 if s < 2 else 1e-3 * (10 - s) / 8 for s in range(11)]
    assert all(math.isclose(a, b, abs_tol=1e-12) for a, b in zip(rates, expected)), rates


def test_what_the_students_code_patches_stays_in_the_sandbox():
    function = StudentFunction(_student(
        "import builtins, math\n"
        "def cheat(x):\n"
        "    torch.allclose = lambda *a, **k: True\n"
        "    math.isclose = lambda *a, **k: True\n"
        "    builtins.AssertionError = KeyError\n"
        "    return x * 0\n"), "cheat")
    allclose, isclose, assertion = torch.allclose, math.isclose, AssertionError
    assert torch.equal(function(torch.ones(3)), torch.zeros(3))
    assert (torch.allclose, math.isclose, AssertionError) == (allclose, isclose, assertion)


def test_nothing_of_the_callers_is_left_to_find():
    function = StudentFunction(_student(
        "import gc, sys\n"
        "def search():\n"
        "    frames, frame = [], sys._getframe()\n"
        "    while frame is not None:\n"
        "        frames.append(frame.f_locals)\n"
        "        frame = frame.f_back\n"
        "    in_frames = any(any(getattr(v, '__name__', '') == 'the_answer' for v in f.values())\n"
        "                    for f in frames)\n"
        "    in_memory = any(type(o).__name__ == 'function' and o.__name__ == 'the_answer'\n"
        "                    for o in gc.get_objects())\n"
        "    return in_frames, in_memory\n"), "search")

    def the_answer():  # the reference, held by the check that calls the student's function
        return 42

    assert callable(the_answer)
    assert function() == (False, False)


@pytest.mark.parametrize("source, problem", [
    ("def f():\n    while True: pass\n", "did not finish within"),
    ("def f():\n    import ctypes; ctypes.string_at(0)\n", "SIGSEGV"),
    ("def f():\n    raise ValueError('own words')\n", "own words"),
], ids=["endless", "segfault", "exception"])
def test_failures_become_test_failures(source, problem):
    student = _student(source, cell_seconds=2)
    with pytest.raises((StudentCodeError, ValueError), match=problem):
        StudentFunction(student, "f")()
    if problem.startswith("did not"):  # once stopped, not waited for again
        start = time.monotonic()
        with pytest.raises(StudentCodeError, match="not run again"):
            StudentFunction(student, "f")()
        assert time.monotonic() - start < 1


def test_transport_never_unpickles_code():
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    with pytest.raises(Exception):  # noqa: B017 - any refusal will do
        transport.loads(transport.dumps(Evil()))


@pytest.mark.slow
@pytest.mark.parametrize("student, passes",
                         [("reference", True), ("hostile_patched_checks", False)])
def test_judge_a_notebook(student, passes):
    path = SAMPLE_SUBMISSIONS / student / ASSIGNMENT / "03_nce_loss.ipynb"
    verdicts = judge("03_nce_loss", notebooks.read(path))
    assert len(verdicts) == 7
    assert all(v.passed == passes for v in verdicts.values()), verdicts


def test_reference_functions_lead_to_nothing_further_down_their_notebook():
    """A function a check hands to the student (the reference configure_optimization, a provided
    loss) carries its __globals__: they must not hold the train_nce under test."""
    from autograder.judge.reference import reference

    namespace = reference("04_training")
    for name in ("configure_optimization", "get_in_batch_contrastive_loss", "get_topk_candidates"):
        assert "train_nce" not in namespace[name].__globals__, name
    assert "configure_optimization" in namespace["train_nce"].__globals__


def test_a_call_computes_on_the_childs_device_with_the_defaults_following_it():
    """The grader's namespace says device "cuda:7" (as a GPU-less grader would see a notebook
    made on a GPU); the child computes on "cpu": the student's defaults, the provided
    functions' defaults and a device argument equal to the grader's all follow the child, and
    the models and tensors among the arguments come along."""
    namespace = {"torch": torch, "device": "cuda:7"}
    exec("def provided(x, device=device):\n    return device\n", namespace)  # noqa: S102
    student = Student([("answer", (
        "def f(model, x, device=device, other='cuda:7'):\n"
        "    return [str(device), provided(x), other, str(model.weight.device), str(x.device)]\n"
    ))], namespace, config.defaults(cell_seconds=60, device="cpu"))
    seen = StudentFunction(student, "f")(torch.nn.Linear(2, 2), torch.ones(2), device="cuda:7")
    assert seen == ["cpu", "cpu", "cuda:7", "cpu", "cpu"]
    assert namespace["device"] == "cuda:7" and namespace["provided"].__defaults__ == ("cuda:7",), \
        "the grader's own namespace is left as it was"


TRIPWIRE = """
import os, runpy, sys, traceback
import torch
record, parent = sys.argv.pop(1), os.getpid()
def tripwire(name, original):
    def wrapped(*args, **kwargs):
        if os.getpid() == parent:
            with open(record, "a") as f:
                f.write(f"{name}\\n{''.join(traceback.format_stack(limit=8))}\\n")
        return original(*args, **kwargs)
    return wrapped
for name in ("is_available", "device_count", "_lazy_init", "init", "current_device",
             "get_device_properties", "set_device"):
    setattr(torch.cuda, name, tripwire(name, getattr(torch.cuda, name)))
sys.argv[0] = "autograder.judge"
runpy.run_module("autograder.judge", run_name="__main__")
"""


@pytest.mark.slow
def test_the_judge_never_initialises_cuda(tmp_path):
    """The judge, as the grader starts it, judges the reference notebooks of parts 1 and 3
    without ever asking torch about CUDA in its own process (forked children may)."""
    import json
    import subprocess
    import sys

    from autograder.judge.environment import judge_environment
    from autograder.course.paths import COURSE_ROOT

    record = tmp_path / "cuda-calls.txt"
    for notebook in ("01_encoder", "03_nce_loss"):
        path = SAMPLE_SUBMISSIONS / "reference" / ASSIGNMENT / f"{notebook}.ipynb"
        run = subprocess.run([sys.executable, "-c", TRIPWIRE, str(record), notebook, str(path)],
                             env=judge_environment(config.defaults("tiny")), cwd=COURSE_ROOT,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
        verdicts = json.loads(run.stdout.strip().splitlines()[-1])
        assert verdicts and all(v["passed"] for v in verdicts.values()), verdicts
    assert not record.exists(), "the judge's own process asked torch about CUDA:\n" + \
        record.read_text()[:3000]

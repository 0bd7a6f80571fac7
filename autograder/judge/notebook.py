"""The judge: scores one notebook without ever running the student's code in its own process.

nbgrader runs a student's notebook in one kernel, tests included, so code the student runs
before a test can change what the test sees (``torch.allclose = lambda *a, **k: True``) or
how its failure is reported. The judge instead runs the *instructor's* notebook (the solution
notebook's locked, free and test cells; never the student's free cells) in a trusted process.
Each function or method the student wrote is replaced there by a proxy: calling it forks a
confined child (``autograder.judge.sandbox``), which runs the student's answer cells and that one
call and sends back only data (``autograder.judge.transport``). Every comparison, and so every
point, is computed by code the student's code never touched.

``python -m autograder.judge NOTEBOOK SUBMITTED.ipynb`` prints the verdicts as JSON:
``{grade_id: {"passed": bool, "output": str}}``, one per test cell.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import ctypes
import functools
import gc
import inspect
import io
import json
import os
import sys
import time
import traceback
import types
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from unittest import mock

import torch

from dpr_course import settings
from autograder.course import notebooks
from autograder.judge import transport
from autograder.course.paths import RELEASE_DIR, SOLUTIONS_DIR
from autograder.judge.sandbox import Limits, run_confined


@dataclass(frozen=True)
class Settings:
    """Limits on the student's code. A call's wall clock: the longest, part 4's training run,
    takes 30 to 110 s in the tiny profile (one thread, on a fast or a busy 2-core machine). Memory and processes: what a call's whole process
    tree may add and start. Device: where the student's code computes, "auto" (a GPU when the
    machine has one, else the CPU), "cpu" or "cuda"; the judge itself always stays on the CPU."""
    cell_seconds: float
    notebook_seconds: float
    memory_bytes: int
    processes: int
    device: str

    @classmethod
    def from_environment(cls, environ=os.environ) -> "Settings":
        """From the course's settings table (``dpr_course/settings.py``)."""
        def value(name):
            return settings.get(name, environ)
        return cls(float(value("DPR_CELL_TIMEOUT")), float(value("DPR_NOTEBOOK_TIMEOUT")),
                   int(float(value("DPR_MEMORY_LIMIT_GB")) * (1 << 30)),
                   int(value("DPR_PROCESS_LIMIT")), value("DPR_JUDGE_DEVICE"))

    @classmethod
    def defaults(cls, profile: str = "tiny", **changes) -> "Settings":
        """The table's defaults for ``profile``, whatever the environment says, with changes."""
        return replace(cls.from_environment({"DPR_PROFILE": profile}), **changes)

    def wants_gpu(self) -> bool:
        """Whether a call gets the GPUs (decided without initialising CUDA here)."""
        return self.device != "cpu" and os.path.exists("/dev/nvidiactl")


@dataclass
class Verdict:
    passed: bool
    output: str


class StudentCodeError(AssertionError):
    """The student's code failed, crashed or ran out of time inside the sandbox."""


class Student:
    """A submission's answer cells, and a way to call into them in a confined child."""

    def __init__(self, answers: list[tuple[str, str]], namespace: dict, settings: Settings):
        self.answers, self.namespace, self.settings = answers, namespace, settings
        self.deadline = time.monotonic() + settings.notebook_seconds
        self.stopped: dict[str, str] = {}  # what was stopped once (time, memory, processes) is
        # not run again: waiting for it, or letting it fill the machine, again is pointless

    def call(self, name: str, target, args: tuple, kwargs: dict, owner=None,
             patches: dict | None = None):
        """``target(namespace)`` is the student's callable ``name``; call it with the arguments
        in a child and return what it returned, after applying its changes to the arguments."""
        if name in self.stopped:
            raise StudentCodeError(f"{name}: {self.stopped[name]} (in an earlier test), so it "
                                   "is not run again")
        roots = {str(i): value for i, value in enumerate(args)}
        roots.update({f"kw:{name}": value for name, value in kwargs.items()})
        if owner is not None:
            roots["self"] = owner
        if patches:
            roots["globals"] = patches
        transport.check_crossing(roots)  # a check's object that could not come back: TypeError

        task = functools.partial(_call_in_child, self.answers, self.namespace, target,
                                 args, kwargs, roots, self.settings.device)
        left = self.deadline - time.monotonic()
        if left <= 1:
            raise StudentCodeError("the notebook's time limit was reached before this test")
        # Frozen, the grader's objects are out of the child's garbage collector's sight: what
        # the child lets go of stays unreachable, and the child need not walk the whole heap.
        gc.freeze()
        try:
            outcome = run_confined(task, Limits(
                seconds=min(self.settings.cell_seconds, left),
                memory_bytes=self.settings.memory_bytes, processes=self.settings.processes,
                cpus=max(1, torch.get_num_threads()), gpu=self.settings.wants_gpu()))
        finally:
            gc.unfreeze()
        if outcome.data is None:
            if outcome.stopped:
                self.stopped[name] = outcome.problem
            raise StudentCodeError(f"{name}: {outcome.problem}")
        payload = transport.loads(outcome.data)
        if "error" in payload:
            raise _as_exception(payload)
        decoder = transport.Decoder(roots)
        for name, value in payload["roots"].items():
            transport.update_in_place(roots[name], decoder.decode(value))
        return decoder.decode(payload["result"])


def _call_in_child(answers, namespace, target, args, kwargs, roots, device_setting) -> bytes:
    """In the confined child: run the student's answer cells, then the one call; encode what
    came of it. Everything arrives as arguments: the callers' frames are wiped first."""
    # OpenMP's thread pool does not survive fork: one thread, or the child may hang.
    torch.set_num_threads(1)
    _scrub_grader_state()
    try:
        host, device = namespace.get("device", "cpu"), _child_device(device_setting)
        if device != host:  # the grader's objects are on its CPU: bring them to the device
            roots = {name: _onto(device, value) for name, value in roots.items()}
            args = tuple(roots[str(i)] for i in range(len(args)))
            kwargs = {name: roots[f"kw:{name}"] for name in kwargs}
            namespace["device"] = device  # the student's defaults (device=device) follow it
        for grade_id, source in answers:
            exec(compile(source, f"<your cell {grade_id}>", "exec"), namespace)  # noqa: S102
        namespace.update(roots.get("globals", {}))
        function = target(namespace)
        if device != host:
            _retarget_defaults(namespace, host, device)
            args, kwargs = _with_device(function, args, kwargs, host, device)
        changes = transport.Encoder(roots, transport.tensor_versions(roots), states=True)
        result = function(*args, **kwargs)
        return transport.dumps({
            "result": transport.Encoder(roots).encode(result),
            "roots": {name: changes.encode(value, alias=False) for name, value in roots.items()}})
    except BaseException as error:  # noqa: BLE001 - the student's error, reported as data
        return transport.dumps({"error": type(error).__name__, "message": str(error)[:4000],
                                "where": _student_frames(error)})


# --------------------------------------------------------------------------------------------
# The device a call computes on. The grader's process never initialises CUDA (a forked child
# could not use it then); each child decides for itself, moves the models and tensors among
# its arguments there, and sends everything back on the CPU (transport).


def _child_device(setting: str) -> str:
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


def _onto(device: str, value):
    """``value`` with its models moved to ``device`` (in place: the same module) and its
    tensors copied there; containers are rebuilt only around what moved."""
    if isinstance(value, torch.nn.Module):
        return value.to(device)
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if type(value) in (list, tuple):
        moved = [_onto(device, item) for item in value]
        changed = any(a is not b for a, b in zip(moved, value))
        return type(value)(moved) if changed else value
    if type(value) is dict:
        moved = {key: _onto(device, item) for key, item in value.items()}
        return moved if any(moved[k] is not value[k] for k in value) else value
    return value


def _is_device(value, host: str) -> bool:
    return isinstance(value, (str, torch.device)) and str(value) == str(host)


def _retarget_defaults(namespace: dict, host: str, device: str) -> None:
    """Functions defined in the grader (provided cells) default to its device, ``device=device``
    evaluated there; here they default to the child's, as they would in the notebook."""
    for function in list(namespace.values()):
        if not isinstance(function, types.FunctionType):
            continue
        defaults = list(function.__defaults__ or ())
        positional = function.__code__.co_varnames[:function.__code__.co_argcount]
        for index, name in enumerate(positional[len(positional) - len(defaults):]):
            if name == "device" and _is_device(defaults[index], host):
                defaults[index] = device
        function.__defaults__ = tuple(defaults) if defaults else function.__defaults__
        if function.__kwdefaults__ and _is_device(function.__kwdefaults__.get("device"), host):
            function.__kwdefaults__ = {**function.__kwdefaults__, "device": device}


def _with_device(function, args: tuple, kwargs: dict, host: str, device: str):
    """The call's arguments with a ``device`` argument equal to the grader's replaced."""
    try:
        bound = inspect.signature(function).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):  # a wrong signature: the call itself will say so
        return args, kwargs
    if _is_device(bound.arguments.get("device"), host):
        bound.arguments["device"] = device
    return bound.args, bound.kwargs


def _scrub_grader_state() -> None:
    """In the child, before the student's code runs: forget what the grader's callers hold
    (their frames stay suspended in the forked copy; the child never returns to them) and the
    caches of reference solutions, so that nothing of them is left alive to find."""
    frame = sys._getframe(3)  # above this, task() and _child(): run_confined and its callers
    while frame is not None:
        if frame.f_code.co_flags & inspect.CO_OPTIMIZED:  # a function's frame, not a module's
            code, names = frame.f_code, frame.f_locals
            shared = {n: names[n] for n in code.co_cellvars + code.co_freevars if n in names}
            names.clear()  # plain locals go; variables shared with closures stay as they are
            names.update(shared)
            ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(1))
        frame = frame.f_back
    for name, module in list(sys.modules.items()):
        if name.startswith("autograder"):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()
        if name.startswith("autograder.checks"):  # the hidden tests' code: not for import
            del sys.modules[name]


def _student_frames(error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if f.filename.startswith("<your cell")]
    return "".join(traceback.format_list(frames[-3:]))


def _as_exception(payload: dict) -> BaseException:
    """The student's exception, as the same built-in type when it is one (checks catch some)."""
    kind = getattr(builtins, payload["error"], None)
    message = payload["message"]
    if payload.get("where"):
        message = f"{message}\n{payload['where']}".rstrip()
    if isinstance(kind, type) and issubclass(kind, Exception) and kind is not StopIteration:
        try:
            return kind(message)
        except TypeError:
            pass
    return StudentCodeError(f"your code raised {payload['error']}: {message}")


# --------------------------------------------------------------------------------------------
# Proxies standing in the grader's namespace for what the student wrote


class StudentFunction:
    """Calls the student's function of this name in a confined child. ``__globals__`` holds
    what a check wants set in the student's globals during the call (see checks.training)."""

    def __init__(self, student: Student, name: str):
        self.student, self.__name__ = student, name
        self.__globals__: dict = {}

    def __call__(self, *args, **kwargs):
        return self.student.call(self.__name__, lambda ns: ns[self.__name__], args, kwargs,
                                 patches=dict(self.__globals__))

    def __repr__(self):
        return f"<student's function {self.__name__}>"


def student_method(student: Student, class_name: str, method: str):
    """A method whose body the student wrote; ``self`` is the grader's instance, sent along."""
    def proxy(self, *args, **kwargs):
        return student.call(f"{class_name}.{method}",
                            lambda ns: getattr(ns[class_name], method).__get__(self),
                            args, kwargs, owner=self)
    proxy.__name__ = method
    return proxy


def _answer_names(release_source: str) -> tuple[list[str], dict[str, list[str]]]:
    """Top-level functions, and per class the methods with a stub to fill, in an answer cell."""
    functions, methods = [], {}
    for node in ast.parse(release_source).body:
        if isinstance(node, ast.FunctionDef):
            functions.append(node.name)
        elif isinstance(node, ast.ClassDef):
            methods[node.name] = [
                item.name for item in node.body if isinstance(item, ast.FunctionDef)
                and "NotImplementedError" in ast.get_source_segment(release_source, item)]
    return functions, methods


def install_proxies(namespace: dict, student: Student, release_source: str) -> None:
    functions, methods = _answer_names(release_source)
    for name in functions:
        namespace[name] = StudentFunction(student, name)
    for class_name, names in methods.items():
        for method in names:
            setattr(namespace[class_name], method, student_method(student, class_name, method))


# --------------------------------------------------------------------------------------------
# Running the instructor's notebook


def student_answers(submitted, release) -> list[tuple[str, str]]:
    """(grade_id, source) of each code answer cell, in the release's order; the stub if missing
    (written answers are graded by hand)."""
    handed_in = {notebooks.grade_id(c): c.source for c in submitted.cells
                 if notebooks.is_code_answer(c)}
    return [(notebooks.grade_id(c), handed_in.get(notebooks.grade_id(c), c.source))
            for c in release.cells if notebooks.is_code_answer(c)]


@dataclass
class Prepared:
    """A notebook run up to its first answer cell: the same for every student."""
    name: str
    cells: list
    stubs: dict
    namespace: dict
    start: int


def prepare(notebook_name: str) -> Prepared:
    source = notebooks.read(SOLUTIONS_DIR / f"{notebook_name}.ipynb")
    release = notebooks.read(RELEASE_DIR / f"{notebook_name}.ipynb")
    stubs = {notebooks.grade_id(c): c.source for c in release.cells if notebooks.is_code_answer(c)}
    prepared = Prepared(notebook_name, source.cells, stubs, {"__name__": "__main__"}, 0)
    first_answer = next(i for i, cell in enumerate(source.cells) if notebooks.is_code_answer(cell))
    with mock.patch("matplotlib.pyplot.show"):
        for index in range(first_answer):
            _run_cell(prepared, index)
    prepared.start = first_answer
    return prepared


def judge(notebook_name: str, submitted, settings: Settings | None = None,
          prepared: Prepared | None = None) -> dict[str, Verdict]:
    """Run the instructor's notebook with the student's answers; a verdict per test cell."""
    prepared = prepared or prepare(notebook_name)
    release = notebooks.read(RELEASE_DIR / f"{notebook_name}.ipynb")
    student = Student(student_answers(submitted, release), prepared.namespace,
                      settings or Settings.from_environment())
    verdicts = {}
    with mock.patch("matplotlib.pyplot.show"):
        for index in range(prepared.start, len(prepared.cells)):
            verdicts.update(_run_cell(prepared, index, student))
    return verdicts


def _run_cell(prepared: Prepared, index: int, student: Student | None = None) -> dict:
    """Run one of the instructor's cells; a test cell gives its verdict."""
    cell, name = prepared.cells[index], f"{prepared.name}[{index}]"
    if cell.cell_type != "code":
        return {}
    grade_id = notebooks.grade_id(cell)
    if notebooks.is_code_answer(cell):
        _run_quietly(prepared.stubs[grade_id], name, prepared.namespace)
        install_proxies(prepared.namespace, student, prepared.stubs[grade_id])
    elif notebooks.is_test(cell):
        return {grade_id: _run_test(cell.source, name, prepared.namespace)}
    else:
        with contextlib.suppress(Exception):  # e.g. a name the student never defined
            _run_quietly(cell.source, name, prepared.namespace)
    return {}


def _run_quietly(source: str, name: str, namespace: dict) -> str:
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(io.StringIO()):
        exec(compile(source, name, "exec"), namespace)  # noqa: S102 - the instructor's cell
    return output.getvalue()


def _run_test(source: str, name: str, namespace: dict) -> Verdict:
    try:
        return Verdict(True, _run_quietly(source, name, namespace))
    except Exception as error:  # noqa: BLE001 - any failure fails the test
        return Verdict(False, f"{type(error).__name__}: {error}")


def verdicts_json(notebook_name: str, path: Path, settings: Settings | None = None) -> str:
    verdicts = judge(notebook_name, notebooks.read(path), settings)
    return json.dumps({k: asdict(v) for k, v in verdicts.items()})


def main(argv: list[str] | None = None) -> int:
    notebook_name, path = (argv or sys.argv[1:])[:2]
    print(verdicts_json(notebook_name, Path(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

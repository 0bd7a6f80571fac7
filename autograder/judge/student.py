"""The student, seen from the judge: proxies that call their code within its limits.

Each function or method the student wrote stands in the judge's namespace as a proxy
(``StudentFunction``, ``student_method``); calling it runs the student's answer cells and that
one call in a confined child (``autograder.judge.child``, ``autograder.judge.sandbox``) and
brings back only data (``autograder.judge.transport``).
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import gc
import hashlib
import random
import time
from pathlib import Path

import torch

from autograder.course import notebooks
from autograder.judge import memo, transport
from autograder.judge.child import call_in_child
from autograder.judge.faults import GradingError
from autograder.config import RunConfig
from autograder.course.parts import TRAINING_FUNCTIONS
from autograder.judge.limits import Limits
from autograder.judge.memo import fingerprint, keep_call, load_call
from autograder.judge.sandbox import run_confined
from autograder.phases import phase, record


def call_seconds(settings: RunConfig, function: str) -> float:
    """The wall-clock limit on one call of the student's ``function``: a function that trains
    (a part's ``trains``) gets the cell limit, any other the quick one (at most the cell's)."""
    if function in TRAINING_FUNCTIONS:
        return settings.cell_seconds
    return min(settings.cell_seconds, settings.quick_seconds)


class StudentCodeError(AssertionError):
    """The student's code failed, crashed or ran out of time inside the sandbox."""


class Student:
    """A submission's answer cells, and a way to call into them in a confined child."""

    def __init__(self, answers: list[tuple[str, str]], namespace: dict, settings: RunConfig,
                 notebook: str = ""):
        self.answers, self.namespace, self.settings = answers, namespace, settings
        self.notebook = notebook
        self.deadline = time.monotonic() + settings.notebook_seconds
        self.stopped: dict[str, str] = {}  # what was stopped once (time, memory, processes) is
        # not run again: waiting for it, or letting it fill the machine, again is pointless
        self.memo = Path(settings.memo) if settings.memo else None  # calls kept for replay
        self.chain = fingerprint(["student", notebook, answers]).hexdigest()

    def call(self, name: str, target, args: tuple, kwargs: dict, owner=None,
             patches: dict | None = None, how: str = "call"):
        """``target(namespace)`` is the student's callable ``name`` (``how``: which use of it,
        for the memo); call it with the arguments in a child and return what it returned,
        after applying its changes to the arguments."""
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

        left = self.deadline - time.monotonic()
        if left <= 1:
            raise StudentCodeError("the notebook's time limit was reached before this test")
        start = self._start(name, how, roots) if self.memo else None  # no memo: no digests
        kept = load_call(self.memo, start)
        if kept:
            seconds, data = kept
            self.deadline -= seconds  # a replay costs the notebook's budget what the run did
            record("replayed call", 0.0, self.notebook, function=name)
        else:
            task = functools.partial(call_in_child, self.answers, self.namespace, target,
                                     args, kwargs, roots, self.settings.device, random.getstate())
            try:
                seconds, data = self._confined(name, task, left)
            except StudentCodeError as error:
                self.chain = _digest(self.chain, start, str(error).encode())
                raise
        payload = transport.loads(data)
        if self.memo:  # every answer is history, kept or not (an unkept one too)
            self.chain = _digest(self.chain, start, _answer_digest(payload, data))
            if not kept and "grader_error" not in payload:
                keep_call(self.memo, start, seconds, data)
        if "error" in payload or "grader_error" in payload:
            raise _as_exception(payload)
        decoder = transport.Decoder(roots)
        for name, value in payload["roots"].items():
            transport.update_in_place(roots[name], decoder.decode(value))
        return decoder.decode(payload["result"])

    def _start(self, name: str, how: str, roots: dict) -> str | None:
        """What a call starts from, as a digest: the student's answers and every call before it
        in this notebook (``chain``: what each gave back), which call it is, its arguments'
        content and the judge's random state (the child's); None if its arguments cannot be
        fingerprinted (it just runs, unkept)."""
        try:
            return fingerprint(["student call", self.chain, name, how, roots,
                                memo.comparable_random_state(), self.settings.device]).hexdigest()
        except Exception:  # noqa: BLE001 - Unfingerprintable, or the memo's own fault: no
            return None    # call may fail because it could not be kept

    def _confined(self, name: str, task, left: float) -> tuple[float, bytes]:
        """Run ``task`` in a confined child: (seconds, the encoded answer it sent back)."""
        # Frozen, the grader's objects are out of the child's garbage collector's sight: what
        # the child lets go of stays unreachable, and the child need not walk the whole heap.
        gc.freeze()
        started = time.monotonic()
        try:
            with phase("sandboxed call", notebook=self.notebook, function=name):
                outcome = run_confined(task, Limits(
                    seconds=min(call_seconds(self.settings, name), left),
                    memory_bytes=self.settings.memory_bytes, processes=self.settings.processes,
                    cpus=max(1, torch.get_num_threads()), gpu=self.settings.wants_gpu()))
        finally:
            gc.unfreeze()
        if outcome.data is None:
            if not outcome.started:  # it went wrong before any code of the student's ran
                raise GradingError(f"the grader failed before {name} ran: {outcome.problem}")
            if outcome.stopped:
                self.stopped[name] = outcome.problem
            raise StudentCodeError(f"{name}: {outcome.problem}")
        payload = transport.loads(outcome.data)
        if "grader_error" in payload and not outcome.started:
            raise GradingError(f"the grader failed before {name} ran: {payload['grader_error']}")
        _record_clock(payload.get("clock"), started, time.monotonic(), self.notebook, name)
        return time.monotonic() - started, outcome.data


def _answer_digest(payload: dict, data: bytes) -> str:
    """What a call gave back, less when (the child's clock), as a digest."""
    try:
        return fingerprint({k: v for k, v in payload.items() if k != "clock"}).hexdigest()
    except Exception:  # noqa: BLE001 - Unfingerprintable: only the same bytes, the same history
        return hashlib.sha256(data).hexdigest()


def _digest(*parts: str | bytes | None) -> str:
    digest = hashlib.sha256()
    for part in parts:
        part = b"" if part is None else part if isinstance(part, bytes) else part.encode()
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _record_clock(clock: dict | None, started: float, ended: float, notebook: str,
                  name: str) -> None:
    """Where a sandboxed call's time went, from the child's clock (the same monotonic one)."""
    if clock:
        record("confinement", clock["entered"] - started, notebook, function=name)
        record("student's answer cells", clock["answer cells"], notebook, function=name)
        record("student's call", clock["call"], notebook, function=name)
        record("sending back", ended - clock["sent"], notebook, function=name)


def _as_exception(payload: dict) -> BaseException:
    """The student's exception, as the same built-in type when it is one (checks catch some),
    marked ``from_student``: a check that lets it through failed because of the student."""
    kind = getattr(builtins, str(payload.get("error")), None)
    message = str(payload.get("message", payload.get("grader_error", "")))
    if payload.get("where"):
        message = f"{message}\n{payload['where']}".rstrip()
    error = None
    if isinstance(kind, type) and issubclass(kind, Exception) and kind is not StopIteration:
        with contextlib.suppress(TypeError):
            error = kind(message)
    error = error or StudentCodeError(f"your code raised {payload.get('error')}: {message}")
    error.from_student = True
    return error


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

    def each(self, calls: list[tuple]) -> list:
        """``[f(*args) for args in calls]`` in one confined child, not one child per call: for
        checks that try a pure function on many cases (confining a call costs about 0.1 s).
        The cases share one call's time limit: the honest code takes milliseconds a case."""
        name = self.__name__
        return self.student.call(name, lambda ns: lambda calls: [ns[name](*args) for args in calls],
                                 (list(calls),), {}, patches=dict(self.__globals__),
                                 how="each")

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


def install_proxies(namespace: dict, student: Student, release_source: str) -> None:
    functions, methods = notebooks.answer_names(release_source)
    for name in functions:
        namespace[name] = StudentFunction(student, name)
    for class_name, names in methods.items():
        for method in names:
            setattr(namespace[class_name], method, student_method(student, class_name, method))

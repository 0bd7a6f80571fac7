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

import contextlib
import io
import json
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from unittest import mock

from autograder.course import notebooks
from autograder.course.paths import RELEASE_DIR, SOLUTIONS_DIR
from autograder.course.parts import TRAINING_FUNCTIONS
from autograder.judge.faults import ENAME, GradingError
from autograder.judge.memo import memo_folder, memoized
from autograder.judge.reference import reference
from autograder.judge.sandbox import finish_pending
from autograder import config
from autograder.config import RunConfig
from autograder.judge.student import Student, install_proxies
from autograder.phases import phase
from dpr_course import baselines


PREPARED_SEED = 0  # of Python's generator, where a notebook's preparation starts


@dataclass
class Verdict:
    passed: bool
    output: str
    fault: bool = False  # the grader's, not the student's: the test is not scored (faults.py)


def grading_error(message: str) -> Verdict:
    return Verdict(False, f"{ENAME}: {message}", fault=True)


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
    """A notebook run up to its first answer cell: the same for every student. Judging runs
    its cells from ``start`` to ``end``, its last test cell: what comes after (plots, things
    to explore) decides no point."""
    name: str
    cells: list
    release: object
    stubs: dict
    namespace: dict
    start: int
    end: int
    failed: str = ""  # why the instructor's cells before the first answer did not run
    python_random: tuple | None = None  # Python's generator, prepared (a fork reseeds it)


def prepare(notebook_name: str) -> Prepared:
    source = notebooks.read(SOLUTIONS_DIR / f"{notebook_name}.ipynb")
    release = notebooks.read(RELEASE_DIR / f"{notebook_name}.ipynb")
    stubs = {notebooks.grade_id(c): c.source for c in release.cells if notebooks.is_code_answer(c)}
    end = 1 + max((i for i, cell in enumerate(source.cells) if notebooks.is_test(cell)), default=-1)
    prepared = Prepared(notebook_name, source.cells, release, stubs, {"__name__": "__main__"},
                        0, end)
    first_answer = next(i for i, cell in enumerate(source.cells) if notebooks.is_code_answer(cell))
    # Python reseeds its generator from the OS's entropy in every forked process: from a fixed
    # seed, kept with the prepared state, every run judges from the same start (so a slow call
    # of a student's code can be replayed, ``autograder.judge.memo``, and code that draws from
    # it unseeded is graded the same twice).
    random.seed(PREPARED_SEED)
    with mock.patch("matplotlib.pyplot.show"):
        for index in range(first_answer):
            try:  # no code of the student's is involved yet: a failure is the grader's
                _run_cell(prepared, index, strict=True)
                _memoize_shared(prepared.namespace)  # the preparation's own training runs too
            except Exception as error:  # noqa: BLE001 - every test of the notebook says so
                prepared.failed = f"the course's cell {index} failed: {type(error).__name__}: {error}"
                break
    prepared.start = first_answer
    _memoize_shared(prepared.namespace)
    # What the hidden checks compare with, computed once for all; the reference's runs they
    # make from the same weights and data for every student are shared runs too.
    _memoize_shared(reference(notebook_name))
    prepared.python_random = random.getstate()
    return prepared


# The provided code's long computations, the same for every student with the same start: its
# training runs, and retrieval over the KB, dense and BM25 (from the course's library, which
# the instructor's cells import as they go).
SHARED = TRAINING_FUNCTIONS | {"get_topk_candidates"}
SHARED_LIBRARY = ((baselines, "bm25_topk_candidates"),)


def _memoize_shared(namespace: dict) -> None:
    """The ``SHARED`` functions in ``namespace`` (what an earlier part provides, or the
    reference's), and the library's, run once per course version for each distinct start
    (``autograder.judge.memo``); a student's own are never memoized (their answer cell puts a
    proxy in their place)."""
    folder = memo_folder()
    if folder is None:
        return
    for name in sorted(SHARED & namespace.keys()):
        if not hasattr(namespace[name], "memo"):
            namespace[name] = memoized(namespace[name], folder)
    for module, name in SHARED_LIBRARY:
        if not hasattr(getattr(module, name), "memo"):
            setattr(module, name, memoized(getattr(module, name), folder))


def judge(notebook_name: str, submitted, settings: RunConfig | None = None,
          prepared: Prepared | None = None) -> dict[str, Verdict]:
    """Run the instructor's notebook with the student's answers; a verdict per test cell."""
    prepared = prepared or prepare(notebook_name)
    if prepared.failed:
        return {notebooks.grade_id(cell): grading_error(prepared.failed)
                for cell in prepared.cells[prepared.start:prepared.end] if notebooks.is_test(cell)}
    if prepared.python_random is not None:
        random.setstate(prepared.python_random)
    student = Student(student_answers(submitted, prepared.release), prepared.namespace,
                      settings or config.current(), notebook_name)
    verdicts = {}
    with mock.patch("matplotlib.pyplot.show"):
        for index in range(prepared.start, prepared.end):
            verdicts.update(_run_cell(prepared, index, student))
    return verdicts


def _run_cell(prepared: Prepared, index: int, student: Student | None = None,
              strict: bool = False) -> dict:
    """Run one of the instructor's cells; a test cell gives its verdict. A free cell may fail
    (it may use a name the student never defined) unless ``strict``."""
    cell, name = prepared.cells[index], f"{prepared.name}[{index}]"
    if cell.cell_type != "code":
        return {}
    grade_id = notebooks.grade_id(cell)
    if notebooks.is_code_answer(cell):
        _run_quietly(prepared.stubs[grade_id], name, prepared.namespace)
        install_proxies(prepared.namespace, student, prepared.stubs[grade_id])
    elif notebooks.is_test(cell):
        with phase("check", notebook=prepared.name, test=grade_id):
            return {grade_id: _run_test(cell, name, prepared)}
    else:
        with contextlib.suppress(*(() if strict else (Exception,))), \
                phase("instructor's cell", prepared.name, cell=index):
            _run_quietly(cell.source, name, prepared.namespace)
    return {}


def _run_quietly(source: str, name: str, namespace: dict) -> str:
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(io.StringIO()):
        exec(compile(source, name, "exec"), namespace)  # noqa: S102 - the instructor's cell
    return output.getvalue()


def _run_test(cell, name: str, prepared: Prepared) -> Verdict:
    """A test cell's verdict: passed, failed (the student's), or a fault of the grader: one
    before the student's code ran, or a hidden check that breaks on the reference too."""
    try:
        return Verdict(True, _run_quietly(cell.source, name, prepared.namespace))
    except GradingError as fault:
        return grading_error(str(fault))
    except Exception as error:  # noqa: BLE001 - any other failure fails the test
        failed = Verdict(False, f"{type(error).__name__}: {error}")
        if isinstance(error, AssertionError) or getattr(error, "from_student", False) \
                or not notebooks.is_hidden_test(cell):
            return failed
        broken = _fails_on_the_reference(cell, name, prepared)
        if broken:
            return grading_error(f"the hidden test broke ({type(error).__name__}: {error}) and "
                                 f"breaks on the reference solution too ({broken})")
        return failed


def _fails_on_the_reference(cell, name: str, prepared: Prepared) -> str:
    """Why a hidden check fails when handed the reference's answers instead of the student's
    (empty if it passes): the check crashed on what the student's code gave it, or is broken."""
    solution = reference(prepared.name)
    namespace = dict(prepared.namespace)
    for stub in prepared.stubs.values():
        functions, methods = notebooks.answer_names(stub)
        namespace.update({key: solution[key] for key in [*functions, *methods] if key in solution})
    try:
        _run_quietly(cell.source, name, namespace)
    except Exception as error:  # noqa: BLE001 - reported as the grader's fault
        return f"{type(error).__name__}: {error}"
    return ""


def verdicts_json(notebook_name: str, path: Path, settings: RunConfig | None = None) -> str:
    verdicts = judge(notebook_name, notebooks.read(path), settings)
    return json.dumps({k: asdict(v) for k, v in verdicts.items()})


def main(argv: list[str] | None = None) -> int:
    import torch

    notebook_name, path = (argv or sys.argv[1:])[:2]
    settings = config.current()
    torch.set_num_threads(settings.threads)
    print(verdicts_json(notebook_name, Path(path), settings), flush=True)
    finish_pending()
    return 0


if __name__ == "__main__":
    sys.exit(main())

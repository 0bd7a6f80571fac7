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
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from unittest import mock

from autograder.course import notebooks
from autograder.course.paths import RELEASE_DIR, SOLUTIONS_DIR
from autograder.course.stages import TRAINING_FUNCTIONS
from autograder.judge.memo import memo_folder, memoized
from autograder.judge.reference import reference
from autograder.judge.sandbox import finish_pending
from autograder.judge.student import Settings, Student, install_proxies
from autograder.phases import phase
from dpr_course import baselines


@dataclass
class Verdict:
    passed: bool
    output: str


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


def prepare(notebook_name: str) -> Prepared:
    source = notebooks.read(SOLUTIONS_DIR / f"{notebook_name}.ipynb")
    release = notebooks.read(RELEASE_DIR / f"{notebook_name}.ipynb")
    stubs = {notebooks.grade_id(c): c.source for c in release.cells if notebooks.is_code_answer(c)}
    end = 1 + max((i for i, cell in enumerate(source.cells) if notebooks.is_test(cell)), default=-1)
    prepared = Prepared(notebook_name, source.cells, release, stubs, {"__name__": "__main__"},
                        0, end)
    first_answer = next(i for i, cell in enumerate(source.cells) if notebooks.is_code_answer(cell))
    with mock.patch("matplotlib.pyplot.show"):
        for index in range(first_answer):
            _run_cell(prepared, index)
    prepared.start = first_answer
    _memoize_shared(prepared.namespace)
    reference(notebook_name)  # what the hidden checks compare with, computed once for all
    return prepared


# The provided code's long computations, the same for every student with the same start: its
# training runs, and retrieval over the KB, dense and BM25 (from the course's library, which
# the instructor's cells import as they go).
SHARED = TRAINING_FUNCTIONS | {"get_topk_candidates"}
SHARED_LIBRARY = ((baselines, "bm25_topk_candidates"),)


def _memoize_shared(namespace: dict) -> None:
    """The ``SHARED`` functions an earlier part provides, and the library's, run once per
    grading run for each distinct start (``autograder.judge.memo``); a student's own are never
    memoized (their answer cell puts a proxy in their place)."""
    folder = memo_folder()
    if folder is None:
        return
    for name in sorted(SHARED & namespace.keys()):
        namespace[name] = memoized(namespace[name], folder)
    for module, name in SHARED_LIBRARY:
        if not hasattr(getattr(module, name), "memo"):
            setattr(module, name, memoized(getattr(module, name), folder))


def judge(notebook_name: str, submitted, settings: Settings | None = None,
          prepared: Prepared | None = None) -> dict[str, Verdict]:
    """Run the instructor's notebook with the student's answers; a verdict per test cell."""
    prepared = prepared or prepare(notebook_name)
    student = Student(student_answers(submitted, prepared.release), prepared.namespace,
                      settings or Settings.from_environment(), notebook_name)
    verdicts = {}
    with mock.patch("matplotlib.pyplot.show"):
        for index in range(prepared.start, prepared.end):
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
        with phase("check", notebook=prepared.name, test=grade_id):
            return {grade_id: _run_test(cell.source, name, prepared.namespace)}
    else:
        with contextlib.suppress(Exception), phase("instructor's cell", prepared.name, cell=index):
            _run_quietly(cell.source, name, prepared.namespace)  # may fail: a name never defined
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
    import torch

    notebook_name, path = (argv or sys.argv[1:])[:2]
    settings = Settings.from_environment()
    torch.set_num_threads(settings.judge_threads())
    print(verdicts_json(notebook_name, Path(path), settings), flush=True)
    finish_pending()
    return 0


if __name__ == "__main__":
    sys.exit(main())

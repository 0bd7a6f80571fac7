"""Hidden test cells, generated from the checks that declare them.

A check in ``autograder.checks.<part>`` declares its grade id, points and the notebook objects
it is called with (``@hidden_test``, ``autograder/checks/__init__.py``). ``build`` writes one
test cell per declaration into the part's solution notebook (a cell that is already there
keeps its place; a new one goes after the visible tests of the answer cell that defines what
it is called with), and removes the hidden test cells no check declares any more; nbgrader then
generates the release from ``solutions/``. ``validate`` fails while a cell and its declaration
disagree. So a hidden test is written in one place: next to its code.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass

import nbformat

from autograder.course import notebooks
from autograder.course.paths import SOLUTIONS_DIR
from autograder.course.parts import PARTS, Part


HIDDEN_PREFIX = "# Hidden test: "


@dataclass(frozen=True)
class HiddenTest:
    grade_id: str
    points: float
    on: tuple[str, ...]       # the notebook names the check is called with
    module: str               # where the check lives: autograder.checks.encoder
    function: str
    about: str                # the docstring's first paragraph

    def cell_source(self, begin: str, end: str) -> str:
        package, _, module = self.module.rpartition(".")
        return "\n".join([f"{HIDDEN_PREFIX}{self.about}", begin,
                          f"from {package} import {module} as checks",
                          f"checks.{self.function}({', '.join(self.on)})", end])


DECLARED: dict[str, HiddenTest] = {}  # grade_id -> declaration, in the order they are imported


def declare(test: HiddenTest) -> None:
    """Record a check's declaration (``autograder.checks.hidden_test``); a grade id is one check's."""
    known = DECLARED.get(test.grade_id, test)
    if known != test:
        raise ValueError(f"{test.grade_id} is declared twice: by {known.module}.{known.function} "
                         f"and {test.module}.{test.function}")
    DECLARED[test.grade_id] = test


def declared_in(module_name: str) -> list[HiddenTest]:
    """The hidden tests that ``module_name`` (a part's checks: a module or a package) declares,
    in the order they are declared."""
    importlib.import_module(module_name)
    return [t for t in DECLARED.values()
            if t.module == module_name or t.module.startswith(module_name + ".")]


def _points(value: float):
    return int(value) if float(value).is_integer() else value


def _metadata(test: HiddenTest) -> dict:
    return {"grade": True, "grade_id": test.grade_id, "locked": True,
            "points": _points(test.points), "schema_version": 3, "solution": False,
            "task": False}


def _defines(cell, names: tuple[str, ...]) -> bool:
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return False
    defined = {node.name for node in tree.body
               if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    return bool(defined & set(names))


def _insert_at(cells: list, test: HiddenTest) -> int:
    """After the answer cell that defines what ``test`` is called with and the tests after it."""
    answer = next((i for i, c in enumerate(cells)
                   if notebooks.is_code_answer(c) and _defines(c, test.on)), None)
    if answer is None:
        raise ValueError(f"{test.module}.{test.function} ({test.grade_id}) is called with "
                         f"{', '.join(test.on)}, which no answer cell of its notebook defines")
    index = answer + 1
    while index < len(cells) and (notebooks.is_test(cells[index])
                                  or cells[index].cell_type == "markdown"
                                  and not notebooks.is_answer(cells[index])
                                  and index + 1 < len(cells)
                                  and notebooks.is_test(cells[index + 1])):
        index += 1
    return index


def updated(notebook, part: Part) -> list[str]:
    """Bring ``notebook``'s hidden test cells in line with ``part``'s declarations, in place;
    say what changed (empty: nothing)."""
    declared = {test.grade_id: test for test in declared_in(part.checks)}
    changes = []
    for cell in list(notebook.cells):
        if notebooks.is_hidden_test(cell) and notebooks.grade_id(cell) not in declared:
            notebook.cells.remove(cell)
            changes.append(f"{part.notebook}:{notebooks.grade_id(cell)} removed: no check "
                           f"in {part.checks} declares it")
    cells = {notebooks.grade_id(c): c for c in notebook.cells if notebooks.grade_id(c)}
    for grade_id, test in declared.items():
        source = test.cell_source(notebooks.BEGIN_HIDDEN, notebooks.END_HIDDEN)
        cell = cells.get(grade_id)
        if cell is None:
            cell = nbformat.v4.new_code_cell(source, metadata={"nbgrader": _metadata(test)})
            cell.pop("id", None)
            notebook.cells.insert(_insert_at(notebook.cells, test), cell)
            changes.append(f"{part.notebook}:{grade_id} added")
        elif notebooks.is_test(cell) and not notebooks.is_hidden_test(cell):
            raise ValueError(f"{part.notebook}: {grade_id} is a visible test cell, but "
                             f"{test.module}.{test.function} declares it as a hidden test")
        elif cell.source != source or notebooks.grade_info(cell) != _metadata(test):
            cell.source = source
            cell.metadata["nbgrader"] = _metadata(test)
            changes.append(f"{part.notebook}:{grade_id} rewritten from {test.module}")
    return changes


def stale_cells() -> list[str]:
    """What ``build`` would change in the hidden test cells of ``solutions/``."""
    return [change for part in PARTS for change in
            updated(notebooks.read(SOLUTIONS_DIR / f"{part.notebook}.ipynb"), part)]


def regenerate() -> list[str]:
    """Write every part's hidden test cells into ``solutions/``; say what changed."""
    changes = []
    for part in PARTS:
        path = SOLUTIONS_DIR / f"{part.notebook}.ipynb"
        notebook = notebooks.read(path)
        changed = updated(notebook, part)
        if changed:
            notebooks.write(notebook, path)
            changes += changed
    return changes

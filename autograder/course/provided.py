"""Part isolation: what a part needs from earlier parts, generated from their reference.

Part k of the course uses code written in parts 1 .. k-1 (the encoder, the evaluation, the
loss, the training loop). Students get it as *provided* cells: one locked cell per earlier part,
named ``provided_<notebook>``, holding that part's cells tagged ``carry-forward`` with the
reference solution filled in. A mistake in part 1 therefore never costs points in part 2, and
nothing is copied by hand: ``python -m autograder build`` regenerates these cells in
``solutions/`` (then nbgrader generates the release from them), and ``validate`` fails when
they are out of date.
"""

from __future__ import annotations

from autograder.course import notebooks
from autograder.course.paths import SOLUTIONS_DIR
from autograder.course.parts import PARTS, by_notebook, notebook_names

CARRY_TAG = "carry-forward"
PREFIX = "provided_"
HEADER = (
    "# Provided: {title}, from its reference solution.\n"
    "# Written by the course's build from the reference solution of {name}.ipynb;\n"
    "# changes made here are overwritten when the notebook is graded."
)


def _title(name: str) -> str:
    """'part 1 of 5 (the encoder)'."""
    part = by_notebook(name)
    return f"part {part.number} of {len(PARTS)} ({part.title[:1].lower() + part.title[1:]})"


def without_solution_markers(source: str) -> str:
    return "\n".join(line for line in source.split("\n")
                     if line.strip() not in (notebooks.BEGIN_SOLUTION, notebooks.END_SOLUTION))


def carried_source(name: str) -> str:
    """The source of the provided cell that carries notebook ``name`` into later parts."""
    notebook = notebooks.read(SOLUTIONS_DIR / f"{name}.ipynb")
    carried = [without_solution_markers(cell.source) for cell in notebook.cells
               if CARRY_TAG in cell.metadata.get("tags", [])]
    if not carried:
        raise ValueError(f"{name}.ipynb has no cells tagged {CARRY_TAG!r} to provide")
    return "\n\n\n".join([HEADER.format(title=_title(name), name=name), *carried])


def provided_cells(notebook):
    """``(cell, source notebook name)`` for every provided cell of a solution notebook."""
    names = set(notebook_names())
    for cell in notebook.cells:
        cell_id = notebooks.grade_id(cell) or ""
        if cell_id.startswith(PREFIX):
            source_name = cell_id[len(PREFIX):]
            if source_name not in names:
                raise ValueError(f"provided cell {cell_id!r} names no notebook of the course")
            yield cell, source_name


def stale_cells() -> list[str]:
    """``notebook:grade_id`` of every provided cell whose source is out of date."""
    stale = []
    for name in notebook_names():
        notebook = notebooks.read(SOLUTIONS_DIR / f"{name}.ipynb")
        for cell, source_name in provided_cells(notebook):
            if cell.source != carried_source(source_name):
                stale.append(f"{name}:{notebooks.grade_id(cell)}")
    return stale


def regenerate() -> list[str]:
    """Rewrite every stale provided cell in ``solutions/``; return the names of those changed."""
    changed = []
    for name in notebook_names():  # in course order, so part k sees parts < k already updated
        path = SOLUTIONS_DIR / f"{name}.ipynb"
        notebook = notebooks.read(path)
        updated = False
        for cell, source_name in provided_cells(notebook):
            source = carried_source(source_name)
            if cell.source != source:
                cell.source = source
                updated = True
                changed.append(f"{name}:{notebooks.grade_id(cell)}")
        if updated:
            notebooks.write(notebook, path)
    return changed

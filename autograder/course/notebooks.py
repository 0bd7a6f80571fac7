"""Reading and writing notebooks, and finding nbgrader's cells in them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
# nbgrader's markers around the code of a hidden test (ClearHiddenTests removes it from the release)
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def write(notebook: nbformat.NotebookNode, path: Path) -> None:
    """Write without outputs or execution counts, so that builds are byte-stable."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))


def grade_info(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell) -> str | None:
    return grade_info(cell).get("grade_id")


def is_test(cell) -> bool:
    return bool(grade_info(cell).get("grade")) and not grade_info(cell).get("solution")


def is_hidden_test(cell) -> bool:
    return is_test(cell) and BEGIN_HIDDEN in cell.source


def is_answer(cell) -> bool:
    return bool(grade_info(cell).get("solution"))


def is_code_answer(cell) -> bool:
    """An answer the student writes as code (the others are written answers, graded by hand)."""
    return cell.cell_type == "code" and is_answer(cell)


def is_locked_code(cell) -> bool:
    info = grade_info(cell)
    return cell.cell_type == "code" and bool(info.get("locked")) and not info.get("grade")


def cell_by_id(notebook, wanted: str):
    for cell in notebook.cells:
        if grade_id(cell) == wanted:
            return cell
    raise KeyError(f"no cell with grade_id {wanted!r}")


def solution_region(source: str) -> str:
    """The code between BEGIN/END SOLUTION, dedented: what a student types into the stub."""
    match = re.search(
        rf"^([ \t]*){re.escape(BEGIN_SOLUTION)}[^\n]*\n(.*?)^[ \t]*{re.escape(END_SOLUTION)}",
        source,
        flags=re.S | re.M,
    )
    if not match:
        raise ValueError("no ### BEGIN SOLUTION ... ### END SOLUTION region")
    indent, body = match.groups()
    return "\n".join(line[len(indent):] if line.startswith(indent) else line
                     for line in body.rstrip("\n").split("\n"))


TEXT_STUB = "YOUR ANSWER HERE"


def is_manual(cell) -> bool:
    """An answer graded by hand (a written answer; nbgrader's formgrader)."""
    return cell.cell_type == "markdown" and is_answer(cell) and bool(grade_info(cell).get("grade"))


def fill_stub(source: str, answer: str) -> str:
    """Replace the release's ``# YOUR CODE HERE / raise NotImplementedError()`` with ``answer``,
    indented like the stub (or, in a written answer, the line ``YOUR ANSWER HERE``)."""
    lines = source.split("\n")
    if TEXT_STUB in lines:
        index = lines.index(TEXT_STUB)
        return "\n".join(lines[:index] + answer.rstrip("\n").split("\n") + lines[index + 1:])
    for i, line in enumerate(lines):
        if line.strip() == "# YOUR CODE HERE" and i + 1 < len(lines) \
                and lines[i + 1].strip() == "raise NotImplementedError()":
            indent = line[: len(line) - len(line.lstrip())]
            filled = [indent + row if row.strip() else "" for row in answer.rstrip("\n").split("\n")]
            return "\n".join(lines[:i] + filled + lines[i + 2:])
    raise ValueError("no '# YOUR CODE HERE' stub in this cell")


def answer_names(release_source: str) -> tuple[list[str], dict[str, list[str]]]:
    """What the student writes in an answer cell: its top-level functions, and per class the
    methods with a stub to fill (``raise NotImplementedError``)."""
    functions, methods = [], {}
    for node in ast.parse(release_source).body:
        if isinstance(node, ast.FunctionDef):
            functions.append(node.name)
        elif isinstance(node, ast.ClassDef):
            methods[node.name] = [
                item.name for item in node.body if isinstance(item, ast.FunctionDef)
                and "NotImplementedError" in ast.get_source_segment(release_source, item)]
    return functions, methods

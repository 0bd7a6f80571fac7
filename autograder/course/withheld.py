"""What a release withholds from students, and what it shows by design.

A release through part N shows, by design, every cell of the solution notebooks 1 to N except
the code of their answers and hidden tests: the headings and explanations, the stubs, the
visible tests, and the provided cells, which hold the reference answers of the parts before N.
It withholds the hidden tests of every part and the answers of part N and later. A line is a
leak when it is withheld and not also shown: an answer of part 6 may share a line with the
reference code of part 2 (``num_correct = {k: 0 for k in k_values}``), which part 3 provides.
"""

from __future__ import annotations

from autograder.course import notebooks
from autograder.course.paths import SOLUTIONS_DIR
from autograder.course.parts import notebook_names

# The markers nbgrader removes with what they enclose: never in a release.
MARKERS = tuple(marker.lstrip("# ") for marker in (
    notebooks.BEGIN_SOLUTION, notebooks.END_SOLUTION, notebooks.BEGIN_HIDDEN, notebooks.END_HIDDEN))


def answer_lines(solution) -> list[str]:
    """Lines of the reference answers, which must never reach students before their deadline."""
    lines = []
    for cell in solution.cells:
        if notebooks.is_answer(cell):
            lines += notebooks.solution_region(cell.source).splitlines()
    return _telling(lines)


def hidden_test_lines(solution) -> list[str]:
    """Lines of the hidden tests, which must never reach students."""
    lines = []
    for cell in solution.cells:
        if notebooks.BEGIN_HIDDEN in cell.source:
            lines += _between(cell.source, notebooks.BEGIN_HIDDEN, notebooks.END_HIDDEN)[1]
    return _telling(lines)


def shown_lines(solution) -> set[str]:
    """Lines the release of ``solution`` shows: each cell without its answer or hidden code."""
    shown = []
    for cell in solution.cells:
        source = cell.source
        for begin, end in ((notebooks.BEGIN_SOLUTION, notebooks.END_SOLUTION),
                           (notebooks.BEGIN_HIDDEN, notebooks.END_HIDDEN)):
            while begin in source:
                before, _, after = _between(source, begin, end)
                source = "\n".join(before + after)
        shown += source.splitlines()
    return set(_telling(shown))


def withheld(through: int) -> set[str]:
    """The telling lines a release of parts 1 to ``through`` must not hold anywhere."""
    names = notebook_names()
    solutions = [notebooks.read(SOLUTIONS_DIR / f"{name}.ipynb") for name in names]
    secret = {line for solution in solutions for line in hidden_test_lines(solution)}
    secret.update(line for solution in solutions[through - 1:] for line in answer_lines(solution))
    shown = "\n".join(set().union(*(shown_lines(solution) for solution in solutions[:through])))
    return {line for line in secret if line not in shown}


def found_in(text: str, lines: set[str]) -> list[str]:
    """Which of ``lines`` are in ``text``, anywhere (a line pasted into another counts)."""
    return sorted(line for line in lines if line in text)


def _between(source: str, begin: str, end: str) -> tuple[list[str], list[str], list[str]]:
    """The lines before the line holding ``begin``, those up to the line holding ``end``, and
    those after it (all of the rest when ``end`` is missing)."""
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines) if begin in line)
    stop = next((i for i in range(start + 1, len(lines)) if end in lines[i]), len(lines))
    return lines[:start], lines[start + 1:stop], lines[stop + 1:]


def _telling(lines: list[str]) -> list[str]:
    # Very short lines ("return x") could appear in the release for innocent reasons.
    return [line.strip() for line in lines if len(line.strip()) > 25]

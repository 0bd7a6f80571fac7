"""CONTRIBUTING.md's stage recipe, proved: a throwaway new stage in a scratch copy of the course
is a registry entry, a solution notebook and a checks module, nothing else; build and grade
take it from there."""

import csv
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder.course.paths import ASSIGNMENT, COURSE_ROOT
from autograder.course.stages import STAGES, notebook_names

NUMBER = len(STAGES) + 1  # the throwaway stage comes after the course's own
NAME = f"{NUMBER:02d}_doubling"

CHECKS = '''"""Hidden checks for a throwaway stage: ``double``."""

from autograder.checks import hidden_test


@hidden_test("test_double_negative", points=2, on="double")
def doubles_negative_numbers(double) -> None:
    """Negative numbers are doubled too."""
    assert double(-3) == -6, f"double(-3) returned {double(-3)!r}, expected -6"
'''
ENTRY = '    ("doubling", "Doubling", "`double`", {"double"}),\n)'


def _nbgrader(grade_id: str, **fields) -> dict:
    return {"nbgrader": {"grade": False, "grade_id": grade_id, "locked": False,
                         "schema_version": 3, "solution": False, "task": False, **fields}}


def _solution_notebook():
    cells = [
        nbformat.v4.new_markdown_cell("# A heading that build replaces\n\nA throwaway part."),
        nbformat.v4.new_code_cell(
            "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
            metadata=_nbgrader("double_answer", solution=True)),
        nbformat.v4.new_code_cell("# Test: two is doubled.\nassert double(2) == 4",
                                  metadata=_nbgrader("test_double_two", grade=True, locked=True,
                                                     points=1)),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}})
    notebook.nbformat_minor = 4
    for cell in notebook.cells:
        cell.pop("id", None)
    return notebook


def _run(course, *args, timeout=900):
    run = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=course,
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout


@pytest.mark.slow
def test_a_new_stage_is_an_entry_a_notebook_and_a_checks_module(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(COURSE_ROOT, course, ignore=shutil.ignore_patterns(
        ".git", ".venv", "grading", "__pycache__", ".pytest_cache", "*.egg-info"))
    # The three places.
    stages = course / "autograder" / "course" / "stages.py"
    text = stages.read_text()
    start = text.index("STAGES = _stages(")
    end = text.index("\n)\n", start)  # the registry's closing parenthesis
    stages.write_text(text[:end + 1] + ENTRY + text[end + 2:])
    nbformat.write(_solution_notebook(),
                   str(course / "solutions" / ASSIGNMENT / f"{NAME}.ipynb"))
    (course / "autograder" / "checks" / "doubling.py").write_text(CHECKS)

    built = _run(course, "build")
    assert f"hidden test cell {NAME}:test_double_negative added" in built
    release = nbformat.read(str(course / "notebooks" / ASSIGNMENT / f"{NAME}.ipynb"), 4)
    text = "\n".join(cell.source for cell in release.cells)
    assert release.cells[0].source.startswith(
        f"# Dense passage retrieval · Part {NUMBER} of {NUMBER} · Doubling")
    assert "# Hidden test: Negative numbers are doubled too." in text
    assert "doubles_negative_numbers" not in text and "return 2 * x" not in text
    first = nbformat.read(str(course / "notebooks" / ASSIGNMENT / "01_encoder.ipynb"), 4)
    assert f"Part 1 of {NUMBER} · The encoder" in first.cells[0].source
    readme = (course / "README.md").read_text()
    assert f"| {NUMBER} · Doubling |" in readme and f"| {NUMBER} | `{NAME}` | `double` | 3 |" in readme

    # Grade the new part alone: the reference sample's and the blank one's.
    submitted = tmp_path / "submitted"
    for student in ("reference", "blank"):
        folder = submitted / student / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(course / "samples" / "submitted" / student / ASSIGNMENT / f"{NAME}.ipynb",
                    folder)
    out = tmp_path / "grades.csv"
    report = _run(course, "grade", str(submitted), "--out", str(out))
    with open(out, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["notebook"] == NAME]
    scores = {(r["student_id"], r["grade_id"]): (float(r["score"]), float(r["max_score"]))
              for r in rows}
    assert scores == {("reference", "test_double_two"): (1, 1),
                      ("reference", "test_double_negative"): (2, 2),
                      ("blank", "test_double_two"): (0, 1),
                      ("blank", "test_double_negative"): (0, 2)}, report
    [header] = [line for line in report.splitlines() if line.startswith("student ")]
    assert header.split()[1:] == [*notebook_names(), NAME, "total"]

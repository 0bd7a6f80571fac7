"""inspect_submission: what can be graded, and a clear message for everything else."""

import json

import nbformat
import pytest

from autograder.course import intake
from autograder.course.intake import inspect_submission
from autograder.course.paths import ASSIGNMENT
from autograder.course.parts import notebook_names

NAMES = notebook_names()


def write_notebook(path, text="x = 1"):
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])
    nbformat.write(notebook, str(path))
    return path


def write_bytes(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def student(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    return folder


@pytest.fixture
def assignment(student):
    folder = student / ASSIGNMENT
    folder.mkdir()
    return folder


def hand_in(assignment, names):
    return {name: write_notebook(assignment / f"{name}.ipynb") for name in names}


def problem_about(result, file):
    """The one problem that names ``file`` (student-relative)."""
    found = [p for p in result.problems if file in p]
    assert len(found) == 1, result.problems
    return found[0]


def test_the_first_five_notebooks_keep_the_guides_names():
    assert NAMES[:5] == ["01_encoder", "02_evaluation", "03_nce_loss", "04_training",
                         "05_hard_negatives"]


def test_a_correct_submission_has_no_problems(assignment):
    files = hand_in(assignment, NAMES)
    result = inspect_submission(assignment.parent)
    assert result.problems == []
    assert result.notebooks == files
    assert list(result.notebooks) == NAMES  # course order


def test_a_missing_student_folder_is_a_programming_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        inspect_submission(tmp_path / "nobody")


def test_no_assignment_folder_lists_what_is_there(student):
    (student / "notes.txt").write_text("hi")
    (student / ".DS_Store").write_text("")
    result = inspect_submission(student)
    assert result.notebooks == {}
    [problem] = result.problems
    assert "no dual_encoder/ folder" in problem
    assert "alice/dual_encoder/" in problem
    assert "notes.txt" in problem and ".DS_Store" not in problem


def test_an_empty_student_folder_says_so(student):
    [problem] = inspect_submission(student).problems
    assert "no dual_encoder/ folder" in problem and "it is empty" in problem


def test_a_folder_nested_by_unzipping_is_pointed_at(student):
    hand_in(student / "submission" / ASSIGNMENT, NAMES)
    result = inspect_submission(student)
    assert result.notebooks == {}
    [problem] = result.problems
    assert "found there: submission/" in problem
    assert "submission/dual_encoder/ looks like it" in problem
    assert "alice/dual_encoder/" in problem


def test_a_misnamed_assignment_folder_is_pointed_at(student):
    hand_in(student / "Dual-Encoder", NAMES[:1])
    [problem] = inspect_submission(student).problems
    assert "Dual-Encoder/ looks like it" in problem


def test_notebooks_directly_in_the_student_folder_are_listed(student):
    hand_in(student, NAMES[:2])
    [problem] = inspect_submission(student).problems
    assert "01_encoder.ipynb, 02_evaluation.ipynb" in problem
    assert "must be in alice/dual_encoder/" in problem


def test_an_empty_assignment_folder(assignment):
    result = inspect_submission(assignment.parent)
    assert result.notebooks == {}
    [problem] = result.problems
    assert problem.startswith("dual_encoder/:") and "no notebooks" in problem
    assert "it is empty" in problem


def test_an_assignment_folder_without_notebooks_lists_what_is_there(assignment):
    (assignment / "dual_encoder.zip").write_bytes(b"PK")
    hand_in(assignment / ".ipynb_checkpoints", NAMES)  # never counts
    [problem] = inspect_submission(assignment.parent).problems
    assert "no notebooks" in problem and "dual_encoder.zip" in problem


def test_missing_notebooks_are_listed_in_one_message(assignment):
    hand_in(assignment, NAMES[:3])
    result = inspect_submission(assignment.parent)
    assert list(result.notebooks) == NAMES[:3]
    assert result.problems == [f"not handed in: {', '.join(NAMES[3:])} (they score 0)"]


def test_one_missing_notebook(assignment):
    hand_in(assignment, NAMES[1:])
    assert inspect_submission(assignment.parent).problems == [
        "not handed in: 01_encoder (it scores 0)"]


def test_not_utf8_gives_the_byte_offset(assignment):
    good = nbformat.writes(nbformat.v4.new_notebook()).encode()
    write_bytes(assignment / "01_encoder.ipynb", good[:10] + b"\xe9" + good[10:])
    hand_in(assignment, NAMES[1:])
    result = inspect_submission(assignment.parent)
    assert "01_encoder" not in result.notebooks
    problem = problem_about(result, "dual_encoder/01_encoder.ipynb")
    assert "not UTF-8" in problem and "offset 10" in problem and "0xe9" in problem


def test_utf16_is_recognised(assignment):
    text = nbformat.writes(nbformat.v4.new_notebook())
    write_bytes(assignment / "01_encoder.ipynb", text.encode("utf-16"))
    problem = problem_about(inspect_submission(assignment.parent), "01_encoder.ipynb")
    assert "not UTF-8" in problem and "offset 0" in problem and "UTF-16" in problem


def test_invalid_json_gives_line_and_column(assignment):
    write_bytes(assignment / "02_evaluation.ipynb", b'{\n  "cells": [\n    oops\n  ]\n}\n')
    result = inspect_submission(assignment.parent)
    problem = problem_about(result, "dual_encoder/02_evaluation.ipynb")
    assert "not valid JSON" in problem and "line 3, column 5" in problem
    assert "02_evaluation" not in result.notebooks


def test_truncated_json(assignment):
    text = nbformat.writes(nbformat.v4.new_notebook())
    write_bytes(assignment / "01_encoder.ipynb", text[: len(text) // 2].encode())
    problem = problem_about(inspect_submission(assignment.parent), "01_encoder.ipynb")
    assert "not valid JSON" in problem and "line" in problem


def test_an_empty_file(assignment):
    write_bytes(assignment / "01_encoder.ipynb", b"")
    problem = problem_about(inspect_submission(assignment.parent), "01_encoder.ipynb")
    assert "is empty" in problem


def test_nbformat_3_is_refused_with_the_version_found(assignment):
    old = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}
    write_bytes(assignment / "03_nce_loss.ipynb", json.dumps(old).encode())
    result = inspect_submission(assignment.parent)
    problem = problem_about(result, "dual_encoder/03_nce_loss.ipynb")
    assert "nbformat 3.0" in problem and "version 4 is required" in problem
    assert "03_nce_loss" not in result.notebooks


@pytest.mark.parametrize("content, expected", [
    ({"cells": []}, "not a Jupyter notebook"),
    ([1, 2], "not a Jupyter notebook (a JSON array"),
    ("notebook", "not a Jupyter notebook (a JSON string"),
    ({"nbformat": "4", "cells": []}, "'4'"),
    ({"nbformat": 4, "nbformat_minor": 5, "metadata": {}}, "no 'cells' list"),
    ({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": {}}, "no 'cells' list"),
])
def test_json_that_is_not_a_notebook(assignment, content, expected):
    write_bytes(assignment / "01_encoder.ipynb", json.dumps(content).encode())
    result = inspect_submission(assignment.parent)
    assert expected in problem_about(result, "01_encoder.ipynb")
    assert "01_encoder" not in result.notebooks


def test_schema_errors_name_the_place(assignment):
    notebook = json.loads(nbformat.writes(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("a"), nbformat.v4.new_code_cell("b")])))
    del notebook["cells"][1]["outputs"]
    write_bytes(assignment / "01_encoder.ipynb", json.dumps(notebook).encode())
    problem = problem_about(inspect_submission(assignment.parent), "01_encoder.ipynb")
    assert "not a valid nbformat 4 notebook" in problem
    assert "'outputs' is a required property at cells[1]" in problem


def test_odd_shapes_inside_a_notebook_do_not_raise(assignment):
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ["not a cell"]}
    write_bytes(assignment / "01_encoder.ipynb", json.dumps(notebook).encode())
    problem = problem_about(inspect_submission(assignment.parent), "01_encoder.ipynb")
    assert "not a valid nbformat 4 notebook" in problem


def test_missing_cell_ids_are_no_problem(assignment):
    notebook = json.loads(nbformat.writes(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("b")])))
    del notebook["cells"][0]["id"]
    write_bytes(assignment / "01_encoder.ipynb", json.dumps(notebook).encode())
    result = inspect_submission(assignment.parent)
    assert "01_encoder" in result.notebooks
    assert not [p for p in result.problems if "01_encoder.ipynb" in p]


def test_a_mixed_submission_keeps_the_good_notebook(assignment):
    good = write_notebook(assignment / "01_encoder.ipynb")
    write_bytes(assignment / "02_evaluation.ipynb", b'{"cells": [}')
    write_bytes(assignment / "03_nce_loss.ipynb", b'{"cells": "caf\xe9"}')
    result = inspect_submission(assignment.parent)
    assert result.notebooks == {"01_encoder": good}
    assert len(result.problems) == 3
    assert "not valid JSON" in problem_about(result, "02_evaluation.ipynb")
    assert "not UTF-8" in problem_about(result, "03_nce_loss.ipynb")
    assert result.problems[-1] == f"not handed in: {', '.join(NAMES[3:])} (they score 0)"


@pytest.mark.parametrize("filename, expected", [
    ("01_Encoder.ipynb", "01_encoder"),
    ("01_encoder (1).ipynb", "01_encoder"),
    ("01_encoder-Copy1.ipynb", "01_encoder"),
    ("Copy of 02_evaluation.ipynb", "02_evaluation"),
    ("encoder.ipynb", "01_encoder"),
    ("01_encoder.ipynb.json", "01_encoder"),
    ("nce loss.ipynb", "03_nce_loss"),
    ("04_train.ipynb", "04_training"),
    ("05_hard_negatives.IPYNB", "05_hard_negatives"),
])
def test_a_misnamed_notebook_is_graded_and_reported(assignment, filename, expected):
    hand_in(assignment, [name for name in NAMES if name != expected])
    path = write_notebook(assignment / filename)
    result = inspect_submission(assignment.parent)
    assert result.notebooks[expected] == path
    [problem] = result.problems
    assert problem.startswith(f"dual_encoder/{filename}:")
    assert f"graded as {expected}.ipynb" in problem
    assert f"name it exactly {expected}.ipynb" in problem


def test_a_notebook_in_a_subfolder_is_graded_and_reported(assignment):
    hand_in(assignment, NAMES[1:])
    path = write_notebook(assignment / "part1" / "01_encoder.ipynb")
    result = inspect_submission(assignment.parent)
    assert result.notebooks["01_encoder"] == path
    [problem] = result.problems
    assert "dual_encoder/part1/01_encoder.ipynb" in problem and "graded as 01_encoder" in problem
    assert "move it to dual_encoder/" in problem


def test_a_misnamed_broken_notebook_reports_both(assignment):
    write_bytes(assignment / "01_Encoder.ipynb", b"{")
    hand_in(assignment, NAMES[1:])
    result = inspect_submission(assignment.parent)
    assert "01_encoder" not in result.notebooks
    assert len(result.problems) == 2  # counted as handed in: not listed as missing
    assert all(p.startswith("dual_encoder/01_Encoder.ipynb:") for p in result.problems)
    assert any("not valid JSON" in p for p in result.problems)
    assert any("name it exactly 01_encoder.ipynb" in p for p in result.problems)


def test_a_copy_next_to_the_real_notebook_is_ignored(assignment):
    files = hand_in(assignment, NAMES)
    write_notebook(assignment / "01_encoder-Copy1.ipynb")
    result = inspect_submission(assignment.parent)
    assert result.notebooks == files
    problem = problem_about(result, "01_encoder-Copy1.ipynb")
    assert "ignored" in problem and "dual_encoder/01_encoder.ipynb is graded instead" in problem


def test_two_copies_of_a_missing_notebook_are_both_ignored(assignment):
    hand_in(assignment, NAMES[1:])
    write_notebook(assignment / "01_encoder (1).ipynb")
    write_notebook(assignment / "01_Encoder.ipynb")
    result = inspect_submission(assignment.parent)
    assert "01_encoder" not in result.notebooks
    for name in ("01_encoder (1).ipynb", "01_Encoder.ipynb"):
        problem = [p for p in result.problems if p.startswith(f"dual_encoder/{name}:")][0]
        assert "ignored" in problem and "01_encoder.ipynb" in problem
    assert result.problems[-1] == "not handed in: 01_encoder (it scores 0)"


def test_a_name_that_fits_two_notebooks_is_ignored(assignment, monkeypatch):
    monkeypatch.setattr(intake, "notebook_names", lambda: ["02_eval_a", "02_eval_b"])
    write_notebook(assignment / "02_eval.ipynb")
    result = inspect_submission(assignment.parent)
    assert result.notebooks == {}
    problem = problem_about(result, "dual_encoder/02_eval.ipynb")
    assert "ignored" in problem and "02_eval_a, 02_eval_b" in problem


def test_an_unrelated_notebook_is_ignored_and_named(assignment):
    files = hand_in(assignment, NAMES)
    write_notebook(assignment / "Untitled.ipynb")
    result = inspect_submission(assignment.parent)
    assert result.notebooks == files
    assert "ignored" in problem_about(result, "dual_encoder/Untitled.ipynb")


def test_stray_files_and_checkpoints_are_ignored_silently(assignment):
    files = hand_in(assignment, NAMES)
    write_bytes(assignment / ".ipynb_checkpoints" / "01_encoder-checkpoint.ipynb", b"{")
    write_bytes(assignment / "__MACOSX" / "._01_encoder.ipynb", b"\x00\x05\x16\x07\xff")
    write_bytes(assignment / "._02_evaluation.ipynb", b"\xff")
    (assignment / "notes.txt").write_text("hi")
    (assignment / "data.json").write_text("[]")
    result = inspect_submission(assignment.parent)
    assert result.problems == []
    assert result.notebooks == files


def test_problems_are_sorted(assignment):
    write_bytes(assignment / "05_hard_negatives.ipynb", b"{")
    write_bytes(assignment / "02_evaluation.ipynb", b"{")
    write_notebook(assignment / "Untitled.ipynb")
    problems = inspect_submission(assignment.parent).problems
    assert problems[:-1] == sorted(problems[:-1])
    assert problems[-1].startswith("not handed in:")
    assert problems == inspect_submission(assignment.parent).problems

"""The bundled sample submissions, made from the release notebooks and ``samples/manifest.toml``.

A sample is what a student would hand in: the release notebook with each ``# YOUR CODE HERE``
stub filled in (by the reference answer, or by an answer file under ``samples/answers/<key>/``),
and optionally tampered with. The manifest says which test cells each sample must fail; every other
test cell must get full marks.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.course import notebooks
from autograder.course.paths import ASSIGNMENT, RELEASE_DIR, SAMPLE_SUBMISSIONS, SAMPLES_DIR, SOLUTIONS_DIR
from autograder.course.parts import notebook_names, part

MANIFEST = SAMPLES_DIR / "manifest.toml"
ANSWERS_DIR = SAMPLES_DIR / "answers"
TAMPERED_TEST = 'print("Test passed.")  # a student made this test "pass"'


@dataclass
class Sample:
    student_id: str
    about: str
    notebooks: dict            # notebook -> "reference" | "blank" | {grade_id: answer file}
                               # (the manifest's keys are part keys; loaded, notebook names)
    fails: list = field(default_factory=list)   # grade_ids of the test cells that must score 0
    tamper: list = field(default_factory=list)  # e.g. "edit:ID", "delete:ID", "duplicate:ID", "colab"


def load_manifest(path: Path = MANIFEST) -> list[Sample]:
    """The samples; ``notebooks = "reference"`` (or ``"blank"``) hands in every part's notebook
    so, and ``fails = "all"`` names every test cell of what the sample hands in."""
    with open(path, "rb") as f:
        entries = tomllib.load(f)["sample"]
    samples = []
    for entry in entries:
        sample = Sample(**entry)
        if isinstance(sample.notebooks, str):
            sample.notebooks = {name: sample.notebooks for name in notebook_names()}
        else:  # the manifest names them by part key: a part inserted renumbers nothing here
            sample.notebooks = {_notebook(key, path, sample): spec
                                for key, spec in sample.notebooks.items()}
        if sample.fails == "all":
            sample.fails = [notebooks.grade_id(cell) for name in sample.notebooks
                            for cell in notebooks.read(RELEASE_DIR / f"{name}.ipynb").cells
                            if notebooks.is_test(cell)]
        samples.append(sample)
    return samples


def _notebook(key: str, path: Path, sample: Sample) -> str:
    try:
        return part(key).notebook
    except KeyError as error:
        raise KeyError(f"{path}: sample {sample.student_id} hands in {key!r}: {error.args[0]}") from None


def _reference_answers(notebook_name: str) -> dict:
    solution = notebooks.read(SOLUTIONS_DIR / f"{notebook_name}.ipynb")
    return {notebooks.grade_id(cell): notebooks.solution_region(cell.source)
            for cell in solution.cells if notebooks.is_answer(cell)}


def _answers(notebook_name: str, spec) -> dict:
    if spec == "blank":
        return {}
    answers = _reference_answers(notebook_name)
    if spec != "reference":
        for cell_id, answer_file in spec.items():
            if cell_id not in answers:
                raise KeyError(f"{MANIFEST}: {notebook_name} has no answer cell {cell_id!r}")
            answers[cell_id] = (ANSWERS_DIR / answer_file).read_text(encoding="utf-8")
    return answers


def colab_download(notebook):
    """The notebook as Colab's *Download .ipynb* gives it: Colab's metadata, ids in the cells'
    metadata, nbformat 4.0 (outputs, where it ran, are kept)."""
    notebook.metadata = {
        "colab": {"provenance": [], "gpuType": "T4", "toc_visible": True},
        "kernelspec": {"name": "python3", "display_name": "Python 3"},
        "language_info": {"name": "python"},
        "accelerator": "GPU",
    }
    notebook.nbformat_minor = 0
    for index, cell in enumerate(notebook.cells):
        cell.pop("id", None)
        cell.metadata["id"] = f"cell{index:04d}"
        if cell.cell_type == "code":
            cell.metadata["colab"] = {"base_uri": "https://localhost:8080/"}
            cell.metadata["outputId"] = f"out{index:04d}"
    return notebook


def _tamper(notebook, action: str):
    """Do to the notebook what a careless or cheeky student might."""
    kind, _, target = action.partition(":")
    if kind == "colab":
        return colab_download(notebook)
    if kind == "inject":  # a cell of the student's own, run before every test in a kernel
        code = (ANSWERS_DIR / target).read_text(encoding="utf-8")
        notebook.cells.insert(1, _without_id(notebook, nbformat.v4.new_code_cell(code)))
        return notebook
    positions = [i for i, cell in enumerate(notebook.cells) if notebooks.grade_id(cell) == target]
    if not positions:
        raise KeyError(f"tamper {action!r}: no cell {target!r}")
    i = positions[0]
    if kind == "edit":
        notebook.cells[i].source = TAMPERED_TEST
    elif kind == "delete":
        del notebook.cells[i]
    elif kind == "duplicate":  # a tampered copy first, the untouched original after it
        forged = copy.deepcopy(notebook.cells[i])
        forged.source = TAMPERED_TEST
        notebook.cells.insert(i, forged)
    elif kind == "blank":
        notebook.cells[i].source = ""
    elif kind == "retype":  # the test cell turned into a markdown cell
        cell = notebook.cells[i]
        notebook.cells[i] = _without_id(
            notebook, nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata))
    else:
        raise ValueError(f"unknown tamper action {action!r}")
    return notebook


def _without_id(notebook, cell):
    """nbformat makes up a random cell id; the release (nbformat 4.4) has none."""
    cell.pop("id", None)
    return cell


def filled(notebook, notebook_name: str, spec="reference"):
    """A release notebook with its stubs filled: by the reference answers, or as ``spec`` says
    (a manifest entry's value for this notebook)."""
    for cell_id, answer in _answers(notebook_name, spec).items():
        cell = notebooks.cell_by_id(notebook, cell_id)
        cell.source = notebooks.fill_stub(cell.source, answer)
    return notebook


def sample_notebook(sample: Sample, notebook_name: str):
    notebook = filled(notebooks.read(RELEASE_DIR / f"{notebook_name}.ipynb"), notebook_name,
                      sample.notebooks[notebook_name])
    for action in sample.tamper:
        notebook = _tamper(notebook, action)
    return notebook


def write_samples(destination: Path = SAMPLE_SUBMISSIONS) -> list[Path]:
    """(Re)write every sample submission; return the paths written."""
    written = []
    for sample in load_manifest():
        for notebook_name in sample.notebooks:
            path = destination / sample.student_id / ASSIGNMENT / f"{notebook_name}.ipynb"
            notebooks.write(sample_notebook(sample, notebook_name), path)
            written.append(path)
    return written

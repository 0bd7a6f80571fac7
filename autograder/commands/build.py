"""``python -m autograder build``: the release notebooks and the sample submissions.

First the course setting (``course.toml``: the public repository, in every notebook's first
cell and Colab badge and in the README's badge table) and the course notes are written into
``solutions/`` (``course.py``), and the provided cells are regenerated from the earlier parts'
reference solutions (``provided.py``). The release is then made by nbgrader's ``generate_assignment``
from ``solutions/`` (in a scratch course directory, so the repository's gradebook is never
touched), and written without outputs. Running it twice changes nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder.course import setting as course
from autograder.course import notebooks
from autograder.course import provided
from autograder.course import samples
from autograder.nbgrading.workspace import make_workspace, nbgrader
from autograder.course.paths import ASSIGNMENT, COURSE_ROOT, RELEASE_DIR, SAMPLE_SUBMISSIONS


def generate_release(destination: Path = RELEASE_DIR) -> list[Path]:
    workspace = make_workspace("dpr-build-")
    try:
        nbgrader(workspace, "generate_assignment", ASSIGNMENT, "--force")
        generated = sorted((workspace / "notebooks" / ASSIGNMENT).glob("*.ipynb"))
        if destination.exists():
            shutil.rmtree(destination)
        written = []
        for path in generated:
            notebooks.write(notebooks.read(path), destination / path.name)
            written.append(destination / path.name)
        return written
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def build() -> list[Path]:
    for path in course.apply():
        print("wrote the course setting and notes into", path)
    for cell in provided.regenerate():
        print("regenerated provided cell", cell)
    written = generate_release()
    if SAMPLE_SUBMISSIONS.exists():
        shutil.rmtree(SAMPLE_SUBMISSIONS)
    written += samples.write_samples()
    for path in written:
        print("wrote", path.relative_to(COURSE_ROOT))
    return written

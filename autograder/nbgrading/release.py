"""The release: the student notebooks, made by nbgrader's ``generate_assignment`` from
``solutions/`` in a scratch course directory and written without outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder.course import notebooks
from autograder.course.paths import ASSIGNMENT, RELEASE_DIR
from autograder.nbgrading.workspace import make_workspace, nbgrader


def generate_release(destination: Path = RELEASE_DIR, gradebook: Path | None = None) -> list[Path]:
    """The release, made by nbgrader in a scratch course; with ``gradebook``, nbgrader also
    records the assignment there (its notebooks and cells), as it would in the course root."""
    workspace = make_workspace("dpr-build-")
    database = ["--CourseDirectory.db_url=" + f"sqlite:///{gradebook.absolute()}"] if gradebook else []
    try:
        nbgrader(workspace, "generate_assignment", ASSIGNMENT, "--force", *database)
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

"""Running nbgrader's own command line in a scratch copy of the course directory.

Grading and building never touch the repository's own gradebook: each run copies the solutions
and the configuration into a fresh folder and calls ``python -m nbgrader`` there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.course.paths import ASSIGNMENT, NBGRADER_CONFIG, SOLUTIONS_DIR
from autograder.judge.environment import grading_environment


def make_workspace(prefix: str = "dpr-", folder: Path | None = None) -> Path:
    """A scratch course directory (in ``folder``, else the temporary folder) holding the config
    and a copy of the solutions."""
    return fill_workspace(Path(tempfile.mkdtemp(prefix=prefix, dir=folder)))


def fill_workspace(workspace: Path) -> Path:
    """Put the config and a copy of the solutions in the (empty) folder ``workspace``."""
    shutil.copy(NBGRADER_CONFIG, workspace / "nbgrader_config.py")
    shutil.copytree(SOLUTIONS_DIR, workspace / "solutions" / ASSIGNMENT,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return workspace


def nbgrader(workspace: Path, *args: str, env: dict | None = None,
             check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m nbgrader ARGS`` in ``workspace``; raise with its log if it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=workspace, env=env or grading_environment("tiny"),
        capture_output=True, text=True,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result

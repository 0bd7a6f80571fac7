"""The judge's client: a notebook's verdicts from the judge server that ``autograder grade``
keeps (the run settings' ``server``), else from a judge of its own (``python -m autograder.judge``),
as plain ``nbgrader autograde`` in the course root has no server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from autograder import config
from autograder.config import RunConfig
from autograder.course.paths import COURSE_ROOT
from autograder.judge.environment import judge_environment
from autograder.judge.redact import redact
from autograder.judge.server import PREPARATION_SECONDS


def verdicts(name: str, nb) -> tuple[dict, str]:
    """The judge's verdicts on the notebook ``nb`` (named ``name``) by grade id, or why there
    are none."""
    settings = config.current()
    server = settings.server
    with tempfile.TemporaryDirectory(prefix="dpr-judge-") as scratch:
        path = Path(scratch) / f"{name}.ipynb"
        nbformat.write(nb, path)
        os.chmod(scratch, 0o755)  # the server's judges read it
        if server and os.path.exists(server):
            try:
                return ask(server, name, path, settings), ""
            except (OSError, RuntimeError, ValueError) as error:  # judge it here instead
                print(f"[judge client | WARNING] judge server: {redact(str(error))}", file=sys.stderr)
        try:
            run = subprocess.run([sys.executable, "-m", "autograder.judge", name, str(path)],
                                 capture_output=True, text=True,
                                 env=judge_environment(settings), cwd=str(COURSE_ROOT),
                                 timeout=settings.notebook_seconds + 300)
        except (subprocess.TimeoutExpired, TimeoutError):
            return {}, "the grader ran out of time on this notebook"
        except (OSError, RuntimeError, ValueError) as error:
            return {}, f"the grader could not judge this notebook ({error})"
    lines = run.stdout.strip().splitlines()
    if run.returncode != 0 or not lines:
        detail = (run.stderr.strip().splitlines() or ["no output"])[-1]
        return {}, f"the grader could not judge this notebook ({detail})"
    return json.loads(lines[-1]), ""


def ask(address: str, notebook: str, path: Path, settings: RunConfig) -> dict:
    """The verdicts for one notebook from the server listening at ``address``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(PREPARATION_SECONDS + settings.notebook_seconds + 300)
        connection.connect(address)
        request = {"notebook": notebook, "path": str(path), "settings": settings.to_json()}
        connection.sendall(json.dumps(request).encode() + b"\n")
        answer = json.loads(connection.makefile("r").readline() or "{}")
    if "__error__" in answer:
        raise RuntimeError(f"the judge server: {answer['__error__']}")
    return answer

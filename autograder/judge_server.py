"""A judge that stays up for a whole grading run: torch, transformers and the checks are
imported once, and each notebook is judged in a process forked from it (a fresh interpreter
state, nothing left over from the student before; about 8 s saved per notebook).

``python -m autograder.judge_server SOCKET`` serves on a Unix socket; ``ask(SOCKET, ...)`` sends
one notebook and returns the verdicts as JSON. The server has run no torch operation, so the
forked judges start their own thread pools safely.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from dataclasses import asdict
from pathlib import Path

from .judge import Settings


def serve(socket_path: str) -> None:
    import matplotlib.pyplot  # noqa: F401 - what every judged notebook imports, once
    import torch  # noqa: F401
    import transformers  # noqa: F401

    import dpr_course.models  # noqa: F401

    from . import judge
    from .checks import encoder, evaluation, hard_negatives, loss, training  # noqa: F401

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # judges are reaped as they finish
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(16)
    while True:
        connection, _ = server.accept()
        if os.fork() == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            request = json.loads(connection.makefile("r").readline())
            try:
                answer = judge.verdicts_json(request["notebook"], Path(request["path"]),
                                             Settings(**request["settings"]))
            except Exception as error:  # noqa: BLE001 - reported to the asker
                answer = json.dumps({"__error__": f"{type(error).__name__}: {error}"})
            connection.sendall(answer.encode() + b"\n")
            os._exit(0)
        connection.close()


def ask(socket_path: str, notebook: str, path: Path, settings: Settings) -> dict:
    """The verdicts for one notebook from the server at ``socket_path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(settings.notebook_seconds + 300)
        connection.connect(socket_path)
        request = {"notebook": notebook, "path": str(path), "settings": asdict(settings)}
        connection.sendall(json.dumps(request).encode() + b"\n")
        answer = json.loads(connection.makefile("r").readline() or "{}")
    if "__error__" in answer:
        raise RuntimeError(answer["__error__"])
    return answer


if __name__ == "__main__":
    serve(sys.argv[1])

"""A judge that stays up for a whole grading run.

Every student's notebook starts the same way: imports, data, models and, in part 5, the NCE
training run (about 40 s). So the server keeps, per notebook, a process that has run the
instructor's cells up to the first answer cell (``judge.prepare``); each student's notebook is
judged in a process forked from it, which goes on from there with a fresh copy of that state.

``python -m autograder.judge.server FOLDER`` serves; ``ask(FOLDER, ...)`` sends one notebook
and returns the verdicts. Each prepared notebook listens on ``FOLDER/<notebook>.sock``; the
server starts one when ``FOLDER/<notebook>.wanted`` appears, so notebooks nobody handed in cost
nothing. The prepared processes run torch on one thread: OpenMP's thread pool does not survive
a fork, and a pool never started cannot hang the forked judges, which set their own.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import sys
import time
from dataclasses import asdict
from pathlib import Path

from autograder.judge.notebook import Settings

PR_SET_PDEATHSIG = 1


def serve(folder: str) -> None:
    import importlib

    import matplotlib.pyplot  # noqa: F401 - what every judged notebook imports, once
    import torch
    import transformers  # noqa: F401

    import dpr_course.models  # noqa: F401

    from autograder.course.stages import STAGES

    for stage in STAGES:
        importlib.import_module(stage.checks)

    torch.set_num_threads(1)
    started = set()
    while True:  # start a prepared notebook for each request file that appears
        for wanted in Path(folder).glob("*.wanted"):
            if wanted.stem not in started:
                started.add(wanted.stem)
                if os.fork() == 0:
                    _prepared_notebook(folder, wanted.stem)
        time.sleep(0.05)


def _prepared_notebook(folder: str, notebook: str) -> None:
    """In a child of the server: prepare ``notebook``, then judge each request in a fork."""
    from autograder.judge import notebook as judge

    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        prepared = judge.prepare(notebook)
    except Exception as error:  # noqa: BLE001 - askers fall back to judging on their own
        Path(f"{folder}/{notebook}.failed").write_text(f"{type(error).__name__}: {error}")
        os._exit(1)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # judges are reaped as they finish
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = f"{folder}/{notebook}.sock"
    server.bind(path + ".new")
    os.rename(path + ".new", path)  # askers see the socket only once it listens
    server.listen(16)
    while True:
        connection, _ = server.accept()
        if os.fork() == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _answer(connection, prepared)
            os._exit(0)
        connection.close()


def _answer(connection, prepared) -> None:
    from autograder.judge import notebook as judge
    from autograder.course import notebooks

    request = json.loads(connection.makefile("r").readline())
    __import__("torch").set_num_threads(request["threads"])  # the asker's share of the cores
    try:
        verdicts = judge.judge(prepared.name, notebooks.read(Path(request["path"])),
                               Settings(**request["settings"]), prepared)
        answer = json.dumps({k: asdict(v) for k, v in verdicts.items()})
    except Exception as error:  # noqa: BLE001 - reported to the asker
        answer = json.dumps({"__error__": f"{type(error).__name__}: {error}"})
    connection.sendall(answer.encode() + b"\n")


def ask(folder: str, notebook: str, path: Path, settings: Settings) -> dict:
    """The verdicts for one notebook from the server working in ``folder``."""
    socket_path = f"{folder}/{notebook}.sock"
    Path(f"{folder}/{notebook}.wanted").touch()
    deadline = time.monotonic() + 900  # part 5's preparation trains a model
    while not os.path.exists(socket_path):
        failed = Path(f"{folder}/{notebook}.failed")
        if failed.exists():
            raise RuntimeError(f"the judge server could not prepare {notebook}: "
                               + failed.read_text())
        if time.monotonic() > deadline:
            raise TimeoutError(f"the judge server did not prepare {notebook}")
        time.sleep(0.1)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(settings.notebook_seconds + 300)
        connection.connect(socket_path)
        threads = int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
        request = {"path": str(path), "settings": asdict(settings), "threads": threads}
        connection.sendall(json.dumps(request).encode() + b"\n")
        answer = json.loads(connection.makefile("r").readline() or "{}")
    if "__error__" in answer:
        raise RuntimeError(answer["__error__"])
    return answer


if __name__ == "__main__":
    serve(sys.argv[1])

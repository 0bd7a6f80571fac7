"""A judge that stays up for a whole grading run.

Every student's notebook starts the same way: imports, data, models and, in part 5, the NCE
training run (about 40 s). So the server keeps, per notebook, a process that has run the
instructor's cells up to the first answer cell (``judge.prepare``); each student's notebook is
judged in a process forked from it, which goes on from there with a fresh copy of that state.

The rendezvous is one listening socket, made by whoever starts the server (``listen``) and
handed to it as an open file descriptor, so an asker can connect from the start: its
connection waits in the backlog until the server takes it. ``judge.client.ask`` sends one line,
``{"notebook", "path", "settings"}`` (the run settings, ``autograder/config.py``), and reads the verdicts back on the same
connection. The server reads the notebook's name and passes the connection itself (the file
descriptor, over a socket pair) to that notebook's prepared process, started on its first
request, so notebooks nobody handed in cost nothing. A notebook that cannot be prepared answers
``{"__error__": ...}``, and the asker judges on its own. The prepared processes run torch on
one thread: OpenMP's thread pool does not survive a fork, and a pool never started cannot hang
the forked judges, which set their own.

``python -m autograder.judge.server FD [ADDRESS]`` serves on the listening socket ``FD`` (the
address it is bound to only names the server in a process list). It, its prepared notebooks
and their judges are killed when the process that started them dies
(``autograder.processes``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from dataclasses import asdict
from pathlib import Path

from autograder.config import RUN_ENV, RunConfig
from autograder.phases import phase
from autograder.processes import die_with_parent

PREPARATION_SECONDS = 900  # part 5's preparation trains a model


def listen(path: str) -> socket.socket:
    """The server's listening socket at ``path``: pass its ``fileno()`` to the server."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    return listener


def serve(listener: socket.socket) -> None:
    import importlib

    import matplotlib.pyplot  # noqa: F401 - what every judged notebook imports, once
    import torch
    import transformers  # noqa: F401

    import dpr_course.models  # noqa: F401

    from autograder.course.parts import PARTS

    for part in PARTS:
        importlib.import_module(part.checks)
    torch.set_num_threads(1)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # prepared notebooks are reaped when done
    prepared: dict[str, socket.socket] = {}  # notebook -> the pipe to its prepared process
    while True:
        connection, _ = listener.accept()
        try:
            connection.settimeout(30)
            line = connection.makefile("rb").readline()
            notebook = json.loads(line)["notebook"]
            if notebook not in prepared:
                prepared[notebook] = _start_prepared(notebook, listener)
            socket.send_fds(prepared[notebook], [line], [connection.fileno()])
        except (OSError, ValueError, KeyError) as error:
            _reply(connection, {"__error__": f"bad request: {type(error).__name__}: {error}"})
        finally:
            connection.close()


def _start_prepared(notebook: str, listener: socket.socket) -> socket.socket:
    """Fork the process that prepares ``notebook`` and judges its requests; the pipe to it."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    server = os.getpid()
    if os.fork() == 0:
        die_with_parent(server)
        listener.close()
        ours.close()
        _prepared_notebook(notebook, theirs)
        os._exit(0)
    theirs.close()
    return ours


def _prepared_notebook(notebook: str, requests: socket.socket) -> None:
    """In a child of the server: prepare ``notebook``, then judge each request in a fork."""
    from autograder.judge import notebook as judge

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # judges are reaped as they finish
    this = os.getpid()
    try:
        with phase("prepare notebook", notebook=notebook):
            prepared, problem = judge.prepare(notebook), ""
    except Exception as error:  # noqa: BLE001 - askers fall back to judging on their own
        prepared, problem = None, f"could not prepare {notebook}: {type(error).__name__}: {error}"
    while True:
        line, fds, _, _ = socket.recv_fds(requests, 1 << 16, 1)
        if not line:  # the server has gone
            os._exit(0)
        connection = socket.socket(fileno=fds[0])
        if prepared is None:
            _reply(connection, {"__error__": problem})
        elif os.fork() == 0:
            die_with_parent(this)
            requests.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _answer(connection, json.loads(line), prepared)
            os._exit(0)
        connection.close()


def _answer(connection, request: dict, prepared) -> None:
    from autograder.course import notebooks
    from autograder.judge import notebook as judge
    from autograder.judge.sandbox import finish_pending

    os.environ[RUN_ENV] = request["settings"]  # this judge's process sees the asker's settings
    settings = RunConfig.from_json(request["settings"])
    __import__("torch").set_num_threads(settings.threads)
    try:
        verdicts = judge.judge(prepared.name, notebooks.read(Path(request["path"])),
                               settings, prepared)
        _reply(connection, {k: asdict(v) for k, v in verdicts.items()})
    except Exception as error:  # noqa: BLE001 - reported to the asker
        _reply(connection, {"__error__": f"{type(error).__name__}: {error}"})
    finally:
        connection.close()  # the asker has its answer; then the last calls are cleared up
        finish_pending()


def _reply(connection, answer: dict) -> None:
    try:
        connection.sendall(json.dumps(answer).encode() + b"\n")
    except OSError:  # the asker gave up
        pass


if __name__ == "__main__":
    die_with_parent()
    serve(socket.socket(fileno=int(sys.argv[1])))

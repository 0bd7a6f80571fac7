"""The judge server's rendezvous: one listening socket, made before the server starts."""

import subprocess
import sys
import time

import pytest

from autograder import config
from autograder.course.paths import COURSE_ROOT
from autograder.judge import client, server
from autograder.judge.environment import judge_environment


@pytest.fixture
def judge_server(tmp_path):
    address = str(tmp_path / "server.sock")
    with server.listen(address) as listener:
        process = subprocess.Popen(
            [sys.executable, "-m", "autograder.judge.server", str(listener.fileno())],
            env=judge_environment(config.defaults("tiny")), cwd=COURSE_ROOT, pass_fds=[listener.fileno()])
    yield address
    process.terminate()
    process.wait(timeout=30)


def test_askers_connect_at_once_and_hear_why_a_notebook_cannot_be_prepared(judge_server, tmp_path):
    settings = config.defaults()
    start = time.monotonic()
    for _ in range(2):  # the second request reaches the same (failed) prepared process
        with pytest.raises(RuntimeError, match="could not prepare 99_missing: FileNotFoundError"):
            client.ask(judge_server, "99_missing", tmp_path / "none.ipynb", settings)
    assert time.monotonic() - start < 120
    assert sorted(p.name for p in tmp_path.iterdir()) == ["server.sock"]  # no marker files


def test_a_bad_request_is_answered_not_fatal(judge_server, tmp_path):
    import json
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(judge_server)
        connection.sendall(b'{"no notebook": 1}\n')
        answer = json.loads(connection.makefile("r").readline())
    assert answer["__error__"].startswith("bad request: KeyError")
    with pytest.raises(RuntimeError, match="could not prepare"):  # the server still serves
        client.ask(judge_server, "99_missing", tmp_path / "none.ipynb", config.defaults())

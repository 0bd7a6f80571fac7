"""The sandbox: what a student's code can and cannot do while the judge calls it."""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from autograder.paths import COURSE_ROOT
from autograder.sandbox import Limits, run_confined


def _probe() -> bytes:
    """What the confined code can see and do, as JSON."""
    import socket

    import dpr_course

    package = Path(dpr_course.__file__).parent
    seen = {path: os.path.exists(path) for path in (
        str(COURSE_ROOT / "solutions"), str(COURSE_ROOT / "autograder"), str(COURSE_ROOT / ".git"),
        str(COURSE_ROOT / "samples"), str(package / "expectations" / "tiny.json"),
        str(package / "profiles.py"))}
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2)
        seen["network"] = "open"
    except OSError as error:
        seen["network"] = type(error).__name__
    try:
        open(package / "planted.py", "w").close()
        seen["write outside"] = "yes"
    except OSError:
        seen["write outside"] = "no"
    with open("scratch.txt", "w") as f:  # the workspace is writable
        f.write("ok")
    seen["uid"] = os.getuid()
    return json.dumps(seen).encode()


def test_no_network_no_instructor_files_no_writes_outside_the_workspace():
    import dpr_course

    package = Path(dpr_course.__file__).parent
    seen = json.loads(run_confined(_probe).data)
    assert seen.pop(str(package / "profiles.py")), "the course package is readable"
    assert not any(seen.pop(p) for p in list(seen) if p.startswith("/")), seen
    assert seen["network"] != "open"
    assert seen["write outside"] == "no"
    if os.getuid() == 0:
        assert seen["uid"] == 65534, "runs as nobody when started as root"
    assert not (package / "planted.py").exists()


def test_data_comes_back():
    assert run_confined(lambda: b"x" * 3_000_000).data == b"x" * 3_000_000  # more than a pipe holds


def _loop() -> bytes:
    while True:
        pass


@pytest.mark.parametrize("task, problem", [
    (_loop, "did not finish within 2 s"),
    (lambda: os._exit(0), "os._exit"),
    (lambda: __import__("ctypes").string_at(0), "SIGSEGV"),
    (lambda: bytes(bytearray(64 << 30)), "MemoryError"),
    (lambda: (_ for _ in ()).throw(ValueError("mine")), "ValueError: mine"),
], ids=["endless", "os._exit", "segfault", "memory", "exception"])
def test_a_failure_is_reported_not_raised(task, problem):
    outcome = run_confined(task, Limits(seconds=2, memory_bytes=1 << 30))
    assert outcome.data is None and problem in outcome.problem, outcome.problem


def test_output_floods_go_nowhere():
    def flood() -> bytes:
        for _ in range(50_000):
            print("x" * 1000)
        return b"done"

    assert run_confined(flood).data == b"done"


def test_processes_it_starts_die_with_it():
    marker = f"dpr-sandbox-daemon-{os.getpid()}"

    def daemonise() -> bytes:
        subprocess.Popen(["/bin/sh", "-c", f"exec -a {marker} sleep 60"], start_new_session=True)
        return b"started"

    assert run_confined(daemonise).data == b"started"
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
    assert not left.strip(), f"a daemon outlived its sandbox: {left}"

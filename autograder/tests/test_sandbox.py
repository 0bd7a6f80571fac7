"""The sandbox: what a student's code can and cannot do while the judge calls it."""

import json
import multiprocessing
import os
import subprocess
import time
from pathlib import Path

import pytest

from autograder.judge import limits
from autograder.course.paths import COURSE_ROOT
from autograder.judge.sandbox import CHILD_ENVIRONMENT, UID_BASE, Limits, _readable_roots, run_confined


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
        assert seen["uid"] > UID_BASE, "runs as a user of its own when started as root"
    assert not (package / "planted.py").exists()


def test_each_call_runs_as_a_user_of_its_own():
    if os.getuid() != 0:
        pytest.skip("only root can give each call a user id of its own")
    first, second = (int(run_confined(lambda: str(os.getuid()).encode()).data) for _ in range(2))
    assert UID_BASE < first != second


PLANTED = "hf_" + "Planted" * 6  # token-shaped, made up here


def _what_the_child_knows() -> bytes:
    """Everything of the grader's machine a student's code could look for."""
    found = {"environ": dict(os.environ)}
    for name in ("/proc/self/environ", "/proc/1/environ"):
        try:
            found[name] = Path(name).read_bytes().decode(errors="replace")
        except OSError as error:
            found[name] = type(error).__name__
    found["files"] = {path: os.path.exists(path) for path in (
        "/hf/token", "/hf/stored_tokens", "/hf/hub/models--distilbert-base-uncased/snapshots/x/config.json",
        "/etc/os-release", "/etc/passwd")}
    home = os.path.expanduser("~root")
    found["home"] = sorted(os.listdir(home)) if os.path.isdir(home) else []
    return json.dumps(found).encode()


def test_nothing_of_the_graders_environment_or_credentials_reaches_the_child(tmp_path,
                                                                             monkeypatch):
    hf_home = tmp_path / "huggingface"
    (hf_home / "token").parent.mkdir()
    (hf_home / "token").write_text(PLANTED)
    (hf_home / "stored_tokens").write_text(PLANTED)
    snapshot = hf_home / "hub" / "models--distilbert-base-uncased" / "snapshots" / "x"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("GRADER_SECRET", PLANTED)
    found = json.loads(run_confined(_what_the_child_knows).data)
    assert set(found["environ"]) <= set(CHILD_ENVIRONMENT) | {"DPR_PROFILE", "CUDA_VISIBLE_DEVICES"}
    assert PLANTED not in json.dumps(found), "a planted secret reached the child"
    assert str(tmp_path) not in json.dumps(found["environ"]), "a grader path reached the child"
    files = found["files"]
    assert files["/hf/hub/models--distilbert-base-uncased/snapshots/x/config.json"], \
        "the model files are there"
    assert not files["/hf/token"] and not files["/hf/stored_tokens"]
    assert not files["/etc/os-release"] and files["/etc/passwd"], "only the /etc it needs"
    home = os.path.expanduser("~root")
    on_the_way = {Path(root).relative_to(home).parts[0] for root in _readable_roots()
                  if root.startswith(home + "/")}  # e.g. .pyenv, holding the interpreter
    assert set(found["home"]) <= on_the_way, f"the home directory holds {found['home']}"


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


# --------------------------------------------------------------------------------------------
# Limits on the whole process tree, with each mechanism this machine offers


def _offered() -> list[str]:
    offered = []
    for name in ("cgroup2", "cgroup1", "watchdog"):
        try:
            limits._detect(name)
            offered.append(name)
        except RuntimeError:
            pass
    return offered


@pytest.fixture(params=_offered())
def mechanism(request, monkeypatch):
    monkeypatch.setenv(limits.FORCE_ENV, request.param)
    return request.param


def _forking_memory_bomb() -> bytes:
    """Six children of 256 MiB each: every one is under any per-process limit."""
    children = []
    for _ in range(6):
        pid = os.fork()
        if pid == 0:
            block = bytearray(256 << 20)
            for i in range(0, len(block), 4096):
                block[i] = 1
            time.sleep(30)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    return b"survived"


def _fork_bomb() -> bytes:
    while True:
        try:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
        except OSError:
            time.sleep(0.01)


def _busy_children(clock=time.monotonic) -> bytes:
    """Three children spinning for 3 s of ``clock`` each (of wall clock, or with
    ``time.process_time`` of their own CPU time); returns their CPU seconds per second."""
    start = time.monotonic()
    for _ in range(3):
        if os.fork() == 0:
            began = clock()
            while clock() - began < 3:
                pass
            os._exit(0)
    for _ in range(3):
        os.wait()
    return str(os.times().children_user / (time.monotonic() - start)).encode()


def test_a_forking_memory_bomb_is_stopped_as_a_whole(mechanism):
    start = time.monotonic()
    outcome = run_confined(_forking_memory_bomb, Limits(seconds=30, memory_bytes=512 << 20))
    assert outcome.data is None and "memory limit of 0.5 GiB" in outcome.problem, outcome.problem
    assert time.monotonic() - start < 15, "stopped when it went over, not at the time limit"


def test_a_call_that_broke_a_limit_leaves_no_cgroup_of_its_own(mechanism):
    name, where = limits.mechanism()
    if name == "watchdog":
        pytest.skip("no cgroups here: the watchdog makes none")
    bases = {where} if name == "cgroup2" else set(where.values())

    def ours():
        return [f for base in bases for f in base.glob(f"{limits.PREFIX}{os.getpid()}-*")]
    before = ours()
    outcome = run_confined(_forking_memory_bomb, Limits(seconds=30, memory_bytes=512 << 20))
    assert outcome.problem and ours() == before, "the call's cgroups were left behind"


def test_a_fork_bomb_is_stopped(mechanism):
    start = time.monotonic()
    outcome = run_confined(_fork_bomb, Limits(seconds=30, processes=64))
    assert outcome.data is None and "more than 64 processes" in outcome.problem, outcome.problem
    assert time.monotonic() - start < 15


def test_cpu_is_bounded(mechanism):
    """A cgroup shares half a core among three children spinning for 3 s; the watchdog (no
    share to enforce) stops a call once its tree has used its CPU time (seconds x cores + 1 s:
    4 s here). The watchdog's children spin on CPU time, 9 s of it in all, and the call may
    take 10 s, so the CPU limit is reached first however busy the machine is."""
    if mechanism == "watchdog":
        outcome = run_confined(lambda: _busy_children(time.process_time), Limits(seconds=10, cpus=0.3))
        assert outcome.data is None and "4 s of CPU time" in outcome.problem, outcome.problem
    else:
        outcome = run_confined(_busy_children, Limits(seconds=6, cpus=0.5))
        assert float(outcome.data) < 0.7, f"{float(outcome.data):.2f} cores busy, 0.5 allowed"


def _neighbour(queue) -> None:
    """An honest call that starts ten processes and allocates 100 MiB in each."""
    def honest() -> bytes:
        children = []
        for _ in range(10):
            pid = os.fork()
            if pid == 0:
                block = bytearray(100 << 20)
                block[::4096] = b"\1" * len(block[::4096])
                time.sleep(2)  # alive while the bomb goes off
                os._exit(0)
            children.append(pid)
        return str(sum(os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in children)).encode()

    outcome = run_confined(honest, Limits(seconds=30, memory_bytes=2 << 30))
    queue.put(outcome.data or outcome.problem.encode())


@pytest.mark.parametrize("bomb", [_fork_bomb, _forking_memory_bomb], ids=["fork", "memory"])
def test_a_bomb_leaves_its_neighbour_alone(mechanism, bomb):
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    neighbour = context.Process(target=_neighbour, args=(queue,))
    neighbour.start()
    outcome = run_confined(bomb, Limits(seconds=20, memory_bytes=512 << 20, processes=64))
    assert outcome.data is None
    assert queue.get(timeout=60) == b"0", "the honest call beside the bomb must succeed"
    neighbour.join(10)


def test_the_mechanism_is_named():
    assert limits.describe().split()[0] in ("cgroup", "a")


def test_cgroup_v2_writes_the_limits_and_reads_the_events(tmp_path):
    """No cgroup v2 with controllers here (this machine mounts v1): the v2 guard against a
    folder laid out as the kernel lays one out, to check what it writes and how it reads."""
    base = tmp_path / "grader.scope"
    base.mkdir()
    guard = limits.CgroupV2(limits.Limits(seconds=6, memory_bytes=1 << 30, processes=32, cpus=1.5), base)
    assert [guard.dir.parent, guard.dir.name.startswith(limits.PREFIX)] == [base, True]
    written = {name: (guard.dir / name).read_text() for name in
               ("memory.max", "memory.swap.max", "pids.max", "cpu.max")}
    assert written == {"memory.max": str(1 << 30), "memory.swap.max": "0", "pids.max": "32",
                       "cpu.max": "150000 100000"}
    guard.join()
    assert (guard.dir / "cgroup.procs").read_text() == str(os.getpid())
    (guard.dir / "cgroup.procs").write_text("")  # (the kernel would list the call's processes)
    assert guard.check(0) == ""
    (guard.dir / "cpu.stat").write_text("usage_usec 11000000\nuser_usec 1\n")
    assert "10 s of CPU time" in guard.check(0)
    (guard.dir / "pids.events").write_text("max 3\n")
    assert "more than 32 processes" in guard.check(0)
    (guard.dir / "memory.events").write_text("low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\n")
    assert "memory limit of 1 GiB" in guard.finish()

"""A grading run leaves nothing behind: no process and no scratch folder, whether it finishes
or is ended by SIGTERM or SIGHUP mid-way (a `timeout`, a closed terminal, a preempted job);
killed outright (SIGKILL), by the time the next run has started.

These grade one notebook each (about 20 s), so they are in the quick tier (`make test`), but
for SIGTERM alone (the volley starts with it) and the check of the suite's own grading of
every sample."""

import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder.run import RUN_PREFIX, GradingRun
from autograder.course.paths import ASSIGNMENT, COURSE_ROOT, SAMPLE_SUBMISSIONS


def processes_of(scratch: Path) -> list[str]:
    """Processes that belong to a run whose temporary folder is ``scratch``: started with it
    in their environment, working in it, or forked from one that names it on its command line
    (the judge server, its prepared notebooks, judges and sandboxed calls)."""
    found, mark = [], str(scratch).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            seen = [(entry / "cmdline").read_bytes(), (entry / "environ").read_bytes(),
                    os.readlink(entry / "cwd").encode()]
        except OSError:
            continue
        if any(mark in text for text in seen):
            command = seen[0].replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name}: {command}")
    return found


def leftovers(scratch: Path, seconds: float = 15.0) -> tuple[list[str], list[str]]:
    deadline = time.monotonic() + seconds
    while True:
        running, files = processes_of(scratch), sorted(p.name for p in scratch.iterdir())
        if (not running and not files) or time.monotonic() > deadline:
            return running, files
        time.sleep(0.2)


def start_grading(tmp_path: Path, notebook: str) -> tuple[subprocess.Popen, Path, Path]:
    scratch, trace = tmp_path / "tmp", tmp_path / "trace.jsonl"
    scratch.mkdir()
    target = tmp_path / "submitted" / "reference" / ASSIGNMENT
    target.mkdir(parents=True)
    shutil.copy(SAMPLE_SUBMISSIONS / "reference" / ASSIGNMENT / f"{notebook}.ipynb", target)
    grader = subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", str(tmp_path / "submitted"),
         "--out", str(tmp_path / "grades.csv")], cwd=COURSE_ROOT,
        env=dict(os.environ, TMPDIR=str(scratch), DPR_TRACE=str(trace), DPR_PROFILE="tiny"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    return grader, scratch, trace


def wait_for_phase(grader: subprocess.Popen, trace: Path, name: str) -> None:
    """Until the run has timed a phase ``name`` (``autograder.phases``) while still running."""
    deadline = time.monotonic() + 300
    while f'"phase": "{name}"' not in (trace.read_text() if trace.exists() else ""):
        assert grader.poll() is None, grader.communicate()[0]
        assert time.monotonic() < deadline, f"the run never reached {name!r}"
        time.sleep(0.2)


# SIGTERM alone is in the slow tier: the quick one has it first in the volley.
@pytest.mark.parametrize("number, again", [
    pytest.param(signal.SIGTERM, False, id="SIGTERM", marks=pytest.mark.slow),
    pytest.param(signal.SIGHUP, False, id="SIGHUP"),
    pytest.param(signal.SIGTERM, True, id="SIGTERM, then more while stopping")])
def test_a_run_ended_by_a_signal_leaves_nothing_behind(tmp_path, number, again):
    """Ended while the judge is calling the student's code (part 4 trains for a while); signals
    often come in twos (a `timeout` and a `pkill`), and later ones must not cut the cleanup
    short."""
    grader, scratch, trace = start_grading(tmp_path, "04_training")
    wait_for_phase(grader, trace, "sandboxed call")
    time.sleep(1)  # into the next calls
    assert processes_of(scratch), "the run's processes are visible while it runs"
    grader.send_signal(number)
    for _ in range(40 if again else 0):
        time.sleep(0.05)
        for each in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            if grader.poll() is None:
                grader.send_signal(each)
    output, _ = grader.communicate(timeout=60)
    assert grader.returncode == 128 + number, output
    running, files = leftovers(scratch)
    assert not running, "still running after the grader ended:\n" + "\n".join(running)
    assert not files, f"left in the temporary folder: {files}"


def test_a_finished_run_leaves_nothing_behind(tmp_path):
    """And grades: the reference's part 3, end to end through the command line, gets full marks."""
    grader, scratch, _ = start_grading(tmp_path, "03_nce_loss")
    output, _ = grader.communicate(timeout=600)
    assert grader.returncode == 0, output
    running, files = leftovers(scratch)
    assert not running and not files, (running, files)
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        part_3 = [row for row in csv.DictReader(f) if row["notebook"] == "03_nce_loss"]
    assert part_3 and all(float(row["score"]) == float(row["max_score"]) > 0 for row in part_3), part_3


def test_a_run_killed_outright_is_cleared_by_the_next(tmp_path, monkeypatch):
    """SIGKILL cannot be caught: the run's processes die with the grader (the parent-death
    signal), and its scratch folder stays until the next run on this machine removes it; a
    live run's folder is left alone."""
    grader, scratch, trace = start_grading(tmp_path, "03_nce_loss")
    wait_for_phase(grader, trace, "nbgrader start")
    assert processes_of(scratch), "the run's processes are visible while it runs"
    grader.kill()
    grader.communicate(timeout=60)
    deadline = time.monotonic() + 15
    while (running := processes_of(scratch)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not running, "still running after the grader was killed:\n" + "\n".join(running)
    [abandoned] = scratch.iterdir()
    assert abandoned.name.startswith(RUN_PREFIX), abandoned

    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with GradingRun("tiny") as next_run:
        assert not abandoned.exists(), "the next run did not remove the abandoned folder"
        with GradingRun("tiny"):
            assert next_run.folder.is_dir(), "a live run's folder was removed"
    running, files = leftovers(scratch)
    assert not running and not files, (running, files)


def test_every_command_stopped_by_a_signal_removes_its_scratch(tmp_path):
    """Not only grade: `story` (a notebook run by a kernel, in a temporary folder), ended by
    SIGTERM, exits with 143 and a line that says why; its folder and its kernel are gone."""
    story = subprocess.Popen(
        [sys.executable, "-m", "autograder", "story", "--seeds", "42"], cwd=COURSE_ROOT,
        env=dict(os.environ, TMPDIR=str(tmp_path), DPR_PROFILE="tiny"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (len(processes_of(tmp_path)) >= 2 and ours(tmp_path)):  # story and its kernel
        assert story.poll() is None, story.communicate()[0]
        assert time.monotonic() < deadline, "story never started its kernel"
        time.sleep(0.2)
    time.sleep(1)
    story.send_signal(signal.SIGTERM)
    output, _ = story.communicate(timeout=60)
    assert story.returncode == 128 + signal.SIGTERM, output
    assert "python -m autograder story: stopped by SIGTERM\n" in output, output
    deadline = time.monotonic() + 15
    while (running := processes_of(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not running, "still running after story ended:\n" + "\n".join(running)
    assert not ours(tmp_path), f"left in the temporary folder: {ours(tmp_path)}"


def ours(scratch: Path) -> list[str]:
    """What is in ``scratch``, torch's compiler cache aside (kept across runs by design)."""
    return sorted(p.name for p in scratch.iterdir() if not p.name.startswith("torchinductor_"))


@pytest.mark.slow
def test_the_suites_grading_run_left_nothing(graded_samples):
    """Every sample, hostile ones included (fork bombs, infinite loops, os._exit): no process
    and no file of the run outlives it."""
    running, files = leftovers(graded_samples["scratch"], seconds=5)
    assert not running and not files, (running, files)


def test_a_scratch_folder_killed_with_its_process_is_removed_by_the_next(tmp_path, monkeypatch):
    """bench's scratch class (`owned_scratch`): removed when its block ends, also by an error;
    left by a process killed outright, removed by the next one to start; a live one's kept."""
    from autograder.processes import owned_scratch

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(RuntimeError), owned_scratch("dpr-test-") as folder:
        (folder / "work").write_text("x")
        raise RuntimeError("the block fails")
    assert not folder.exists()

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, tempfile, time; tempfile.tempdir = sys.argv[1]\n"
         "from autograder.processes import owned_scratch\n"
         "with owned_scratch('dpr-test-') as folder: print(folder, flush=True); time.sleep(600)",
         str(tmp_path)], cwd=COURSE_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        held = Path(holder.stdout.readline().strip())
        with owned_scratch("dpr-test-") as mine:
            assert held.is_dir() and mine.is_dir(), "a live process's folder was removed"
    finally:
        holder.kill()
        holder.communicate(timeout=30)
    assert held.is_dir(), "SIGKILL: nothing could remove it"
    with owned_scratch("dpr-test-") as mine:
        assert not held.exists(), "the next one did not remove the abandoned folder"
    assert list(tmp_path.iterdir()) == []

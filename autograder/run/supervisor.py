"""A grading run's processes and scratch folder, and nothing left of them when it ends.

The run holds the judge server (``autograder/judge/server.py``), nbgrader's workers
(``autograder/nbgrading/autograde_job.py``) and a scratch folder; ``close()`` stops and removes
all of them, however the run ends.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from autograder import config
from autograder.cache import MANIFEST, Cache, course_version
from autograder.config import RunConfig
from autograder.course.paths import ASSIGNMENT, COURSE_ROOT
from autograder.judge import server as judge_server
from autograder.judge.limits import remove_stale_calls
from autograder.nbgrading.autograde_job import STUDENTS_PER_WORKER
from autograder.judge.environment import grading_environment, judge_environment
from autograder.nbgrading.workspace import fill_workspace, nbgrader
from autograder.phases import phase
from autograder.processes import make_owned_folder, remove_abandoned

RUN_PREFIX = "dpr-grading-"  # a grading run's scratch folder, in the temporary folder




class GradingRun:
    """What a grading run holds while it runs, all of it stopped and removed by ``close()``
    however the run ends: a scratch folder (the gradebook template, the judge server's socket,
    each student's workspace, and every temporary file of its processes), the judge server with
    its prepared notebooks, and nbgrader's workers (one per job, each grading student after
    student).

    Each process runs in a process group of its own, which ``close()`` kills whole; and each
    dies with the grader when it is killed outright (SIGKILL), through Linux's parent-death
    signal. Only the scratch folder then stays, until the next run removes it.
    """

    def __init__(self, profile: str, jobs: int = 1, cache: bool = True):
        self.profile = profile
        remove_abandoned(RUN_PREFIX)
        self.folder, self._owner = make_owned_folder(RUN_PREFIX)
        (self.folder / "tmp").mkdir()
        self.closed = False
        self._lock = threading.Lock()
        self._jobs: set[subprocess.Popen] = set()   # nbgrader's workers, busy or idle
        self._idle: dict = {}                         # environment -> idle workers
        self._retired = 0
        self._template: Path | None = None
        self.address = str(self.folder / "judge.sock")
        self._settings: dict[int, RunConfig] = {}
        self.cache = self._cache(jobs) if cache else None
        self.memo = self.cache.store("memo") if self.cache else self.folder / "memo"
        self.settings = self.settings_for(jobs)  # its processes start with these
        # Started here, by the thread that will also end the run: the server dies with it.
        with self._lock, judge_server.listen(self.address) as listener:  # the server keeps a copy
            self._server = self._start(
                [sys.executable, "-m", "autograder.judge.server", str(listener.fileno()),
                 self.address], judge_environment(self.settings),
                pass_fds=[listener.fileno()],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def __enter__(self) -> "GradingRun":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _cache(self, jobs: int) -> Cache:
        """The course version's cache (``autograder/cache.py``): what later runs of the same
        course version reuse (the gradebook template; the judge's memo of training runs). With
        ``cache=False`` both stay in the run's scratch folder and go with it."""
        return Cache(course_version(config.resolve(profile=self.profile, jobs=jobs)))

    def settings_for(self, jobs: int) -> RunConfig:
        """The run settings for grading ``jobs`` students at a time in this run, from the
        settings table and this run's own server, memo and process (built once per ``jobs``)."""
        if jobs not in self._settings:
            self._settings[jobs] = config.resolve(profile=self.profile, jobs=jobs,
                                                  server=self.address, memo=str(self.memo),
                                                  grader_pid=os.getpid())
        return self._settings[jobs]

    def environment(self, env: dict) -> dict:
        """``env`` with this run's scratch folder as every process's temporary folder, and the
        run's settings."""
        return dict(env, TMPDIR=str(self.folder / "tmp"), **self.settings.environ())

    def template(self) -> Path:
        """A scratch course with the assignment in its gradebook, made once per course version
        (once per run without the cache)."""
        with self._lock:
            if self._template is None:
                with phase("template"):
                    if self.cache:
                        self._template = self.cache.get_or_build("template", self._make_template)
                    else:
                        self._template = self._make_template(
                            Path(tempfile.mkdtemp(prefix="template-", dir=self.folder)))
            return self._template

    def _make_template(self, workspace: Path) -> Path:
        fill_workspace(workspace)
        nbgrader(workspace, "generate_assignment", ASSIGNMENT, "--force",
                 env=self.environment(grading_environment(self.profile)))
        return workspace

    def copy_template(self, workspace: Path) -> None:
        """A student's scratch course: the template's files (not its cache manifest)."""
        shutil.copytree(self.template(), workspace, dirs_exist_ok=True,
                        ignore=lambda folder, names: [MANIFEST] if MANIFEST in names else [])

    def autograde(self, workspace: Path, student_id: str, env: dict,
                  settings: RunConfig) -> dict:
        """nbgrader's autograde and feedback for one student, by an idle worker of this run
        (``autograder/nbgrading/autograde_job.py``), under ``settings``; ``{"success",
        "error"}``."""
        worker = self._worker(env)
        request = json.dumps({"workspace": str(workspace), "student": student_id,
                              "settings": settings.to_json()}) + "\n"
        try:
            worker.stdin.write(request)
            worker.stdin.flush()
            answer = worker.stdout.readline()
        except (OSError, ValueError):
            answer = ""
        with self._lock:
            worker.graded += 1
            if answer and worker.graded < STUDENTS_PER_WORKER and not self.closed:
                self._idle.setdefault(worker.key, []).append(worker)
            else:
                self._retire(worker)
        if not answer:
            return {"success": False, "error": "nbgrader's worker died: " + _tail(worker.log)}
        return json.loads(answer)

    def _worker(self, env: dict) -> subprocess.Popen:
        """An idle worker started with ``env``, or a new one."""
        key = tuple(sorted(env.items()))
        with self._lock:
            if self._idle.get(key):
                return self._idle[key].pop()
            log = self.folder / f"worker-{len(self._jobs) + self._retired}.log"
            with open(log, "w") as stderr:
                worker = self._start([sys.executable, "-m", "autograder.nbgrading.autograde_job"],
                                     env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=stderr, text=True)
            worker.key, worker.log, worker.graded = key, log, 0
            self._jobs.add(worker)
            return worker

    def _retire(self, worker: subprocess.Popen) -> None:
        """Stop a worker (the caller holds the lock)."""
        self._jobs.discard(worker)
        self._retired += 1
        with contextlib.suppress(OSError):
            worker.stdin.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        worker.stdout.close()

    def _start(self, args: list[str], env: dict, **options) -> subprocess.Popen:
        """A process of the run, in a group of its own (the caller holds the lock, so that
        ``close`` either sees it or stops it from starting)."""
        if self.closed:
            raise RuntimeError("the grading run has ended")
        return subprocess.Popen(args, env=self.environment(env), cwd=COURSE_ROOT,
                                start_new_session=True, **options)

    def close(self) -> None:
        """Kill every process of the run (each one's whole group), then remove its folder."""
        with self._lock:
            self.closed = True
            processes = [*self._jobs, self._server]
        for process in processes:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
            _wait_for_group(process.pid)
            for stream in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):
                    stream and stream.close()
        remove_stale_calls()  # the limits of calls that were running when their judge was killed
        shutil.rmtree(self.folder, ignore_errors=True)
        owner, self._owner = self._owner, None  # closed once: a descriptor's number is reused
        if owner is not None:
            os.close(owner)  # after the removal: what it could not remove, the next run will


def _tail(log: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) or "no output"
    return "no output"


def _wait_for_group(group: int, seconds: float = 10.0) -> None:
    """Until every process of a killed group is gone (forks of a forked server included)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)


WORKER_RUNS: dict = {}  # profile -> this process's run, when it grades as a cluster worker


def worker_run(profile: str) -> GradingRun:
    """A Dask worker's own run, kept for the worker's life (its template and judge server
    serve every student it grades) and closed when the worker exits."""
    if profile not in WORKER_RUNS:
        WORKER_RUNS[profile] = GradingRun(profile)
        atexit.register(WORKER_RUNS[profile].close)
    return WORKER_RUNS[profile]

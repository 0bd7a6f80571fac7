"""A grading run's settings: one frozen value, built once, handed down to every process.

The command that starts a run (``grade``, ``validate``, ``bench``; plain ``nbgrader autograde``
when there is no run) builds a ``RunConfig`` with ``resolve`` from the grader's settings table
below, where every default is written once. It crosses each process boundary as one JSON value,
``RunConfig.to_json``: in the environment variable ``DPR_RUN`` of the processes the run starts
(the judge server, nbgrader's workers), in each request to a worker and to the judge server;
every process reads it back with ``current()``. The sandboxed child of a call gets only that
call's ``Limits`` (``autograder/judge/limits.py``).

The students' settings (the profile, the device, the NQ folder) are ``dpr_course/settings.py``'s.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace

from dpr_course import settings
from dpr_course.profiles import profile_name
from dpr_course.settings import Setting

RUN_ENV = "DPR_RUN"  # the run's RunConfig, as JSON

TABLE = (
    Setting("DPR_GRADER", "judge", "judge",
            "`judge` (the sandboxed judge) or `kernel` (nbgrader's own kernel)"),
    Setting("DPR_CELL_TIMEOUT", "300", "3600",
            "seconds: the kernel's limit per cell, and the judge's per call of a student's "
            "function that trains a model (a part's `trains`)"),
    Setting("DPR_QUICK_CALL_TIMEOUT", "60", "3600",
            "seconds: the judge's limit per call of any other function of the student's (in the "
            "tiny profile their honest calls take a few seconds at most)"),
    Setting("DPR_NOTEBOOK_TIMEOUT", "1200", "14400",
            "seconds: the judge's limit on all of one notebook's calls together"),
    Setting("DPR_MEMORY_LIMIT_GB", "4", "4",
            "GiB: what one call's whole process tree may use"),
    Setting("DPR_PROCESS_LIMIT", "64", "64",
            "processes and threads one call's tree may run at once"),
    Setting("DPR_JUDGE_DEVICE", "auto", "auto",
            "where the student's code runs when judged: `auto`, `cpu` or `cuda`"),
    Setting("DPR_JUDGE_THREADS", "1", "auto",
            "threads of the judge's own computing (the instructor's cells, the provided code's "
            "training runs): a number, or `auto`, the job's share of the cores. A training run's "
            "numbers change with the thread count, so a number keeps the scores the same at any "
            "`--jobs` and on any cluster worker; the full profile's runs need the cores"),
    Setting("DPR_SANDBOX_LIMITS", "auto", "auto",
            "how the limits are held: `auto`, `cgroup2`, `cgroup1` or `watchdog`"),
    Setting("DPR_CACHE_DIR", None, None,
            "the folder of the course-version cache (`autograder/cache.py`); unset: the user's "
            "cache folder (platformdirs'), `python -m autograder cache info` names it"),
    Setting("DPR_TRACE", None, None,
            "a file where grading appends the time of each of its phases (`bench` sets it)"),
)
SETTINGS = {setting.name: setting for setting in TABLE}


@dataclass(frozen=True)
class RunConfig:
    """Everything a grading run's processes need to agree on.

    Limits on the student's code: a call's wall clock (part 4's training run, the longest,
    takes 30 to 110 s in the tiny profile on one thread); a function that trains nothing gets
    ``quick_seconds`` (at most ``cell_seconds``), so that an infinite loop where the honest code
    takes milliseconds is stopped soon; memory and processes: what a call's whole process tree
    may add and start. ``device``: where the student's code computes, ``auto`` (a GPU when the
    machine has one), ``cpu`` or ``cuda``; the judge itself stays on the CPU, on ``threads``
    threads (the student's code always runs on one). ``server``, ``memo`` and ``grader_pid``
    are the run's: its judge server's socket, the folder of the training runs students share,
    and the process every other one dies with (empty or 0 without a run)."""
    profile: str
    grader: str
    cell_seconds: float
    quick_seconds: float
    notebook_seconds: float
    memory_bytes: int
    processes: int
    device: str
    threads: int
    sandbox: str
    trace: str = ""
    server: str = ""
    memo: str = ""
    grader_pid: int = 0
    jobs: int = 1          # students graded at once on this machine

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    @functools.lru_cache(maxsize=8)
    def from_json(text: str) -> "RunConfig":
        return RunConfig(**json.loads(text))

    def digest(self) -> str:
        """A short digest, to tell in a trace whether two processes saw the same settings."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    def environ(self) -> dict:
        """What a process of the run gets in its environment."""
        return {RUN_ENV: self.to_json()}

    def but(self, **changes) -> "RunConfig":
        return replace(self, **changes)

    def wants_gpu(self) -> bool:
        """Whether a call gets the GPUs (decided without initialising CUDA here)."""
        return self.device != "cpu" and os.path.exists("/dev/nvidiactl")


def resolve(environ=os.environ, profile: str | None = None, jobs: int = 1, **run) -> RunConfig:
    """The run's settings from the table: ``$DPR_*`` where set, else the profile's defaults;
    ``DPR_JUDGE_THREADS=auto`` is the job's share of the cores, with ``jobs`` jobs at once.
    ``run``: the run's own fields (server, memo, grader_pid)."""
    run.setdefault("jobs", jobs)
    profile = profile or profile_name(environ)

    def value(name: str) -> str:
        return settings.value(SETTINGS[name], environ, profile) or ""
    return RunConfig(
        profile=profile, grader=value("DPR_GRADER"),
        cell_seconds=float(value("DPR_CELL_TIMEOUT")),
        quick_seconds=float(value("DPR_QUICK_CALL_TIMEOUT")),
        notebook_seconds=float(value("DPR_NOTEBOOK_TIMEOUT")),
        memory_bytes=int(float(value("DPR_MEMORY_LIMIT_GB")) * (1 << 30)),
        processes=int(value("DPR_PROCESS_LIMIT")), device=value("DPR_JUDGE_DEVICE"),
        threads=_threads(value("DPR_JUDGE_THREADS"), jobs), sandbox=value("DPR_SANDBOX_LIMITS"),
        trace=value("DPR_TRACE"), **run)


def defaults(profile: str = "tiny", **changes) -> RunConfig:
    """The table's defaults for ``profile``, whatever the environment says, with changes."""
    return resolve({}, profile).but(**changes)


def current(environ=os.environ) -> RunConfig:
    """This process's run settings: its run's (``$DPR_RUN``), else resolved from the table."""
    given = environ.get(RUN_ENV)
    if given:
        return RunConfig.from_json(given)
    dpr = tuple(sorted((k, v) for k, v in environ.items() if k.startswith("DPR_")))
    return _resolved(dpr, profile_name(environ))


@functools.lru_cache(maxsize=8)
def _resolved(dpr_environ: tuple, profile: str) -> RunConfig:
    """``resolve`` of the ``DPR_*`` part of an environment, once per different one."""
    return resolve(dict(dpr_environ), profile)


@contextlib.contextmanager
def in_effect(settings: RunConfig):
    """``settings`` are this process's run settings (``current()``) within the block."""
    before = os.environ.get(RUN_ENV)
    os.environ[RUN_ENV] = settings.to_json()
    try:
        yield settings
    finally:
        if before is None:
            os.environ.pop(RUN_ENV, None)
        else:
            os.environ[RUN_ENV] = before


def _threads(value: str, jobs: int) -> int:
    if value.strip().lower() == "auto":
        return max(1, (os.cpu_count() or 1) // max(1, jobs))
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(f"DPR_JUDGE_THREADS={value!r}: give a number of threads (1 or more) "
                         "or 'auto'")
    return threads


def markdown_table() -> str:
    """Every setting, the students' and the grader's, for the documentation."""
    return settings.markdown_table(settings.TABLE + TABLE)

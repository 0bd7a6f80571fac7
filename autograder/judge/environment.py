"""The environments a grading run's processes start with: nbgrader's grading kernels, and the
judge's processes (an allow-list: what students' code could reach in memory is only this)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from autograder.config import RunConfig
from autograder.course.paths import COURSE_ROOT
from dpr_course import settings


def grading_environment(profile: str) -> dict:
    """The environment of the grading kernels: quiet, offline for tiny, the course importable.

    nbgrader scores a test cell 0 if it writes anything to stderr, so warnings and progress
    bars are switched off here rather than trusted to the notebook.
    """
    env = dict(os.environ)
    env.update(
        DPR_PROFILE=profile,
        PYTHONWARNINGS="ignore",
        TQDM_DISABLE="1",
        TRANSFORMERS_VERBOSITY="error",
        TOKENIZERS_PARALLELISM="false",
        PYTHONPATH=os.pathsep.join(filter(None, [str(COURSE_ROOT), env.get("PYTHONPATH")])),
        # nbgrader calls the `alembic` executable installed next to the interpreter.
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    if profile == "tiny":
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env


# What the judge keeps of the grader's environment: the library's settings, and where the full
# profile's data and weights lie (it reads them; students never see these paths). The grader's
# own settings reach it as the run settings (DPR_RUN); where the course-version cache lies
# (DPR_CACHE_DIR, HOME) too, so that its sandbox hides the same folder (autograder/cache.py).
JUDGE_PASSED_ON = tuple(s.name for s in settings.TABLE if s.grader) + (
    "HF_HOME", "HF_HUB_CACHE", "CUDA_VISIBLE_DEVICES", "HOME", "DPR_CACHE_DIR", "XDG_CACHE_HOME",
    "PYTHONWARNINGS", "TQDM_DISABLE", "TRANSFORMERS_VERBOSITY", "TOKENIZERS_PARALLELISM",
    "PYTHONPATH")


def judge_environment(run: RunConfig) -> dict:
    """The judge's whole environment: an allow-list. Every process whose forks run students'
    code starts from it, so no token, key, password or cluster address of the grader's shell
    is ever in their memory. The judge computes on the CPU and never initialises CUDA (its
    confined children use the GPU), never downloads, and never reads a Hugging Face token."""
    graded = grading_environment(run.profile)
    env = {name: graded[name] for name in JUDGE_PASSED_ON if name in graded}
    env.update(
        PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        LANG="C.UTF-8", DPR_PROFILE=run.profile, DPR_DEVICE="cpu", PYTORCH_NVML_BASED_CUDA_CHECK="1",
        OMP_NUM_THREADS=str(run.threads), **run.environ(),
        HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_IMPLICIT_TOKEN="1",
        HF_HUB_DISABLE_TELEMETRY="1", MPLBACKEND="Agg",
    )
    return env

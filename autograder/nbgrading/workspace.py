"""Running nbgrader's own command line in a scratch copy of the course directory.

Grading and building never touch the repository's own gradebook: each run copies the solutions
and the configuration into a fresh folder and calls ``python -m nbgrader`` there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dpr_course import settings
from autograder.course.paths import ASSIGNMENT, COURSE_ROOT, NBGRADER_CONFIG, SOLUTIONS_DIR


def grading_environment(profile: str, jobs: int = 1) -> dict:
    """The environment of the grading kernels: quiet, offline for tiny, the course importable.

    nbgrader scores a test cell 0 if it writes anything to stderr, so warnings and progress
    bars are switched off here rather than trusted to the notebook. With ``jobs`` kernels at
    once, each gets its share of the CPU cores, so they do not fight over threads.
    """
    env = dict(os.environ)
    if jobs > 1:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // jobs))
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


# What the judge keeps of the grader's environment: the course's own settings, and where the
# full profile's data and weights lie (it reads them; students never see these paths).
JUDGE_PASSED_ON = tuple(s.name for s in settings.TABLE if s.grader) + (
    "HF_HOME", "HF_HUB_CACHE", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "HOME",
    "PYTHONWARNINGS", "TQDM_DISABLE", "TRANSFORMERS_VERBOSITY", "TOKENIZERS_PARALLELISM",
    "PYTHONPATH")


def judge_environment(profile: str, jobs: int = 1) -> dict:
    """The judge's whole environment: an allow-list. Every process whose forks run students'
    code starts from it, so no token, key, password or cluster address of the grader's shell
    is ever in their memory. The judge computes on the CPU and never initialises CUDA (its
    confined children use the GPU), never downloads, and never reads a Hugging Face token."""
    graded = grading_environment(profile, jobs)
    env = {name: graded[name] for name in JUDGE_PASSED_ON if name in graded}
    env.update(
        PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        LANG="C.UTF-8", DPR_PROFILE=profile, DPR_DEVICE="cpu", PYTORCH_NVML_BASED_CUDA_CHECK="1",
        HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_IMPLICIT_TOKEN="1",
        HF_HUB_DISABLE_TELEMETRY="1", MPLBACKEND="Agg",
    )
    return env


def make_workspace(prefix: str = "dpr-", folder: Path | None = None) -> Path:
    """A scratch course directory (in ``folder``, else the temporary folder) holding the config
    and a copy of the solutions."""
    workspace = Path(tempfile.mkdtemp(prefix=prefix, dir=folder))
    shutil.copy(NBGRADER_CONFIG, workspace / "nbgrader_config.py")
    shutil.copytree(SOLUTIONS_DIR, workspace / "solutions" / ASSIGNMENT,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return workspace


def nbgrader(workspace: Path, *args: str, env: dict | None = None,
             check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m nbgrader ARGS`` in ``workspace``; raise with its log if it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=workspace, env=env or grading_environment("tiny"),
        capture_output=True, text=True,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result

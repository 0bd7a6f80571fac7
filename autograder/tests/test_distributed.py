"""Grading on a Dask cluster: a real scheduler and worker, each a process of its own."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from autograder.run import RUN_PREFIX, grade
from autograder.course.paths import COURSE_ROOT, SAMPLE_SUBMISSIONS

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path):
    """``dask scheduler`` and ``dask worker`` started as an instructor would, on this machine,
    with a temporary folder of their own (Dask keeps its `dask-scratch-space` there). Once they
    have ended, nothing of the worker's grading run may be left in it."""
    address_file, scratch = tmp_path / "scheduler.json", tmp_path / "cluster-tmp"
    scratch.mkdir()
    env = dict(os.environ, DPR_PROFILE="tiny", TMPDIR=str(scratch))
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = subprocess.Popen([*dask, "--scheduler-file", str(address_file), "--port", "0",
                                  "--dashboard-address", ":0"], env=env, cwd=COURSE_ROOT,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker",
                               "--scheduler-file", str(address_file), "--nthreads", "2",
                               "--no-nanny", "--dashboard-address", ":0"], env=env, cwd=COURSE_ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        yield str(address_file)
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=30)
    left = sorted(path.name for path in scratch.glob(RUN_PREFIX + "*"))
    assert not left, f"the worker's grading run outlived it: {left}"


def test_a_class_graded_on_a_cluster_scores_as_on_this_machine(cluster, graded_samples, tmp_path):
    chosen = ["encoder_mean_pooling", "nce_loss_cosine_scores"]
    for student in chosen:
        shutil.copytree(SAMPLE_SUBMISSIONS / student, tmp_path / "submitted" / student)
    results = grade(tmp_path / "submitted", tmp_path / "grades.csv", scheduler=cluster)
    on_cluster = [{k: str(v) for k, v in row.items()} for r in results for row in r.rows]
    here = [row for row in graded_samples["rows"] if row["student_id"] in chosen]
    assert on_cluster == here
    assert not any(r.error for r in results)
    feedback = tmp_path / "feedback" / "nce_loss_cosine_scores" / "dual_encoder"
    assert (feedback / "03_nce_loss.html").exists()

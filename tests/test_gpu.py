"""The full profile on a GPU runner: pretrained weights, CUDA, the original figures.

Skipped, with the reason, where CUDA or the cached distilbert-base-uncased weights are missing
(CI has no GPU and no hub access).
"""

import pytest
import torch

from autograder import config
from dpr_course import models, profiles
from dpr_course.testing import load_expectations

pytestmark = pytest.mark.gpu
ORIGINAL_IDS = torch.LongTensor([[101, 1001, 1002, 1003, 1004],
                                 [101, 207, 350, 394, 999],
                                 [101, 10000, 10000, 10000, 10000]])


def _require_cuda():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: the gpu tests run on the GPU runner only")


def _require_pretrained():
    from transformers import DistilBertModel
    try:
        DistilBertModel.from_pretrained("distilbert-base-uncased", local_files_only=True)
    except OSError:
        pytest.skip("distilbert-base-uncased is not in the Hugging Face cache "
                    "(download it once on a machine with hub access)")


def test_full_profile_encoder_gives_the_original_values(monkeypatch):
    _require_cuda()
    _require_pretrained()
    monkeypatch.setenv("DPR_PROFILE", "full")
    from autograder.judge.reference import reference

    reference.cache_clear()
    encoder = reference("01_encoder")["DistilBertEncoder"]().cuda().eval()
    with torch.no_grad():
        first = encoder(ORIGINAL_IDS.cuda())[:, 0].cpu()
    expected = torch.tensor(load_expectations("full")["encoder.cls_first_coordinate"])
    torch.testing.assert_close(first, expected, atol=1e-4, rtol=0)
    reference.cache_clear()


def test_tiny_encoder_agrees_on_cpu_and_gpu():
    _require_cuda()
    model = models.tiny_distilbert().eval()
    with torch.no_grad():
        on_cpu = model(ORIGINAL_IDS).last_hidden_state[:, 0]
        on_gpu = model.cuda()(ORIGINAL_IDS.cuda()).last_hidden_state[:, 0].cpu()
    torch.testing.assert_close(on_gpu, on_cpu, atol=1e-4, rtol=0)
    assert profiles.PROFILES["tiny"].model_source == "tiny-random"


def _reference_submission(tmp_path):
    import shutil

    from autograder.course.paths import SAMPLE_SUBMISSIONS

    shutil.copytree(SAMPLE_SUBMISSIONS / "reference", tmp_path / "submitted" / "reference")
    return tmp_path / "submitted"


def _assert_full_marks(results):
    [result] = results
    assert not result.error, result.error
    lost = [f"{r['notebook']}/{r['grade_id']}" for r in result.rows if r["score"] != r["max_score"]]
    assert result.rows and not lost, f"the reference lost points on the GPU: {lost}"


def test_tiny_reference_gets_full_marks_on_the_gpu(tmp_path):
    """The tiny profile's tolerances hold on CUDA: all five reference notebooks, graded by the
    judge, whose confined children compute on the GPU."""
    _require_cuda()
    from autograder.run import grade

    _assert_full_marks(grade(_reference_submission(tmp_path), tmp_path / "grades.csv", profile="tiny"))


JUDGE_ON_THE_GPU = """
import json, torch
from autograder import config
from autograder.judge.student import Student, StudentFunction
student = Student([("answer", "def f(model, x, device=device):\\n"
                   "    return [str(device), str(next(model.parameters()).device), str((model(x)).device)]\\n")],
                  {"torch": torch, "device": "cpu"}, config.defaults(cell_seconds=120, device="auto"))
seen = StudentFunction(student, "f")(torch.nn.Linear(2, 2), torch.ones(1, 2), device="cpu")
print(json.dumps({"seen": seen, "parent_initialised_cuda": torch.cuda.is_initialized()}))
"""


def test_the_judge_computes_on_the_gpu_and_its_parent_never_touches_cuda():
    """A student's call runs on the GPU in its confined child (device arguments, defaults,
    models and tensors moved there), and comes back on the CPU; the judge itself stays off CUDA."""
    _require_cuda()
    import json
    import subprocess
    import sys

    from autograder.judge.environment import judge_environment
    from autograder.course.paths import COURSE_ROOT

    run = subprocess.run([sys.executable, "-c", JUDGE_ON_THE_GPU], env=judge_environment(config.defaults("tiny")),
                         cwd=COURSE_ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["seen"] == ["cuda", "cuda:0", "cuda:0"], found
    assert not found["parent_initialised_cuda"]


def test_full_profile_reference_gets_full_marks(tmp_path):
    """All five notebooks at full scale against the original assignment's published figures,
    graded by the judge on the GPU."""
    _require_cuda()
    _require_pretrained()
    from autograder.run import grade
    from dpr_course import nq

    try:
        nq.find_nq_toy_dir(download=False)
    except nq.NQDataNotFoundError as error:
        pytest.skip(f"no NQ-toy data on this runner: {str(error).splitlines()[0]}")
    _assert_full_marks(grade(_reference_submission(tmp_path), tmp_path / "grades.csv", profile="full"))

"""The notebooks keep the original's names and point students at the right places."""

import re

from autograder import notebooks
from autograder.paths import COURSE_ROOT, RELEASE_DIR, notebook_names
from autograder.reference import reference

STAGE_01_NAMES = {"set_seed", "clear_from_gpu", "data_train", "data_val", "KB",
                  "distilbert_tokenizer", "MAX_INPUT_LENGTH", "DualEncoder",
                  "DistilBertEncoder", "make_distilbert_dual_encoder"}
# The original's global names (GUIDE), by the part that introduces them.
NAMES_BY_PART = {
    "01_encoder": STAGE_01_NAMES,
    "02_evaluation": {"MyDataset", "tensorize_contrastive", "tensorize_KB_batch", "embed_KB",
                      "embed_questions", "get_topk_candidates", "topk_retrieval_accuracy"},
    "03_nce_loss": {"get_in_batch_contrastive_loss"},
    "04_training": {"configure_optimization", "train_nce"},
    "05_hard_negatives": {"mine_hard_negatives"},
}


def test_stage_01_defines_the_original_global_names():
    namespace = reference("01_encoder")
    assert STAGE_01_NAMES <= set(namespace)
    assert len(namespace["KB"]) == 1500
    assert (len(namespace["data_train"]), len(namespace["data_val"])) == (500, 1000)
    assert namespace["MAX_INPUT_LENGTH"] == namespace["PROFILE"].max_input_length
    model = namespace["make_distilbert_dual_encoder"]()
    assert model.query_encoder is not model.passage_encoder
    tied = namespace["make_distilbert_dual_encoder"](tie_encoders=True)
    assert tied.query_encoder is tied.passage_encoder


def test_each_part_defines_its_names_and_every_earlier_parts_names():
    wanted = set()
    for name in notebook_names():
        wanted |= NAMES_BY_PART[name]
        missing = wanted - set(reference(name))
        assert not missing, f"{name} lacks {sorted(missing)}"


def test_colab_badges_and_install_point_at_this_repository():
    readme = (COURSE_ROOT / "README.md").read_text(encoding="utf-8")
    for name in notebook_names():
        notebook = notebooks.read(RELEASE_DIR / f"{name}.ipynb")
        text = "\n".join(cell.source for cell in notebook.cells)
        repo = re.search(r'COURSE_REPO = "https://github.com/([\w.-]+/[\w.-]+)"', text).group(1)
        badge = f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/dual_encoder/{name}.ipynb"
        assert badge in text, f"{name}: its Colab badge must open its own release notebook"
        assert badge in readme, f"README lacks the Colab badge of {name}"


def test_no_notebook_mounts_drive_or_prints_a_token():
    for path in COURSE_ROOT.glob("*/dual_encoder/*.ipynb"):
        text = path.read_text(encoding="utf-8")
        assert "drive.mount" not in text and "userdata.get" not in text, path
        assert not re.search(r"hf_[A-Za-z0-9]{30,}", text), path


def test_loading_the_reference_leaves_the_random_state_alone():
    import random

    import numpy as np
    import torch

    expected = (random.Random(7).random(), np.random.RandomState(7).rand(),
                torch.rand(1, generator=torch.Generator().manual_seed(7)).item())
    reference.cache_clear()
    random.seed(7)
    np.random.seed(7)
    torch.manual_seed(7)
    reference("02_evaluation")  # the solution calls set_seed(42) along the way
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected

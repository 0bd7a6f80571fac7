"""The notebooks keep the original's names and point students at the right places."""

import re

from autograder.course import notebooks
from autograder.course.paths import COURSE_ROOT, RELEASE_DIR, SOLUTIONS_DIR
from autograder.course.stages import STAGES, notebook_names
from autograder.judge.reference import reference

STAGE_01_NAMES = STAGES[0].names


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
    for stage in STAGES:  # the original's global names (GUIDE), by the part that introduces them
        wanted |= stage.names
        missing = wanted - set(reference(stage.notebook))
        assert not missing, f"{stage.notebook} lacks {sorted(missing)}"


def test_colab_badges_and_the_first_cell_follow_the_course_setting():
    """COURSE_REPO, COURSE_BRANCH and every badge come from course.toml, never typed in."""
    from autograder.course import setting as course

    where = course.public()
    readme = (COURSE_ROOT / "README.md").read_text(encoding="utf-8")
    for name in notebook_names():
        notebook = notebooks.read(RELEASE_DIR / f"{name}.ipynb")
        text = "\n".join(cell.source for cell in notebook.cells)
        assert set(re.findall(r'^COURSE_REPO = "(.*)"', text, re.M)) == {where.repository}
        assert set(re.findall(r'^COURSE_BRANCH = "(.*)"', text, re.M)) == {where.branch}
        assert where.badge(name) in notebook.cells[0].source, f"{name}: its own Colab badge"
        assert where.badge(name) in readme, f"README lacks the Colab badge of {name}"
    assert course.stale() == []


def test_a_changed_course_setting_reaches_every_notebook_and_the_readme(tmp_path, monkeypatch):
    import shutil

    from autograder.course import setting as course

    setting = tmp_path / "course.toml"
    setting.write_text('[public]\nrepository = "https://github.com/elsewhere/dpr"\nbranch = "spring"\n')
    solutions = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS_DIR, solutions)
    shutil.copy(COURSE_ROOT / "README.md", tmp_path / "README.md")
    monkeypatch.setattr(course, "SETTING", setting)
    monkeypatch.setattr(course, "SOLUTIONS_DIR", solutions)
    monkeypatch.setattr(course, "README", tmp_path / "README.md")
    assert len(course.stale()) == len(notebook_names()) + 1
    course.apply()
    assert course.stale() == []
    text = (solutions / "03_nce_loss.ipynb").read_text()
    assert 'COURSE_REPO = \\"https://github.com/elsewhere/dpr\\"' in text  # also in provided cells
    assert text.count("elsewhere/dpr") == 2, "the first cell in part 1's provided cell, and the badge"
    assert "github/elsewhere/dpr/blob/spring/notebooks/03_nce_loss.ipynb" in text
    assert "elsewhere/dpr/blob/spring" in (tmp_path / "README.md").read_text()


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

"""publish writes the student-facing repository, and nothing an instructor keeps gets into it."""

import shutil

import pytest

from autograder.course import setting as course
from autograder.course import notebooks
from autograder.commands import publish
from autograder.course.paths import RELEASE_DIR, SOLUTIONS_DIR
from autograder.course.stages import notebook_names
from autograder.commands.validate import answer_lines, hidden_test_lines

URL = "https://github.com/some-course/retrieval-notebooks"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    out = tmp_path_factory.mktemp("public")
    (out / ".git").mkdir()  # a clone of the public repository: kept as it is
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (out / "LICENSE").write_text("the course's licence\n")
    publish.publish(out, through=2, repo_url=URL)
    return out


def test_the_repository_holds_parts_one_to_n_the_library_and_nothing_else(published):
    top = {path.name for path in published.iterdir()}
    assert top == {".git", "LICENSE", ".gitignore", "README.md", "pyproject.toml", "dpr_course",
                   "data", "notebooks"}
    assert sorted(p.name for p in (published / "notebooks").iterdir()) == \
        [f"{name}.ipynb" for name in notebook_names()[:2]]
    assert (published / "data" / "synthetic" / "nq-train.json").is_file()
    assert (published / "dpr_course" / "expectations" / "tiny.json").is_file(), \
        "the visible tests' expected values"
    assert not list(published.rglob("__pycache__"))
    assert publish.leaks(published, through=2) == []


def test_the_notebooks_and_the_readme_point_at_the_public_repository(published):
    where = course.Public(URL, course.public().branch)
    for name in notebook_names()[:2]:
        text = "\n".join(c.source for c in notebooks.read(published / "notebooks" / f"{name}.ipynb").cells)
        assert f'COURSE_REPO = "{URL}"' in text
        assert where.notebook_url(name) in text, f"{name}: its own Colab badge"
    readme = (published / "README.md").read_text()
    assert where.notebook_url("02_evaluation") in readme
    assert where.notebook_url("03_nce_loss") not in readme, "part 3 is not published yet"
    assert "hand in" in readme and "Save a copy in Drive" in readme


def test_the_packaging_installs_the_library_with_the_mains_requirements(published):
    import tomllib

    student = tomllib.loads((published / "pyproject.toml").read_text())
    with open(SOLUTIONS_DIR.parent.parent / "pyproject.toml", "rb") as f:
        main = tomllib.load(f)
    assert student["project"]["dependencies"] == main["project"]["dependencies"]
    assert set(student["project"]["optional-dependencies"]) == {"tiny", "colab"}
    assert student["tool"]["setuptools"]["packages"]["find"]["include"] == ["dpr_course*"]


def test_the_scan_finds_every_kind_of_leak(published, tmp_path):
    leaky = tmp_path / "leaky"
    shutil.copytree(published, leaky)
    (leaky / "solutions").mkdir()
    shutil.copy(SOLUTIONS_DIR / "01_encoder.ipynb", leaky / "solutions")
    (leaky / "autograder" / "checks").mkdir(parents=True)
    (leaky / "nbgrader_config.py").write_text("c = get_config()\n")
    hidden = hidden_test_lines(notebooks.read(SOLUTIONS_DIR / "05_hard_negatives.ipynb"))[0]
    answer = answer_lines(notebooks.read(SOLUTIONS_DIR / "02_evaluation.ipynb"))[0]
    (leaky / "notes.py").write_text(f"{hidden}\n{answer}\n# from autograder import checks\n")
    (leaky / "token.txt").write_text("hf_" + "Ab1" * 12 + "\n")
    found = "\n".join(publish.leaks(leaky, through=2))
    for expected in ("solutions: an instructor file", "autograder: an instructor file",
                     "nbgrader_config.py: an instructor file", "BEGIN SOLUTION",
                     f"holds a solution or hidden test: {hidden!r}",
                     f"holds a solution or hidden test: {answer!r}", "from autograder",
                     "token.txt:1: a token-shaped string"):
        assert expected in found, f"the scan missed: {expected}\n{found}"
    # Part 2 provides part 1's reference code: published through part 1, that would be a leak.
    assert any("holds a solution" in leak for leak in publish.leaks(published, through=1))


def test_a_stale_release_or_a_bad_range_is_refused(tmp_path, monkeypatch):
    with pytest.raises(publish.PublishError, match="between 1 and"):
        publish.publish(tmp_path / "out", through=0)
    release = tmp_path / "release"
    shutil.copytree(RELEASE_DIR, release)
    path = release / "01_encoder.ipynb"
    notebook = notebooks.read(path)
    notebook.cells[0].source += "\nan edit that build never made"
    notebooks.write(notebook, path)
    monkeypatch.setattr(publish, "RELEASE_DIR", release)
    with pytest.raises(publish.PublishError, match="01_encoder.ipynb: cell 0 differs"):
        publish.publish(tmp_path / "out", through=1)

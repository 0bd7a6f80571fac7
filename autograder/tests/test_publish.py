"""publish writes the student-facing repository, and nothing an instructor keeps gets into it."""

import ast
import re
import shutil

import pytest

from autograder.course import home
from autograder.course import notebooks
from autograder.commands import publish
from autograder.course.paths import RELEASE_DIR, SOLUTIONS_DIR
from autograder.course.parts import notebook_names
from autograder.course.withheld import answer_lines, hidden_test_lines

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
    where = home.Public(URL, home.public().branch)
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


def _definitions(tree) -> dict[str, list]:
    """Every function and method defined in ``tree``, by name (methods as Class.name)."""
    found: dict[str, list] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found.setdefault(f"{node.name}.{item.name}", []).append(item)
        if isinstance(node, ast.FunctionDef):
            found.setdefault(node.name, []).append(node)
    return found


def _body(function) -> str:
    """A function's code without its docstring, comments or layout."""
    body = function.body[1:] if ast.get_docstring(function) is not None else function.body
    return "\n".join(ast.dump(statement) for statement in body)


def _answers(name: str) -> dict[str, tuple[str, str]]:
    """Each function and method a part's students write -> (the reference's code, the stub's)."""
    solution = notebooks.read(SOLUTIONS_DIR / f"{name}.ipynb")
    release = notebooks.read(RELEASE_DIR / f"{name}.ipynb")
    answers = {}
    for mine, theirs in zip(solution.cells, release.cells):
        if notebooks.is_code_answer(mine):
            functions, methods = notebooks.answer_names(theirs.source)
            keys = functions + [f"{c}.{m}" for c, names in methods.items() for m in names]
            reference, stub = _definitions(ast.parse(mine.source)), _definitions(ast.parse(theirs.source))
            answers.update({key: (_body(reference[key][0]), _body(stub[key][0])) for key in keys})
    return answers


def _published_code(out) -> list:
    trees = [ast.parse(path.read_text()) for path in out.rglob("*.py")]
    for path in sorted((out / "notebooks").glob("*.ipynb")):
        trees += [ast.parse(cell.source) for cell in notebooks.read(path).cells
                  if cell.cell_type == "code" and not cell.source.lstrip().startswith(("!", "%"))]
    return trees


@pytest.mark.parametrize("through", range(1, len(notebook_names()) + 1))
def test_every_part_can_be_published_and_withholds_what_it_must(through, tmp_path):
    """Published through part N: the answers of part N and later are stubs wherever they are
    defined, the earlier parts' answers are what part N provides, and no hidden test is
    anywhere; independently of the line scan, which finds nothing either."""
    out = tmp_path / "public"
    publish.publish(out, through=through, repo_url=URL)
    names = notebook_names()
    assert sorted(p.stem for p in (out / "notebooks").glob("*.ipynb")) == names[:through]
    defined: dict[str, list] = {}
    for tree in _published_code(out):
        for key, functions in _definitions(tree).items():
            defined.setdefault(key, []).extend(functions)
    for part, name in enumerate(names, 1):
        for key, (reference, stub) in _answers(name).items():
            bodies = {_body(function) for function in defined.get(key, [])}
            if part >= through:
                assert bodies <= {stub}, f"through part {through}: {key} of {name} is published"
            else:
                assert reference in bodies, \
                    f"through part {through}: part {through} does not provide {key} of {name}"
    text = "\n".join(path.read_text(errors="replace") for path in out.rglob("*") if path.is_file())
    for name in names:
        solution = notebooks.read(SOLUTIONS_DIR / f"{name}.ipynb")
        for cell in solution.cells:
            if notebooks.is_hidden_test(cell):
                hidden = cell.source.split(notebooks.BEGIN_HIDDEN)[1].split(notebooks.END_HIDDEN)[0]
                call = hidden.strip().splitlines()[-1]  # checks.<function>(<the names>)
                assert call not in text, f"through part {through}: a hidden test of {name}: {call}"
    assert "BEGIN HIDDEN" not in text and "autograder.checks" not in text
    assert publish.leaks(out, through) == []
    assert _instructor_only_mentions(out) == []


def _instructor_only_mentions(out) -> list[str]:
    """What the published notebooks and README mention that only the instructor's repository
    has: the grader's package and commands, the samples, the sections of the private README and
    of the documentation (docs/)."""
    from autograder.course.paths import COURSE_ROOT

    def headings(path):  # markdown headings: a "#" line outside fenced code
        lines, fenced = set(), False
        for line in path.read_text(encoding="utf-8").splitlines():
            fenced ^= line.startswith("```")
            if line.startswith("#") and not fenced:
                lines.add(line.lstrip("#").strip())
        return lines

    pages = [COURSE_ROOT / "README.md", *sorted((COURSE_ROOT / "docs").glob("*.md"))]
    private = {h for h in set().union(*map(headings, pages)) - headings(out / "README.md")
               if len(h.split()) >= 3}  # "Data" or "Settings" are words of any text
    names = [r"python -m autograder", r"\bautograder[./]", r"\bimport autograder", r"\bsamples/",
             r"manifest\.toml", r"\bstory\b", r"course\.toml", r"\bthe README reports"]
    found = []
    for path in [*sorted((out / "notebooks").glob("*.ipynb")), out / "README.md"]:
        text = path.read_text(encoding="utf-8") if path.suffix == ".md" else \
            "\n".join(cell.source for cell in notebooks.read(path).cells)
        found += [f"{path.name}: {name}" for name in names if re.search(name, text)]
        found += [f"{path.name}: the section {h!r}" for h in private if h in text]
    return found


def test_the_mention_check_finds_what_it_looks_for(published, tmp_path):
    out = tmp_path / "public"
    shutil.copytree(published, out)
    assert _instructor_only_mentions(out) == []
    notebook = notebooks.read(out / "notebooks" / "01_encoder.ipynb")
    notebook.cells[0].source += ("\nRun `python -m autograder story` on samples/ (README: The judge, "
                                 "the sandbox and the threat model).")
    notebooks.write(notebook, out / "notebooks" / "01_encoder.ipynb")
    assert sorted(_instructor_only_mentions(out)) == [
        "01_encoder.ipynb: \\bsamples/", "01_encoder.ipynb: \\bstory\\b",
        "01_encoder.ipynb: python -m autograder",
        "01_encoder.ipynb: the section 'The judge, the sandbox and the threat model'"]


def test_a_refused_publish_leaves_the_folder_as_it_was(published, tmp_path, monkeypatch):
    out = tmp_path / "public"
    shutil.copytree(published, out)
    before = {path.relative_to(out): path.read_bytes() for path in out.rglob("*") if path.is_file()}
    answer = answer_lines(notebooks.read(SOLUTIONS_DIR / "03_nce_loss.ipynb"))[0]
    monkeypatch.setattr(publish, "student_pyproject", lambda: f"# {answer}\n")  # a leak, planted
    with pytest.raises(publish.PublishError, match="nothing was written there"):
        publish.publish(out, through=3, repo_url=URL)
    after = {path.relative_to(out): path.read_bytes() for path in out.rglob("*") if path.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["public"], "the staging folder is gone"


def test_the_placeholder_repository_is_refused(tmp_path):
    from autograder.commands import validate

    for repository in home.PLACEHOLDERS:
        where = home.Public(repository, "main")
        with pytest.raises(publish.PublishError, match="set \\[public\\] repository in course.toml"):
            publish.publish(tmp_path / "out", through=1, repo_url=repository)
        assert home.unpublishable(where)
    assert not (tmp_path / "out").exists()
    assert home.unpublishable(home.Public(URL, "main")) == ""
    if home.public().repository in home.PLACEHOLDERS:  # this template's own course.toml
        assert validate.check_public_repository() != []
    assert validate.check_public_repository(URL) == []


def test_a_stale_release_or_a_bad_range_is_refused(tmp_path, monkeypatch):
    with pytest.raises(publish.PublishError, match="between 1 and"):
        publish.publish(tmp_path / "out", through=0, repo_url=URL)
    release = tmp_path / "release"
    shutil.copytree(RELEASE_DIR, release)
    path = release / "01_encoder.ipynb"
    notebook = notebooks.read(path)
    notebook.cells[0].source += "\nan edit that build never made"
    notebooks.write(notebook, path)
    monkeypatch.setattr(publish, "RELEASE_DIR", release)
    with pytest.raises(publish.PublishError, match="01_encoder.ipynb: cell 0 differs"):
        publish.publish(tmp_path / "out", through=1, repo_url=URL)

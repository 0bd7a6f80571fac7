"""``python -m autograder publish OUT --through N [--repo-url URL]``: the student-facing repository.

This repository holds the solutions, the hidden checks and the samples, so it stays private.
Students get another repository, written here: the released notebooks of parts 1 to N (each
part shows the reference code of the parts before it in its provided cells, so publish part by
part, each after the previous part's deadline), the course library ``dpr_course`` with the
visible tests' expected values, the tiny profile's synthetic data, a packaging file the
notebooks' first cell installs, and a README for students. The course setting (``course.toml``)
names that repository; ``--repo-url`` overrides it (a test publishes to a local folder).

``OUT`` may be a clone of the public repository: what publish writes is replaced, the rest
(``.git``, a licence) is kept. Everything is written into a staging folder beside ``OUT`` first,
and the staging folder and what ``OUT`` keeps are scanned for what must never reach students
(``leaks``): an answer or hidden test the release withholds (``course/withheld.py``), a check
module, a sample, an instructor file, a token. Only a clean scan moves the new content into
``OUT``; a refused publish leaves ``OUT`` as it was. The placeholder repository of
``course.toml`` is refused before anything is written.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import tomllib
from pathlib import Path

import dpr_course

from autograder.course import home
from autograder.course import notebooks
from autograder.course import provided
from autograder.course import withheld
from autograder.course.paths import COURSE_ROOT, RELEASE_DIR, SOLUTIONS_DIR
from autograder.course.parts import by_notebook, notebook_names
from autograder.tokens import scan_file

TEMPLATES = Path(__file__).parent / "public"
WRITTEN = ("README.md", "pyproject.toml", ".gitignore", "dpr_course", "data", "notebooks")
# What of this repository has no business in the students' one.
INSTRUCTOR_PATHS = ("solutions", "autograder", "samples", "tests", "nbgrader_config.py",
                    "course.toml", "requirements.txt", "Makefile", ".ci", "gradebook.db",
                    "grading", "submitted", "autograded", "feedback", "release", "source")
INSTRUCTOR_TEXT = ("autograder.checks", "from autograder", "import autograder")


class PublishError(RuntimeError):
    """The course is not ready to publish, or what was written would leak."""


def publish(out: Path, through: int, repo_url: str | None = None) -> list[Path]:
    """Write parts 1 to ``through`` and the course library into ``out``; the paths written."""
    names = notebook_names()
    if not 1 <= through <= len(names):
        raise PublishError(f"--through must be between 1 and {len(names)}, got {through}")
    where = home.public(repo_url)
    refusal = home.unpublishable(where)
    if refusal:
        raise PublishError(refusal)
    stale = _stale(names)
    if stale:
        raise PublishError("the release is not up to date with solutions/ (run "
                           "`python -m autograder build` first):\n  " + "\n  ".join(stale))
    out = out.absolute()
    out.mkdir(parents=True, exist_ok=True)
    # Beside OUT, on its file system (so the moves below are renames), and never inside it,
    # where a `git add -A` could take it.
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-publish-", dir=out.parent))
    try:
        written = _write(staging, names[:through], where)
        found = leaks(staging, through) + leaks(out, through, skip=WRITTEN)
        if found:
            raise PublishError(f"{out} would leak to students, so nothing was written there:"
                               "\n  " + "\n  ".join(found))
        _move_into(staging, out)
        return [out / path.relative_to(staging) for path in written]
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write(folder: Path, names: list[str], where: home.Public) -> list[Path]:
    """The public repository's content (``WRITTEN``) for parts ``names``, into ``folder``."""
    written = []
    for name in names:
        notebook = notebooks.read(RELEASE_DIR / f"{name}.ipynb")
        home.stamp(notebook, name, where)
        path = folder / home.PUBLISHED_NOTEBOOKS / f"{name}.ipynb"
        notebooks.write(notebook, path)
        written.append(path)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(Path(dpr_course.__file__).parent, folder / "dpr_course", ignore=ignore)
    shutil.copytree(COURSE_ROOT / "data" / "synthetic", folder / "data" / "synthetic", ignore=ignore)
    badges = "\n".join(f"- Part {i} · {by_notebook(n).title}: "
                       f"{where.badge(n)}" for i, n in enumerate(names, 1))
    readme = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    (folder / "README.md").write_text(readme.replace("{badges}", badges)
                                      .replace("{repository}", where.repository), encoding="utf-8")
    (folder / "pyproject.toml").write_text(student_pyproject(), encoding="utf-8")
    shutil.copy(TEMPLATES / "gitignore", folder / ".gitignore")
    return written + [folder / name for name in ("README.md", "pyproject.toml", ".gitignore")]


def _move_into(staging: Path, out: Path) -> None:
    """Replace ``WRITTEN`` in ``out`` by the staged content: each a rename on one file system;
    the old content goes into the staging folder, which the caller removes."""
    old = staging / ".replaced"
    old.mkdir()
    for name in WRITTEN:
        if (out / name).exists() or (out / name).is_symlink():
            (out / name).rename(old / name)
        (staging / name).rename(out / name)


def _stale(names: list[str]) -> list[str]:
    """What makes the committed release differ from what build would write (cheaply: the course
    setting, the provided cells, and every cell nbgrader copies unchanged)."""
    problems = home.stale() + provided.stale_cells()
    for name in names:
        solution = notebooks.read(SOLUTIONS_DIR / f"{name}.ipynb")
        release = notebooks.read(RELEASE_DIR / f"{name}.ipynb")
        ids = [notebooks.grade_id(c) for c in solution.cells]
        if ids != [notebooks.grade_id(c) for c in release.cells]:
            problems.append(f"notebooks/dual_encoder/{name}.ipynb has other cells than its solution")
            continue
        for index, (mine, theirs) in enumerate(zip(solution.cells, release.cells)):
            copied = not notebooks.is_answer(mine) and not notebooks.is_hidden_test(mine)
            if copied and mine.source != theirs.source:
                problems.append(f"notebooks/dual_encoder/{name}.ipynb: cell {index} differs from "
                                "its solution")
    return problems


def student_pyproject() -> str:
    """Packaging for the course library alone, with the main pyproject's runtime requirements
    (its `tiny` and `colab` extras included) and nothing of the grader's."""
    with open(COURSE_ROOT / "pyproject.toml", "rb") as f:
        main = tomllib.load(f)
    project = main["project"]
    extras = {k: v for k, v in project["optional-dependencies"].items() if k in ("tiny", "colab")}
    lines = [
        "# The course library the notebooks import. Written by `python -m autograder publish`.",
        "[build-system]",
        f"requires = {json.dumps(main['build-system']['requires'])}",
        f"build-backend = {json.dumps(main['build-system']['build-backend'])}",
        "",
        "[project]",
        *(f"{key} = {json.dumps(project[key])}"
          for key in ("name", "version", "description", "readme", "requires-python")),
        f"dependencies = {json.dumps(project['dependencies'])}",
        "",
        "[project.optional-dependencies]",
        *(f"{name} = {json.dumps(requirements)}" for name, requirements in extras.items()),
        "",
        "[tool.setuptools.packages.find]",
        'include = ["dpr_course*"]',
        "",
        "[tool.setuptools.package-data]",
        '"dpr_course.expectations" = ["*.json"]',
    ]
    return "\n".join(lines) + "\n"


def leaks(out: Path, through: int, skip: tuple[str, ...] = ()) -> list[str]:
    """Everything in ``out`` (but its ``.git`` and the top-level names ``skip``) that must not
    reach students: instructor files, nbgrader's markers, what a release through part
    ``through`` withholds (``course/withheld.py``), references to the checks, tokens, outputs."""
    def kept(path: Path) -> bool:
        parts = path.relative_to(out).parts
        return ".git" not in parts and parts[0] not in skip

    found = [f"{path.relative_to(out)}: an instructor file" for name in INSTRUCTOR_PATHS
             for path in out.rglob(name) if kept(path)]
    secret = withheld.withheld(through)
    files = sorted(p for p in out.rglob("*") if p.is_file() and kept(p))
    for path in files:
        shown = path.relative_to(out)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if path.suffix == ".ipynb":
            notebook = notebooks.read(path)
            text = "\n".join(cell.source for cell in notebook.cells)
            if any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"):
                found.append(f"{shown}: a cell with outputs")
        found += [f"{shown}: contains {marker!r}" for marker in withheld.MARKERS + INSTRUCTOR_TEXT
                  if marker in text]
        found += [f"{shown}: holds a solution or hidden test: {line!r}"
                  for line in withheld.found_in(text, secret)]
    found += [f"{path.relative_to(out)}:{number}: a token-shaped string ({kind})"
              for path in files for number, kind, _ in scan_file(path)]
    return found

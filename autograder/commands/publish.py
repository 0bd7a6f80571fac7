"""``python -m autograder publish OUT --through N [--repo-url URL]``: the student-facing repository.

This repository holds the solutions, the hidden checks and the samples, so it stays private.
Students get another repository, written here: the released notebooks of parts 1 to N (each
part shows the reference code of the parts before it in its provided cells, so publish part by
part, each after the previous part's deadline), the course library ``dpr_course`` with the
visible tests' expected values, the tiny profile's synthetic data, a packaging file the
notebooks' first cell installs, and a README for students. The course setting (``course.toml``)
names that repository; ``--repo-url`` overrides it (a test publishes to a local folder).

``OUT`` may be a clone of the public repository: what publish writes is replaced, the rest
(``.git``, a licence) is kept. Before anything is kept, the whole of ``OUT`` is scanned for what
must never reach students (``leaks``): a solution, a hidden test, a check module, a sample, an
instructor file, a token; publish fails if one is there.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import dpr_course

from autograder.course import setting as course
from autograder.course import notebooks
from autograder.course import provided
from autograder.course.paths import COURSE_ROOT, RELEASE_DIR, SOLUTIONS_DIR
from autograder.course.stages import by_notebook, notebook_names
from autograder.commands.secret_scan import scan_file
from autograder.commands.validate import SECRET_MARKERS, answer_lines, hidden_test_lines

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
    names = notebook_names()
    if not 1 <= through <= len(names):
        raise PublishError(f"--through must be between 1 and {len(names)}, got {through}")
    stale = _stale(names)
    if stale:
        raise PublishError("the release is not up to date with solutions/ (run "
                           "`python -m autograder build` first):\n  " + "\n  ".join(stale))
    where = course.public(repo_url)
    out.mkdir(parents=True, exist_ok=True)
    for name in WRITTEN:
        target = out / name
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    written = []
    for name in names[:through]:
        notebook = notebooks.read(RELEASE_DIR / f"{name}.ipynb")
        course.stamp(notebook, name, where)
        path = out / course.PUBLISHED_NOTEBOOKS / f"{name}.ipynb"
        notebooks.write(notebook, path)
        written.append(path)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(Path(dpr_course.__file__).parent, out / "dpr_course", ignore=ignore)
    shutil.copytree(COURSE_ROOT / "data" / "synthetic", out / "data" / "synthetic", ignore=ignore)
    badges = "\n".join(f"- Part {i} · {by_notebook(n).title}: "
                       f"{where.badge(n)}" for i, n in enumerate(names[:through], 1))
    readme = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    (out / "README.md").write_text(readme.replace("{badges}", badges)
                                   .replace("{repository}", where.repository), encoding="utf-8")
    (out / "pyproject.toml").write_text(student_pyproject(), encoding="utf-8")
    shutil.copy(TEMPLATES / "gitignore", out / ".gitignore")
    written += [out / name for name in ("README.md", "pyproject.toml", ".gitignore")]
    found = leaks(out, through)
    if found:
        raise PublishError(f"{out} would leak to students:\n  " + "\n  ".join(found))
    return written


def _stale(names: list[str]) -> list[str]:
    """What makes the committed release differ from what build would write (cheaply: the course
    setting, the provided cells, and every cell nbgrader copies unchanged)."""
    problems = course.stale() + provided.stale_cells()
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


def leaks(out: Path, through: int) -> list[str]:
    """Everything in ``out`` that must not reach students: instructor files, solution markers,
    hidden tests, the solutions of part ``through`` and later, check modules, tokens, outputs."""
    found = [f"{path.relative_to(out)}: an instructor file" for name in INSTRUCTOR_PATHS
             for path in out.rglob(name) if ".git" not in path.relative_to(out).parts]
    names = notebook_names()
    secret = set()
    for position, name in enumerate(names, 1):
        solution = notebooks.read(SOLUTIONS_DIR / f"{name}.ipynb")
        secret.update(hidden_test_lines(solution))
        if position >= through:  # earlier parts' answers are in the provided cells by design
            secret.update(answer_lines(solution))
    for path in sorted(p for p in out.rglob("*") if p.is_file()
                       and ".git" not in p.relative_to(out).parts):
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
        found += [f"{shown}: contains {marker!r}" for marker in SECRET_MARKERS + INSTRUCTOR_TEXT
                  if marker in text]
        found += [f"{shown}: holds a solution or hidden test: {line!r}" for line in sorted(secret)
                  if line in text]
    found += [f"{path.relative_to(out)}:{number}: a token-shaped string ({kind})"
              for path in sorted(p for p in out.rglob("*") if p.is_file()
                                 and ".git" not in p.relative_to(out).parts)
              for number, kind, _ in scan_file(path)]
    return found

"""The course setting (``course.toml``): where the student-facing repository lives.

Nothing else names that place. ``build`` stamps it into the notebooks (the first cell's
``COURSE_REPO`` and ``COURSE_BRANCH``, each notebook's Colab badge, and so every provided copy
of the first cell) and into the README's badge table; ``publish`` stamps the repository it
writes, with ``--repo-url`` instead where given. ``build`` also writes the tables that follow
from the code between markers in the documentation (``written_blocks``): the README's table of
parts and docs/settings.md's table of settings.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from autograder.course import notebooks
from autograder import config
from autograder.course.paths import COURSE_ROOT, SOLUTIONS_DIR
from autograder.course.parts import PARTS, by_notebook, notebook_names

SETTING = COURSE_ROOT / "course.toml"
# What course.toml says until an instructor names the course's own repository (and what it
# said before): nobody of the course controls it, so nothing is published or validated for it.
PLACEHOLDERS = ("https://github.com/YOUR-ACCOUNT/dense-retrieval",
                "https://github.com/dpr-course/dense-retrieval")
README = COURSE_ROOT / "README.md"
SETTINGS_PAGE = COURSE_ROOT / "docs" / "settings.md"
PUBLISHED_NOTEBOOKS = "notebooks"   # where the public repository keeps the notebooks
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGES_BEGIN, BADGES_END = "<!-- colab-badges: written by build -->", "<!-- /colab-badges -->"
SETTINGS_BEGIN, SETTINGS_END = "<!-- settings: written by build -->", "<!-- /settings -->"
PARTS_BEGIN, PARTS_END = "<!-- parts: written by build -->", "<!-- /parts -->"

NOTES_TAG = "course-notes"  # the markdown cell of every notebook that build writes from NOTES
NOTES = """\
**How this notebook is graded.** Cells that say `# YOUR CODE HERE` are yours; the cells after
them are tests: run them to check your work. The autograder also runs hidden tests on the same
functions, and it may run your code on a CPU even if you work on a GPU (or the other way
round): pass the `device` argument on, and create every tensor on it or on the device of the
tensors you are given, never on a hard-coded `"cuda"`. Leave the test cells as they are:
editing or deleting them does not change your grade.
{given}
**Saving and handing in.** A Colab runtime forgets everything when it stops: *File → Save a
copy in Drive* keeps your work between sessions. To hand in, run the notebook from top to
bottom once (*Runtime → Restart session and run all*), then *File → Download → Download
.ipynb*, and hand in that file under its own name, `{name}.ipynb`, as your course tells you."""
GIVEN = """
**What you are given.** The first cells hold what {earlier} built, taken from the reference
solution: if something went wrong for you earlier, it does not follow you here. They also fetch
the course library in Colab, load the data and build the KB. Run them first; they are locked and
regenerated from the solutions, so there is no need to change them.
"""

_ASSIGNMENTS = {  # a line of the first cell -> how build writes it
    "COURSE_REPO": re.compile(r'^COURSE_REPO = ".*"', re.M),
    "COURSE_BRANCH": re.compile(r'^COURSE_BRANCH = ".*"', re.M),
}
_BADGE = re.compile(r"\(https://colab\.research\.google\.com/github/[^)\s]*\)|"
                    r"\(https://colab\.research\.google\.com/#create=true[^)\s]*\)")


@dataclass(frozen=True)
class Public:
    repository: str   # a URL git can clone
    branch: str

    def notebook_url(self, name: str) -> str:
        """Where Colab opens notebook ``name`` of the public repository."""
        github = re.match(r"https://github\.com/([^/]+/[^/]+?)(\.git)?/?$", self.repository)
        if not github:  # Colab opens GitHub only; elsewhere the badge shows where it lives
            return f"{self.repository}#{PUBLISHED_NOTEBOOKS}/{name}.ipynb"
        return (f"https://colab.research.google.com/github/{github.group(1)}/blob/{self.branch}/"
                f"{PUBLISHED_NOTEBOOKS}/{name}.ipynb")

    def badge(self, name: str) -> str:
        return f"[![Open In Colab]({BADGE_IMAGE})]({self.notebook_url(name)})"


def public(repository: str | None = None) -> Public:
    """The course setting; ``repository`` (e.g. ``publish --repo-url``) overrides its URL."""
    with open(SETTING, "rb") as f:
        setting = tomllib.load(f)["public"]
    return Public(repository or setting["repository"], setting["branch"])


def unpublishable(where: Public) -> str:
    """Why students must not be sent to ``where`` (empty if they may)."""
    if where.repository.rstrip("/").removesuffix(".git") in PLACEHOLDERS or not where.repository:
        return (f"course.toml names the placeholder repository {where.repository!r}: set "
                "[public] repository in course.toml to your course's own public repository, "
                "then run `python -m autograder build` (or pass --repo-url URL)")
    return ""


def notes(name: str) -> str:
    """The course notes of notebook ``name``: grading, what is given, saving and handing in."""
    part = notebook_names().index(name) + 1
    earlier = "" if part == 1 else GIVEN.format(
        earlier="part 1" if part == 2 else f"parts 1–{part - 1}")
    return NOTES.format(given=earlier, name=name)


def stamp(notebook, name: str, where: Public) -> bool:
    """Write ``where`` into a notebook: the first cell's assignments (also inside provided
    cells) and the badge of notebook ``name``; and the course notes. Returns whether anything
    changed."""
    values = {"COURSE_REPO": where.repository, "COURSE_BRANCH": where.branch}
    changed = False
    for index, cell in enumerate(notebook.cells):
        source = cell.source
        if index == 0:  # the part's heading, from the part registry
            first, newline, rest = source.partition("\n")
            source = by_notebook(name).heading() + newline + rest
        if NOTES_TAG in cell.metadata.get("tags", []):
            source = notes(name)
        elif cell.cell_type == "code":
            for key, pattern in _ASSIGNMENTS.items():
                source = pattern.sub(f'{key} = "{values[key]}"', source)
        if cell.cell_type == "markdown" and BADGE_IMAGE in source:
            source = _BADGE.sub(f"({where.notebook_url(name)})", source)
        if source != cell.source:
            cell.source, changed = source, True
    return changed


def badge_table(where: Public) -> str:
    rows = ["| part | |", "| :-- | :-- |"]
    for number, name in enumerate(notebook_names(), 1):
        rows.append(f"| {number} · {by_notebook(name).title} "
                    f"| {where.badge(name)} |")
    return "\n".join([BADGES_BEGIN, *rows, BADGES_END])


def _named(path) -> str:
    return str(path.relative_to(COURSE_ROOT) if path.is_relative_to(COURSE_ROOT) else path)


def _replaced(text: str, begin: str, end: str, block: str, path) -> str:
    before, _, rest = text.partition(begin)
    _, found, after = rest.partition(end)
    if not found:
        raise ValueError(f"{_named(path)} lacks the markers {begin} ... {end}")
    return before + block + after


def parts_table() -> str:
    """The README's table of parts, from the part registry."""
    rows = ["| part | notebook | students write | points |", "| :-- | :-- | :-- | --: |"]
    for part in PARTS:
        points = f"{part.points:g}" + (f" + {part.hand_graded_points:g}"
                                       if part.hand_graded_points else "")
        rows.append(f"| {part.number} | `{part.notebook}` | {part.writes} | {points} |")
    return "\n".join([PARTS_BEGIN, *rows, PARTS_END])


def settings_table() -> str:
    return "\n".join([SETTINGS_BEGIN, config.markdown_table(), SETTINGS_END])


def written_blocks(where: Public) -> dict:
    """{page: [(begin, end, block)]}: what build writes between markers in the documentation."""
    return {README: [(PARTS_BEGIN, PARTS_END, parts_table()),
                     (BADGES_BEGIN, BADGES_END, badge_table(where))],
            SETTINGS_PAGE: [(SETTINGS_BEGIN, SETTINGS_END, settings_table())]}


def stamped_pages(where: Public) -> list:
    """[(page, its text now, its text with the blocks written in)]."""
    pages = []
    for path, blocks in written_blocks(where).items():
        text = new = path.read_text(encoding="utf-8")
        for begin, end, block in blocks:
            new = _replaced(new, begin, end, block, path)
        pages.append((path, text, new))
    return pages


def stale() -> list[str]:
    """The files where the course setting is not yet written: run build."""
    where, found = public(), []
    for name in notebook_names():
        if stamp(notebooks.read(SOLUTIONS_DIR / f"{name}.ipynb"), name, where):
            found.append(f"{SOLUTIONS_DIR.name}/{name}.ipynb")
    found += [_named(path) for path, text, new in stamped_pages(where) if new != text]
    return found


def apply() -> list[str]:
    """Write the course setting into the solution notebooks, and the tables into the README and
    the settings page."""
    where, written = public(), []
    for name in notebook_names():
        path = SOLUTIONS_DIR / f"{name}.ipynb"
        notebook = notebooks.read(path)
        if stamp(notebook, name, where):
            notebooks.write(notebook, path)
            written.append(f"{path.parent.name}/{path.name}")
    for path, text, new in stamped_pages(where):
        if new != text:
            path.write_text(new, encoding="utf-8")
            written.append(_named(path))
    return written

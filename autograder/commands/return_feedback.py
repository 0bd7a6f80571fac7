"""``python -m autograder return-feedback [--feedback DIR] [--out FILE.zip]``: feedback for Canvas.

After ``nbgrader zip_collect`` took a Canvas download into ``submitted/`` (its files stay under
``downloaded/dual_encoder/extracted/``) and grading wrote the feedback pages
(``nbgrader generate_feedback``: ``feedback/``; ``python -m autograder grade``:
``grading/feedback/``), this writes one zip holding, for each notebook in the download, its
feedback page named with the prefix of the file handed in
(``doejane_12345_678901_01_encoder.html``): Canvas's *Re-Upload Submissions* attaches each file
to its student's submission. ``--notebook`` keeps a week's part (the downloads of earlier weeks
stay beside it). A notebook handed in without a feedback page is listed, never skipped.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from autograder.course.paths import ASSIGNMENT, COURSE_ROOT
from autograder.nbgrading import canvas

EXTRACTED = COURSE_ROOT / "downloaded" / ASSIGNMENT / "extracted"  # where zip_collect unpacks
FEEDBACK = COURSE_ROOT / "feedback"
DEFAULT_OUT = COURSE_ROOT / "grading" / "feedback-for-canvas.zip"


def prefixes(extracted: Path = EXTRACTED) -> dict[str, dict[str, str]]:
    """Student id -> {notebook handed in: the Canvas name prefix of its download}."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(extracted.rglob("*.ipynb")):
        parsed = canvas.parse(str(path))
        if parsed:
            found.setdefault(parsed["student_id"], {})[parsed["file_id"]] = parsed["prefix"]
    return found


def return_feedback(feedback: Path = FEEDBACK, out: Path = DEFAULT_OUT,
                    extracted: Path = EXTRACTED, notebook: str | None = None
                    ) -> tuple[list[str], list[str]]:
    """Write the zip of every notebook's pages, or of ``notebook``'s (a week's part); (the
    names written in it, the problems)."""
    named = prefixes(extracted)
    if not named:
        raise FileNotFoundError(f"no Canvas download under {extracted}: run "
                                f"`nbgrader zip_collect {ASSIGNMENT}` first")
    problems, written = [], []
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for student, handed_in in sorted(named.items()):
            for name, prefix in sorted(handed_in.items()):
                if notebook not in (None, name):
                    continue
                page = feedback / student / ASSIGNMENT / f"{name}.html"
                if not page.is_file():
                    problems.append(f"{student}: handed in {name}, but {page} is missing")
                    continue
                archive.write(page, prefix + page.name)
                written.append(prefix + page.name)
    return written, problems

"""Results of ``python -m autograder grade`` put into the course's own nbgrader gradebook.

``grade`` autogrades each student in a scratch course (nbgrader's SQLite gradebook is not safe
for concurrent writers). With ``--gradebook`` it then records, one writer at a time, what
``nbgrader autograde`` would have left in the course directory: each student and submission
in ``gradebook.db`` (through nbgrader's ``Gradebook`` API) with the test cells' scores, and the
autograded notebooks under ``autograded/<student>/dual_encoder/``. So formgrader shows the
submissions, the written answers wait there as needing manual grading, and ``nbgrader
generate_feedback`` and ``nbgrader export`` work after it as after ``nbgrader autograde``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from autograder.course.paths import ASSIGNMENT, COURSE_ROOT

GRADEBOOK = COURSE_ROOT / "gradebook.db"     # where nbgrader_config.py's db_url points
AUTOGRADED = COURSE_ROOT / "autograded"      # nbgrader's autograded_directory


def read_submission(database: Path, student_id: str) -> dict:
    """What nbgrader's autograde recorded of one student's submission in ``database``: every
    grade (``score`` None when neither an automatic nor a manual score is set) and comment."""
    from nbgrader.api import Gradebook

    grades, comments = [], []
    with Gradebook(f"sqlite:///{database.absolute()}") as book:
        for notebook in book.find_submission(ASSIGNMENT, student_id).notebooks:
            for grade in notebook.grades:
                unscored = grade.auto_score is None and grade.manual_score is None
                grades.append(dict(notebook=notebook.name, grade_id=grade.name,
                                   cell_type=grade.cell_type, auto_score=grade.auto_score,
                                   needs_manual_grade=bool(grade.needs_manual_grade),
                                   score=None if unscored else float(grade.score),
                                   max_score=float(grade.max_score)))
            comments += [dict(notebook=notebook.name, name=comment.name,
                              auto_comment=comment.auto_comment) for comment in notebook.comments]
    return {"grades": grades, "comments": comments}


def record(results, gradebook: Path = GRADEBOOK, autograded: Path = AUTOGRADED) -> int:
    """Record each graded student's scores and autograded notebooks; how many were recorded.
    A manual score given before (in formgrader) is kept and flagged for review, as nbgrader's
    own autograde does; a notebook not handed in this time keeps what it was given before (a
    week's folder holds that week's part)."""
    from nbgrader.api import Gradebook, MissingEntry

    recorded = 0
    with Gradebook(f"sqlite:///{gradebook.absolute()}") as book:
        try:
            book.find_assignment(ASSIGNMENT)
        except MissingEntry:
            raise RuntimeError(f"{gradebook} does not know the assignment {ASSIGNMENT}: run "
                               "`python -m autograder build` in the course directory first") from None
        for result in results:
            if not result.recorded:
                continue
            student = result.student_id
            book.update_or_create_student(student)
            book.update_or_create_submission(ASSIGNMENT, student)
            for entry in result.recorded["grades"]:
                grade = book.find_grade(entry["grade_id"], entry["notebook"], ASSIGNMENT, student)
                if entry["notebook"] not in result.autograded and (
                        grade.auto_score is not None or grade.manual_score is not None):
                    continue  # not handed in this time: what an earlier grading gave stays
                grade.auto_score = entry["auto_score"]  # None: by hand, or the grader failed
                grade.needs_manual_grade = entry["needs_manual_grade"] or \
                    grade.manual_score is not None
            for entry in result.recorded["comments"]:
                comment = book.find_comment(entry["name"], entry["notebook"], ASSIGNMENT, student)
                comment.auto_comment = entry["auto_comment"]
            book.db.commit()
            _write_autograded(result, autograded / result.student_id / ASSIGNMENT)
            recorded += 1
    return recorded


def _write_autograded(result, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in result.autograded.items():
        path = folder / f"{name}.ipynb"
        if path.exists():  # nbgrader leaves its autograded notebooks read-only
            os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
        path.write_bytes(data)
        os.chmod(path, 0o444)

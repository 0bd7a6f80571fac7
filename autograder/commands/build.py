"""``python -m autograder build``: the release notebooks and the sample submissions.

First ``solutions/`` is brought up to date: its notebooks' file names follow the part registry
(``course/parts.py``: a part inserted mid-course renumbers the later ones); the provided
cells are regenerated from the earlier parts' reference solutions (``course/provided.py``), the
hidden test cells from the checks that declare them (``course/hidden_tests.py``); the course
setting (``course.toml``: the public repository, in every notebook's first cell and Colab
badge), each part's heading and the course notes are written in, and the tables of parts,
badges and settings (``course/home.py``). The release is then made by nbgrader's
``generate_assignment`` from ``solutions/`` in a scratch course directory
(``nbgrading/release.py``) and written without outputs; nbgrader records the assignment in the
course's own gradebook (``gradebook.db``) as it goes, so that plain ``nbgrader autograde
dual_encoder`` works in the course root afterwards. Running it twice changes nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder.course import home
from autograder.course import hidden_tests
from autograder.course import provided
from autograder.course import samples
from autograder.course import parts
from autograder.nbgrading.gradebook import GRADEBOOK
from autograder.nbgrading.release import generate_release
from autograder.course.paths import ASSIGNMENT, COURSE_ROOT, SAMPLE_SUBMISSIONS


def build() -> list[Path]:
    for change in parts.follow_registry():  # a part inserted or moved: later files renumbered
        print(change)
    for cell in provided.regenerate():
        print("regenerated provided cell", cell)
    for change in hidden_tests.regenerate():
        print("hidden test cell", change)
    for path in home.apply():  # last: the README's table of parts counts the test cells
        print("wrote the course setting and notes into", path)
    written = generate_release(gradebook=GRADEBOOK)  # so `nbgrader autograde` works here
    print(f"recorded the assignment {ASSIGNMENT} in {GRADEBOOK.name}")
    if SAMPLE_SUBMISSIONS.exists():
        shutil.rmtree(SAMPLE_SUBMISSIONS)
    written += samples.write_samples()
    for path in written:
        print("wrote", path.relative_to(COURSE_ROOT))
    return written

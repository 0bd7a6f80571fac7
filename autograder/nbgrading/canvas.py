"""Canvas, the learning platform whose downloads this course collects and returns.

Canvas's *Download Submissions* gives one zip; each file in it is named
``<name>_<user id>_<attachment id>_<file handed in>``, with ``LATE_`` before the user id when it
came after the deadline and ``-1``, ``-2``, ... before the extension of a resubmitted file:
``doejane_LATE_12345_678901_01_encoder-1.ipynb``. The user id is the student id here (names
are not unique). ``nbgrader zip_collect dual_encoder`` reads the zip from
``downloaded/dual_encoder/archive/`` and copies each notebook to
``submitted/<user id>/dual_encoder/`` with this module's ``FILE_NAME`` (``nbgrader_config.py``).

Feedback goes back the same way: ``python -m autograder return-feedback`` writes a zip of the
feedback pages, each named with its download's ``<name>_<user id>_<attachment id>_`` prefix, as
Canvas's *Re-Upload Submissions* expects, which attaches each file to its student's submission.
"""

from __future__ import annotations

import re

# nbgrader matches it against each extracted file's whole path.
FILE_NAME = (r".*/(?P<prefix>[^/_]+_(?:LATE_)?(?P<student_id>\d+)_\d+_)"
             r"(?P<file_id>[^/]+?)(?:-\d+)?\.ipynb$")
_FILE_NAME = re.compile(FILE_NAME)


def parse(path: str) -> dict | None:
    """``{"prefix", "student_id", "file_id"}`` of a downloaded file's path, or None."""
    match = _FILE_NAME.match(path)
    return match.groupdict() if match else None

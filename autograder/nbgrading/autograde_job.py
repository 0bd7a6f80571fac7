"""``python -m autograder.nbgrading.autograde_job WORKSPACE STUDENT``: nbgrader's autograde, then its
feedback, for one student, in one process (one interpreter start and one nbgrader import
instead of two per student). Prints ``{"success": bool, "error": str}`` as JSON.
"""

from __future__ import annotations

import json
import os
import sys

from autograder.course.paths import ASSIGNMENT
from autograder.phases import TRACE, phase
from autograder.processes import die_with_parent


def autograde_with_feedback(workspace: str, student_id: str) -> dict:
    with phase("nbgrader start"):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config.loader import PyFileConfigLoader

        _time_each_notebook()
        os.chdir(workspace)
        config = PyFileConfigLoader("nbgrader_config.py", path=workspace).load_config()
        api = NbGraderAPI(CourseDirectory(config=config, root=workspace), config=config)
    graded = api.autograde(ASSIGNMENT, student_id, force=True, create=True)
    if graded["success"]:
        api.generate_feedback(ASSIGNMENT, student_id, force=True)
    return {"success": graded["success"], "error": graded.get("error") or graded.get("log", "")}


def _time_each_notebook() -> None:
    """With a trace file set, each notebook's autograde and feedback are phases of their own."""
    if not os.environ.get(TRACE):
        return
    from nbgrader.converters import Autograde, GenerateFeedback

    for converter, name in ((Autograde, "autograde"), (GenerateFeedback, "feedback")):
        def timed(self, filename, _convert=converter.convert_single_notebook, _name=name):
            with phase(_name, notebook=os.path.splitext(os.path.basename(filename))[0]):
                return _convert(self, filename)
        converter.convert_single_notebook = timed


if __name__ == "__main__":
    die_with_parent()
    print(json.dumps(autograde_with_feedback(*sys.argv[1:3])))

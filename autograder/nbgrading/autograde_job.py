"""``python -m autograder.nbgrading.autograde_job``: a worker that autogrades students one after
another, each in its own scratch course.

Per line on stdin, ``{"workspace": ..., "student": ..., "settings": ...}``, it runs nbgrader's
autograde and then its feedback for that student in that course directory, under the run
settings ``settings`` (``autograder/config.py``: nbgrader's configuration and the judge's client
read them; nbgrader's own kernels, with ``DPR_GRADER=kernel``, get the job's share of the
cores), and answers one line on stdout,
``{"success": bool, "error": str}``. So one interpreter start and one nbgrader import serve a
whole job of a grading run, not every student (``autograder.run.GradingRun`` keeps one worker
per job, and replaces it after ``STUDENTS_PER_WORKER`` students, or when it dies).
"""

from __future__ import annotations

import json
import os
import sys

from autograder.course.paths import ASSIGNMENT
from autograder import config
from autograder.phases import phase
from autograder.processes import watch_parent

STUDENTS_PER_WORKER = 50  # then a fresh process: whatever nbgrader keeps per run cannot pile up


def autograde_with_feedback(workspace: str, student_id: str) -> dict:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    os.chdir(workspace)
    config = PyFileConfigLoader("nbgrader_config.py", path=workspace).load_config()
    api = NbGraderAPI(CourseDirectory(config=config, root=workspace), config=config)
    graded = api.autograde(ASSIGNMENT, student_id, force=True, create=True)
    if graded["success"]:
        api.generate_feedback(ASSIGNMENT, student_id, force=True)
    return {"success": graded["success"], "error": graded.get("error") or graded.get("log", "")}


def _time_each_notebook() -> None:
    """With a trace file set, each notebook's autograde and feedback are phases of their own."""
    if not config.current().trace:
        return
    from nbgrader.converters import Autograde, GenerateFeedback

    for converter, name in ((Autograde, "autograde"), (GenerateFeedback, "feedback")):
        def timed(self, filename, _convert=converter.convert_single_notebook, _name=name):
            with phase(_name, notebook=os.path.splitext(os.path.basename(filename))[0]):
                return _convert(self, filename)
        converter.convert_single_notebook = timed


def serve() -> None:
    with phase("nbgrader start"):
        import nbgrader.apps  # noqa: F401 - once, for every student this worker grades

        _time_each_notebook()
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # whatever nbgrader prints never mixes with the answers
    started_with = os.environ.get("OMP_NUM_THREADS")
    for line in sys.stdin:
        request = json.loads(line)
        os.environ[config.RUN_ENV] = request["settings"]
        jobs = config.current().jobs
        threads = str(max(1, (os.cpu_count() or 1) // jobs)) if jobs > 1 else started_with
        if threads:
            os.environ["OMP_NUM_THREADS"] = threads
        else:
            os.environ.pop("OMP_NUM_THREADS", None)
        try:
            answer = autograde_with_feedback(request["workspace"], request["student"])
        except Exception as error:  # noqa: BLE001 - this student's failure; the next one goes on
            answer = {"success": False, "error": f"{type(error).__name__}: {error}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    watch_parent()  # not die_with_parent(): the worker outlives the thread that started it
    serve()

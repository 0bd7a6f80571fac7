"""A grading run: the class's submissions graded by nbgrader and the judge, with every process
and scratch folder of the run supervised and removed at its end.

- ``supervisor.py``: ``GradingRun``, the run's processes (the judge server, nbgrader's workers)
  and its scratch folder;
- ``grading.py``: ``grade``, the class (intake, each student a job on this machine or a Dask
  cluster, the CSV, the feedback, the report).

``python -m autograder grade`` is ``grade``; ``validate`` and ``bench`` use it too.
"""

from autograder.run.grading import CSV_COLUMNS, DEFAULT_OUT, StudentResult, grade
from autograder.run.supervisor import RUN_PREFIX, GradingRun

__all__ = ["CSV_COLUMNS", "DEFAULT_OUT", "RUN_PREFIX", "GradingRun", "StudentResult", "grade"]

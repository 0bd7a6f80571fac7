"""A fault of the grader, never a student's zero.

Whatever goes wrong before a student's code runs (the judge's own cells, the sandbox, the
child's set-up before the answer cells), and a hidden check that fails on the reference
solution too, is the grader's fault. Its test cell gets no score (nbgrader's gradebook marks it
as needing manual grading, ``SaveJudgedGrades``), its feedback says the grader failed, and
``python -m autograder grade`` counts it and exits non-zero.
"""

ENAME = "GradingError"  # the test cell's error output that marks a fault of the grader
TOLD = "the grader failed on this test, not your code; it is not scored: "  # what feedback says


class GradingError(RuntimeError):
    """The grader failed, not the student's code: the test is not scored."""

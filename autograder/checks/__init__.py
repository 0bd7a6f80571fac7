"""Hidden checks, one module per notebook.

Each check takes the student's objects (a class or a function) as arguments and raises
``AssertionError`` with a message that says what differs. They reach the reference solution
through ``autograder.judge.reference``, never through the student's namespace, so the same checks can
run inside the grading kernel or in a separate, clean process.
"""

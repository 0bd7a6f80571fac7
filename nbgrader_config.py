# The repository root is an nbgrader course directory: `nbgrader generate_assignment`,
# `nbgrader autograde` and `nbgrader generate_feedback` work here as usual.
# `python -m autograder grade` uses these settings too, in a scratch copy of the course.
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    GetGrades,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
)

from autograder.nbgrading.preprocessors import (
    DropDuplicateIds,
    JudgeTests,
    RestoreCellTypes,
    SaveJudgedGrades,
    ShortenHiddenTracebacks,
)
from autograder.nbgrading import canvas
from autograder import config

c = get_config()  # noqa: F821 - provided by nbgrader

c.CourseDirectory.course_id = "dense-retrieval"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# `nbgrader zip_collect dual_encoder` takes a Canvas download (downloaded/dual_encoder/archive/
# <the zip>) into submitted/<Canvas user id>/dual_encoder/ (autograder/nbgrading/canvas.py).
c.FileNameCollectorPlugin.named_regexp = canvas.FILE_NAME

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Who runs the tests. "judge" (the default, for both profiles): no kernel runs the student's
# notebook; the judge runs the instructor's notebook and calls the student's functions in a
# sandbox (no network, no instructor files, no secrets, limits on each call's whole process
# tree; on a GPU machine the sandboxed call gets the GPU), so nothing the student's code does
# can change a score (docs/judge.md: the judge, the sandbox and the threat model). It needs
# Linux namespaces (root or unprivileged user namespaces). "kernel": nbgrader's own execution
# of the whole notebook in one kernel, with the grader's rights: only for comparison or for
# trusted notebooks.
run = config.current()  # a grading run's settings, else the settings table's (autograder/config.py)
if run.grader == "judge":
    c.Autograde.autograde_preprocessors = [
        JudgeTests, ClearMetadataPreprocessor, LimitOutput, SaveJudgedGrades, AssignLatePenalties,
        CheckCellMetadata]

# Per-cell time limit while grading, in seconds (nbgrader's default is 30): DPR_CELL_TIMEOUT,
# 300 s in the tiny profile, 3600 s in the full one (autograder/config.py). Tiny-profile cells
# take a few seconds; full-profile training cells on a GPU take minutes. A cell that runs out
# of time is interrupted, shows a CellTimeoutError and scores 0; grading goes on.
c.Execute.timeout = int(run.cell_seconds)
# After a cell's reply, nbclient waits for its last output; on a busy machine an interrupted
# cell can take longer than the default 4 s to print its traceback, and nbgrader's default
# (raise) would then fail the whole notebook instead of that one cell.
c.Execute.iopub_timeout = 15
c.Execute.raise_on_iopub_timeout = False

# A test cell that writes anything to stderr scores 0 in nbgrader. The grader runs kernels with
# warnings and progress bars off (autograder/judge/environment.py); this also drops any stderr output
# that is a Python warning or a tqdm progress bar, should a library still print one.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\w*Warning: |\d+%\|"

# Students delete, duplicate, edit and retype test cells. Edited test and locked cells are
# restored from the gradebook (OverwriteCells), retyped ones first get their type back;
# deleted test cells are put back and run; of duplicated cells only the last is graded, the
# others become plain cells (autograder/nbgrading/preprocessors.py).
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    ClearOutput, DropDuplicateIds, OverwriteKernelspec, RestoreCellTypes, OverwriteCells,
    CheckCellMetadata]

# Feedback shows the student's notebook with grades and test messages, but not the code of the
# hidden tests (nbgrader would otherwise print it, in the cells and in their tracebacks).
c.GenerateFeedback.preprocessors = [
    GetGrades, ShortenHiddenTracebacks, ClearHiddenTests, CSSHTMLHeaderPreprocessor]

# The repository root is an nbgrader course directory: `nbgrader generate_assignment`,
# `nbgrader autograde` and `nbgrader generate_feedback` work here as usual.
# `python -m autograder grade` reuses these settings in a scratch copy of the course.
c = get_config()  # noqa: F821 - provided by nbgrader

c.CourseDirectory.course_id = "dense-retrieval"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Per-cell time limit while grading (nbgrader's default is 30 s). The tiny profile needs a few
# seconds per cell; full-profile grading on a GPU needs more for the training cells.
c.Execute.timeout = 300
# A test cell that writes anything to stderr scores 0 in nbgrader. The grader also runs kernels
# with warnings and progress bars off (see autograder/grade.py); this drops any stderr output
# that is a Python warning or a tqdm progress bar, should a library still print one.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\w*Warning: |\d+%\|"

# Feedback shows the student's notebook with grades and test outputs, but not the code of the
# hidden tests (nbgrader would otherwise print it in the HTML).
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]

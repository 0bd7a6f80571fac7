"""nbgrader integration: scratch course directories and the grading environment (workspace), one
student's autograde and feedback in one process (autograde_job), and the preprocessors that
nbgrader_config.py chains (preprocessors)."""

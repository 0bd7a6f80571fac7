"""Where things are in the course directory (the repository root is an nbgrader course)."""

from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "dual_encoder"
SOLUTIONS_DIR = COURSE_ROOT / "solutions" / ASSIGNMENT   # nbgrader's source directory
RELEASE_DIR = COURSE_ROOT / "notebooks" / ASSIGNMENT     # nbgrader's release directory
SAMPLES_DIR = COURSE_ROOT / "samples"
SAMPLE_SUBMISSIONS = SAMPLES_DIR / "submitted"           # <student_id>/dual_encoder/<nb>.ipynb
NBGRADER_CONFIG = COURSE_ROOT / "nbgrader_config.py"


"""``python -m autograder bench``: how much faster ``--jobs 2`` grades than ``--jobs 1``.

Six students, each handing in parts 1 to 3 (the reference answers, or a sample's mistakes),
are graded both ways; the command prints both times, the speedup and whether every score
agrees. The README reports its figures.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from autograder.commands.grade import grade
from autograder.course.paths import ASSIGNMENT, SAMPLE_SUBMISSIONS

# Per student, whose notebook to hand in for parts 1, 2 and 3.
CLASS = [
    ("reference", "reference", "reference"),
    ("encoder_mean_pooling", "eval_ascending_topk", "nce_arange_labels"),
    ("encoder_last_token", "eval_recall_fraction", "nce_cosine_scores"),
    ("encoder_detached", "eval_recall_off_by_one", "nce_sum_reduction"),
    ("encoder_mask_ignored", "eval_topk_index_by_value", "nce_passage_encoder_for_questions"),
    ("encoder_tuple_output", "eval_full_sort_and_loops", "nce_log_softmax_gather"),
]
PARTS = ("01_encoder", "02_evaluation", "03_nce_loss")


def make_class(folder: Path) -> Path:
    for number, sources in enumerate(CLASS):
        target = folder / f"student_{number}" / ASSIGNMENT
        target.mkdir(parents=True)
        for part, source in zip(PARTS, sources):
            shutil.copy(SAMPLE_SUBMISSIONS / source / ASSIGNMENT / f"{part}.ipynb", target)
    return folder


def warm_up(submissions: Path, scratch: Path, profile: str) -> None:
    """Grade one student untimed: the gradebook template and the judge server's prepared
    notebooks, made once per grading run whatever --jobs is, then serve both timed runs."""
    first = sorted(submissions.iterdir())[0]
    shutil.copytree(first, scratch / "submitted" / first.name)
    grade(scratch / "submitted", scratch / "grades.csv", profile=profile)


def bench(profile: str = "tiny") -> dict:
    with tempfile.TemporaryDirectory(prefix="dpr-bench-") as scratch:
        submissions = make_class(Path(scratch) / "submitted")
        warm_up(submissions, Path(scratch) / "warm-up", profile)
        figures, rows = {}, {}
        for jobs in (1, 2):
            start = time.perf_counter()
            results = grade(submissions, Path(scratch) / f"jobs{jobs}" / "grades.csv",
                            profile=profile, jobs=jobs)
            figures[jobs] = time.perf_counter() - start
            rows[jobs] = [row for result in results for row in result.rows]
    summary = {"students": len(CLASS), "jobs_1_s": round(figures[1], 1),
               "jobs_2_s": round(figures[2], 1), "speedup": round(figures[1] / figures[2], 2),
               "same_scores": rows[1] == rows[2]}
    print(f"\n{len(CLASS)} students, parts 1-3: --jobs 1 {figures[1]:.0f} s, --jobs 2 "
          f"{figures[2]:.0f} s, speedup {summary['speedup']:.2f}x, scores "
          + ("identical" if summary["same_scores"] else "DIFFERENT"))
    return summary

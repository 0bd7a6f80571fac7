"""Hidden checks for notebook 04: ``configure_optimization`` (``optimization``) and
``train_nce`` (``train_loop``); ``harness`` holds what they share (small data, fresh models,
the spies handed to the student's code, isolation). Importing this package declares them all.
"""

from autograder.checks.training.optimization import optimizer_groups, warmup_schedule
from autograder.checks.training.train_loop import (history_per_epoch, keeps_best_state,
                                                   trajectory_matches_reference)

__all__ = ["history_per_epoch", "keeps_best_state", "optimizer_groups",
           "trajectory_matches_reference", "warmup_schedule"]

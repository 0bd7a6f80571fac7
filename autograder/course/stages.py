"""The course's stages, listed once: everything else reads this registry.

A stage has one name, its ``key``, and everything about it follows from that name and its place
in ``STAGES``:

- its notebook is ``NN_<key>`` (``solutions/dual_encoder/03_nce_loss.ipynb``), headed
  ``# Dense passage retrieval · Part N of M · <title>`` (``build`` writes the heading);
- its hidden checks are the module ``autograder.checks.<key>`` (``build`` writes the hidden
  test cells from what it declares, ``autograder/checks/__init__.py``);
- its sample submissions are named ``<key>_...`` in ``samples/manifest.toml``;
- its points are what its notebook's autograded test cells are worth together.

Adding a stage is an entry here, its solution notebook and its checks module (CONTRIBUTING.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

COURSE_TITLE = "Dense passage retrieval"


@dataclass(frozen=True)
class Stage:
    number: int
    key: str
    title: str                 # the part's own title: "The NCE loss"
    names: frozenset = frozenset()  # the original assignment's global names it introduces

    @property
    def notebook(self) -> str:
        return f"{self.number:02d}_{self.key}"

    @property
    def checks(self) -> str:
        """The module of its hidden checks."""
        return f"autograder.checks.{self.key}"

    @property
    def sample_prefix(self) -> str:
        return f"{self.key}_"

    def heading(self) -> str:
        return f"# {COURSE_TITLE} · Part {self.number} of {len(STAGES)} · {self.title}"

    @property
    def points(self) -> float:
        """What the notebook's autograded test cells are worth together."""
        return _points(self.notebook)


def _stages(*entries: tuple) -> tuple[Stage, ...]:
    return tuple(Stage(number, key, title, frozenset(names))
                 for number, (key, title, names) in enumerate(entries, 1))


STAGES = _stages(
    ("encoder", "The encoder",
     {"set_seed", "clear_from_gpu", "data_train", "data_val", "KB", "distilbert_tokenizer",
      "MAX_INPUT_LENGTH", "DualEncoder", "DistilBertEncoder", "make_distilbert_dual_encoder"}),
    ("evaluation", "Evaluation",
     {"MyDataset", "tensorize_contrastive", "tensorize_KB_batch", "embed_KB", "embed_questions",
      "get_topk_candidates", "topk_retrieval_accuracy"}),
    ("nce_loss", "The NCE loss", {"get_in_batch_contrastive_loss"}),
    ("training", "Training", {"configure_optimization", "train_nce"}),
    ("hard_negatives", "Hard negatives", {"mine_hard_negatives"}),
)


def notebook_names() -> list[str]:
    """The assignment's notebooks, in course order, without the .ipynb suffix."""
    return [stage.notebook for stage in STAGES]


def by_notebook(name: str) -> Stage:
    for stage in STAGES:
        if stage.notebook == name:
            return stage
    raise KeyError(f"{name!r} is not a notebook of the course; the stages are "
                   f"{notebook_names()} (autograder/course/stages.py)")


def of_sample(student_id: str) -> Stage | None:
    """The stage a sample's name says it belongs to, if any (``nce_loss_sum_reduction``)."""
    return next((s for s in STAGES if student_id.startswith(s.sample_prefix)), None)


@functools.lru_cache(maxsize=None)
def _points(notebook_name: str) -> float:
    from autograder.course import notebooks
    from autograder.course.paths import SOLUTIONS_DIR

    cells = notebooks.read(SOLUTIONS_DIR / f"{notebook_name}.ipynb").cells
    return sum(float(notebooks.grade_info(c).get("points", 0)) for c in cells
               if notebooks.is_test(c))

"""The course's stages, listed once: everything else reads this registry.

A stage has one name, its ``key``, and everything about it follows from that name and its place
in ``STAGES``:

- its notebook is ``NN_<key>`` (``solutions/dual_encoder/03_nce_loss.ipynb``), headed
  ``# Dense passage retrieval · Part N of M · <title>`` (``build`` writes the heading);
- its hidden checks are the module ``autograder.checks.<key>`` (``build`` writes the hidden
  test cells from what it declares, ``autograder/checks/__init__.py``);
- its sample submissions are named ``<key>_...`` in ``samples/manifest.toml``;
- its points are what its notebook's autograded test cells are worth together (and its
  written answers, graded by hand); ``build`` writes the README's table of parts from this.

Adding a stage is an entry here, its solution notebook and its checks module (CONTRIBUTING.md).
"""

from __future__ import annotations

from dataclasses import dataclass

COURSE_TITLE = "Dense passage retrieval"


@dataclass(frozen=True)
class Stage:
    number: int
    key: str
    title: str                 # the part's own title: "The NCE loss"
    writes: str                # what students write, for the README's table of parts
    names: frozenset = frozenset()  # the original assignment's global names it introduces
    trains: frozenset = frozenset()  # its functions whose honest calls train a model (the judge
                                     # gives them DPR_CELL_TIMEOUT, others DPR_QUICK_CALL_TIMEOUT)

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
        return _points(self.notebook)[0]

    @property
    def hand_graded_points(self) -> float:
        """What its written answers, graded by hand, are worth together."""
        return _points(self.notebook)[1]


def _stages(*entries: tuple) -> tuple[Stage, ...]:
    """(key, title, writes, names[, trains]) per stage, in order."""
    return tuple(Stage(number, key, title, writes, frozenset(names), frozenset(trains[0] if trains else ()))
                 for number, (key, title, writes, names, *trains) in enumerate(entries, 1))


STAGES = _stages(
    ("encoder", "The encoder", "`DistilBertEncoder.forward` (the [CLS] vector)",
     {"set_seed", "clear_from_gpu", "data_train", "data_val", "KB", "distilbert_tokenizer",
      "MAX_INPUT_LENGTH", "DualEncoder", "DistilBertEncoder", "make_distilbert_dual_encoder"}),
    ("evaluation", "Evaluation",
     "`get_topk_candidates` (exact MIPS), `topk_retrieval_accuracy` (Recall@k)",
     {"MyDataset", "tensorize_contrastive", "tensorize_KB_batch", "embed_KB", "embed_questions",
      "get_topk_candidates", "topk_retrieval_accuracy"}),
    ("nce_loss", "The NCE loss",
     "`get_in_batch_contrastive_loss` (with and without hard negatives)",
     {"get_in_batch_contrastive_loss"}),
    ("training", "Training", "`configure_optimization` (AdamW, warm-up), `train_nce`",
     {"configure_optimization", "train_nce"}, {"train_nce"}),
    ("hard_negatives", "Hard negatives",
     "`mine_hard_negatives`; the results they reached and how (graded by hand)",
     {"mine_hard_negatives"}),
    ("going_further", "Going further",
     "`has_answer`, `answer_recall` (DPR's answer match), `mine_filtered_hard_negatives`",
     {"has_answer", "answer_recall", "mine_filtered_hard_negatives"}),
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


def _points(notebook_name: str) -> tuple[float, float]:
    """(autograded, graded by hand) points of a solution notebook."""
    from autograder.course import notebooks
    from autograder.course.paths import SOLUTIONS_DIR

    cells = notebooks.read(SOLUTIONS_DIR / f"{notebook_name}.ipynb").cells
    def total(kind):
        return sum(float(notebooks.grade_info(c).get("points", 0)) for c in cells if kind(c))
    return total(notebooks.is_test), total(notebooks.is_manual)

TRAINING_FUNCTIONS = frozenset().union(*(stage.trains for stage in STAGES))

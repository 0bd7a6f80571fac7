"""The course's stages, listed once: everything else reads this registry.

A stage has one name, its ``key``, and everything about it follows from that name and its place
in ``STAGES``:

- its notebook is ``NN_<key>`` (``solutions/dual_encoder/03_nce_loss.ipynb``), headed
  ``# Dense passage retrieval · Part N of M · <title>`` (``build`` writes the heading);
- its hidden checks are the module ``autograder.checks.<key>`` (``build`` writes the hidden
  test cells from what it declares, ``autograder/checks/__init__.py``);
- its sample submissions are named ``<key>_...`` in ``samples/manifest.toml``, which names the
  notebooks they hand in by key, and their answer files are ``samples/answers/<key>/...``;
- its points are what its notebook's autograded test cells are worth together (and its
  written answers, graded by hand); ``build`` writes the README's table of parts from this.

Adding a stage is an entry here, its solution notebook, its checks module and its samples
(CONTRIBUTING.md). A stage is named by its key everywhere but in file names: the checks ask for
``reference("<key>")``, the manifest's ``notebooks`` tables and ``samples/answers/<key>/`` are
keyed by it, so a stage inserted mid-course renumbers only the notebooks' files, and
``python -m autograder.course.stages`` renames the solution notebooks to follow the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

COURSE_TITLE = "Dense passage retrieval"


@dataclass(frozen=True)
class Stage:
    """One part of the course; its number is its place in ``STAGES``."""

    key: str
    title: str                 # the part's own title: "The NCE loss"
    writes: str                # what students write, for the README's table of parts
    names: frozenset = frozenset()  # the original assignment's global names it introduces
    trains: frozenset = frozenset()  # its functions whose honest calls train a model (the judge
                                     # gives them DPR_CELL_TIMEOUT, others DPR_QUICK_CALL_TIMEOUT)

    def __post_init__(self):  # names={"a", "b"} in the registry: kept as frozensets (hashable)
        object.__setattr__(self, "names", frozenset(self.names))
        object.__setattr__(self, "trains", frozenset(self.trains))

    @property
    def number(self) -> int:
        """Its place in the course, from 1."""
        return next(i for i, stage in enumerate(STAGES, 1) if stage.key == self.key)

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


STAGES: tuple[Stage, ...] = (
    Stage(key="encoder", title="The encoder",
          writes="`DistilBertEncoder.forward` (the [CLS] vector)",
          names={"set_seed", "clear_from_gpu", "data_train", "data_val", "KB",
                 "distilbert_tokenizer", "MAX_INPUT_LENGTH", "DualEncoder", "DistilBertEncoder",
                 "make_distilbert_dual_encoder"}),
    Stage(key="evaluation", title="Evaluation",
          writes="`get_topk_candidates` (exact MIPS), `topk_retrieval_accuracy` (Recall@k)",
          names={"MyDataset", "tensorize_contrastive", "tensorize_KB_batch", "embed_KB",
                 "embed_questions", "get_topk_candidates", "topk_retrieval_accuracy"}),
    Stage(key="nce_loss", title="The NCE loss",
          writes="`get_in_batch_contrastive_loss` (with and without hard negatives)",
          names={"get_in_batch_contrastive_loss"}),
    Stage(key="training", title="Training",
          writes="`configure_optimization` (AdamW, warm-up), `train_nce`",
          names={"configure_optimization", "train_nce"}, trains={"train_nce"}),
    Stage(key="hard_negatives", title="Hard negatives",
          writes="`mine_hard_negatives`; the results they reached and how (graded by hand)",
          names={"mine_hard_negatives"}),
    Stage(key="going_further", title="Going further",
          writes="`has_answer`, `answer_recall` (DPR's answer match), "
                 "`mine_filtered_hard_negatives`",
          names={"has_answer", "answer_recall", "mine_filtered_hard_negatives"}),
)


def keys() -> list[str]:
    return [stage.key for stage in STAGES]


def stage(key: str) -> Stage:
    """The stage of that key (``stage("nce_loss")``)."""
    for candidate in STAGES:
        if candidate.key == key:
            return candidate
    raise KeyError(f"{key!r} is no stage key of the course; the keys are {keys()} "
                   "(autograder/course/stages.py)")


def notebook_of(name: str) -> str:
    """The notebook a stage key names (``training`` -> ``04_training``); a notebook's name
    is its own."""
    if name in notebook_names():
        return name
    try:
        return stage(name).notebook
    except KeyError:
        raise KeyError(f"{name!r} is neither a stage key {keys()} nor a notebook "
                       f"{notebook_names()} of the course (autograder/course/stages.py)") from None


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


def follow_registry(solutions: Path | None = None) -> list[str]:
    """Make the solution notebooks' file names follow the registry, after a stage was inserted,
    removed or moved: ``NN_<key>.ipynb`` is renamed to its stage's notebook, and the provided
    cells that name a renamed notebook (``provided_04_training``) are renamed with it (``build``
    then rewrites what they hold). Returns what it changed. A notebook of no stage is left alone
    (``validate`` names it)."""
    from autograder.course import notebooks
    from autograder.course.paths import SOLUTIONS_DIR

    folder = solutions or SOLUTIONS_DIR
    by_key = {s.key: s.notebook for s in STAGES}
    moves = {path.stem: by_key[path.stem[3:]]
             for path in sorted(folder.glob("[0-9][0-9]_*.ipynb"))
             if path.stem[3:] in by_key and path.stem != by_key[path.stem[3:]]}
    for old in moves:  # in two steps, so that 04_x -> 05_x never overwrites 05_y before 05_y -> 06_y
        (folder / f"{old}.ipynb").rename(folder / f"{old}.ipynb.renaming")
    changes = []
    for old, new in moves.items():
        (folder / f"{old}.ipynb.renaming").rename(folder / f"{new}.ipynb")
        changes.append(f"renamed {old}.ipynb to {new}.ipynb")
    for name in by_key.values():
        path = folder / f"{name}.ipynb"
        if not path.exists():
            continue
        notebook, renamed = notebooks.read(path), False
        for cell in notebook.cells:
            cell_id = notebooks.grade_id(cell) or ""
            if cell_id.startswith("provided_") and cell_id[len("provided_"):] in moves:
                cell.metadata["nbgrader"]["grade_id"] = f"provided_{moves[cell_id[len('provided_'):]]}"
                changes.append(f"{name}: {cell_id} is {cell.metadata['nbgrader']['grade_id']}")
                renamed = True
        if renamed:
            notebooks.write(notebook, path)
    return changes


if __name__ == "__main__":  # python -m autograder.course.stages: the solutions follow STAGES
    for change in follow_registry():
        print(change)

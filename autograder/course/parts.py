"""The course's parts, listed once: everything else reads this registry.

A part has one name, its ``key``, and everything about it follows from that name and its place
in ``PARTS``:

- its notebook is ``NN_<key>`` (``solutions/dual_encoder/03_nce_loss.ipynb``), headed
  ``# Dense passage retrieval · Part N of M · <title>`` (``build`` writes the heading);
- its hidden checks are the module ``autograder.checks.<key>`` (``build`` writes the hidden
  test cells from what it declares, ``autograder/checks/__init__.py``);
- its sample submissions are named ``<key>_...`` in ``samples/manifest.toml``, which names the
  notebooks they hand in by key, and their answer files are ``samples/answers/<key>/...``;
- its points are what its notebook's autograded test cells are worth together (and its
  written answers, graded by hand); ``build`` writes the README's table of parts from this.

Adding a part is an entry here, its solution notebook, its checks module and its samples
(docs/contributing.md). A part is named by its key everywhere but in file names: the checks ask for
``reference("<key>")``, the manifest's ``notebooks`` tables and ``samples/answers/<key>/`` are
keyed by it, so a part inserted mid-course renumbers only the notebooks' files, and
``python -m autograder.course.parts`` renames the solution notebooks to follow the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

COURSE_TITLE = "Dense passage retrieval"


@dataclass(frozen=True)
class Part:
    """One part of the course; its number is its place in ``PARTS``."""

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
        return next(i for i, part in enumerate(PARTS, 1) if part.key == self.key)

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
        return f"# {COURSE_TITLE} · Part {self.number} of {len(PARTS)} · {self.title}"

    @property
    def points(self) -> float:
        """What the notebook's autograded test cells are worth together."""
        return _points(self.notebook)[0]

    @property
    def hand_graded_points(self) -> float:
        """What its written answers, graded by hand, are worth together."""
        return _points(self.notebook)[1]


PARTS: tuple[Part, ...] = (
    Part(key="encoder", title="The encoder",
          writes="`DistilBertEncoder.forward` (the [CLS] vector)",
          names={"set_seed", "clear_from_gpu", "data_train", "data_val", "KB",
                 "distilbert_tokenizer", "MAX_INPUT_LENGTH", "DualEncoder", "DistilBertEncoder",
                 "make_distilbert_dual_encoder"}),
    Part(key="evaluation", title="Evaluation",
          writes="`get_topk_candidates` (exact MIPS), `topk_retrieval_accuracy` (Recall@k)",
          names={"MyDataset", "tensorize_contrastive", "tensorize_KB_batch", "embed_KB",
                 "embed_questions", "get_topk_candidates", "topk_retrieval_accuracy"}),
    Part(key="nce_loss", title="The NCE loss",
          writes="`get_in_batch_contrastive_loss` (with and without hard negatives)",
          names={"get_in_batch_contrastive_loss"}),
    Part(key="training", title="Training",
          writes="`configure_optimization` (AdamW, warm-up), `train_nce`",
          names={"configure_optimization", "train_nce"}, trains={"train_nce"}),
    Part(key="hard_negatives", title="Hard negatives",
          writes="`mine_hard_negatives`; the results they reached and how (graded by hand)",
          names={"mine_hard_negatives"}),
    Part(key="going_further", title="Going further",
          writes="`has_answer`, `answer_recall` (DPR's answer match), "
                 "`mine_filtered_hard_negatives`",
          names={"has_answer", "answer_recall", "mine_filtered_hard_negatives"}),
)


def keys() -> list[str]:
    return [part.key for part in PARTS]


def part(key: str) -> Part:
    """The part of that key (``part("nce_loss")``)."""
    return _the_one(lambda p: p.key == key,
                    f"{key!r} is no part key of the course; the keys are {keys()}")


def notebook_of(name: str) -> str:
    """The notebook a part key names (``training`` -> ``04_training``); a notebook's name
    is its own."""
    if name in notebook_names():
        return name
    try:
        return part(name).notebook
    except KeyError:
        raise KeyError(f"{name!r} is neither a part key {keys()} nor a notebook "
                       f"{notebook_names()} of the course (autograder/course/parts.py)") from None


def notebook_names() -> list[str]:
    """The assignment's notebooks, in course order, without the .ipynb suffix."""
    return [part.notebook for part in PARTS]


def by_notebook(name: str) -> Part:
    return _the_one(lambda p: p.notebook == name,
                    f"{name!r} is not a notebook of the course; the parts are {notebook_names()}")


def _the_one(matches, otherwise: str) -> Part:
    found = next((p for p in PARTS if matches(p)), None)
    if found is None:
        raise KeyError(f"{otherwise} (autograder/course/parts.py)")
    return found


def of_sample(student_id: str) -> Part | None:
    """The part a sample's name says it belongs to, if any (``nce_loss_sum_reduction``)."""
    return next((s for s in PARTS if student_id.startswith(s.sample_prefix)), None)


def _points(notebook_name: str) -> tuple[float, float]:
    """(autograded, graded by hand) points of a solution notebook."""
    from autograder.course import notebooks
    from autograder.course.paths import SOLUTIONS_DIR

    cells = notebooks.read(SOLUTIONS_DIR / f"{notebook_name}.ipynb").cells
    def total(kind):
        return sum(float(notebooks.grade_info(c).get("points", 0)) for c in cells if kind(c))
    return total(notebooks.is_test), total(notebooks.is_manual)

TRAINING_FUNCTIONS = frozenset().union(*(part.trains for part in PARTS))


def follow_registry(solutions: Path | None = None) -> list[str]:
    """Make the solution notebooks' file names follow the registry, after a part was inserted,
    removed or moved: ``NN_<key>.ipynb`` is renamed to its part's notebook, and the provided
    cells that name a renamed notebook (``provided_04_training``) are renamed with it (``build``
    then rewrites what they hold). Returns what it changed. A notebook of no part is left alone
    (``validate`` names it)."""
    from autograder.course import notebooks
    from autograder.course.paths import SOLUTIONS_DIR

    folder = solutions or SOLUTIONS_DIR
    by_key = {s.key: s.notebook for s in PARTS}
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


if __name__ == "__main__":  # python -m autograder.course.parts: the solutions follow PARTS
    for change in follow_registry():
        print(change)

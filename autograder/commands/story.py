"""``python -m autograder story``: the results table over several training seeds.

Runs the reference solution of the hard negatives part (which trains NCE, mines hard negatives
and trains again), or with ``--part going_further`` of that part (negatives compared,
hybrid), once per seed, by setting ``SEED`` after the notebook's cell tagged ``parameters``, and
prints each column of the notebook's ``rows`` as mean ± standard deviation in a Markdown table
(docs/course.md quotes both).
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path

import nbformat

from autograder.course import notebooks
from autograder.course.execute import run_notebook
from autograder.judge.environment import grading_environment
from autograder.course.paths import SOLUTIONS_DIR
from autograder.course.parts import notebook_of

PART = "hard_negatives"  # whose results table story prints unless told (a part key)
REPORT = """
import json
print("STORY" + json.dumps(rows))
"""


def seeded_notebook(seed: int, name: str = PART):
    """The notebook with ``SEED = seed`` and a report at the end; without test cells (their
    expected values are for the default seed)."""
    notebook = notebooks.read(SOLUTIONS_DIR / f"{notebook_of(name)}.ipynb")
    notebook.cells = [cell for cell in notebook.cells if not notebooks.is_test(cell)]
    position = next(i for i, cell in enumerate(notebook.cells)
                    if "parameters" in cell.metadata.get("tags", []))
    notebook.cells.insert(position + 1, nbformat.v4.new_code_cell(f"SEED = {seed}"))
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT))
    return notebook


def results_for_seed(seed: int, profile: str = "tiny", name: str = PART) -> dict:
    """{row: {column: value}} of the reference run with training seed ``seed`` (part 5's
    columns are the k of Recall@k)."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"{notebook_of(name)}.ipynb"
        notebooks.write(seeded_notebook(seed, name), path)
        executed = run_notebook(path, grading_environment(profile),
                                resources_path=SOLUTIONS_DIR)
    for output in executed.cells[-1].outputs:
        if output.get("name") == "stdout" and "STORY" in output.text:
            table = json.loads(output.text.split("STORY", 1)[1])
            return {row: {int(k) if k.isdigit() else k: v for k, v in values.items()}
                    for row, values in table.items()}
    raise RuntimeError(f"seed {seed}: the notebook printed no results table")


def summarise(tables: list[dict]) -> str:
    columns = list(next(iter(tables[0].values())))
    lines = ["| Model | " + " | ".join(f"R@{c}" if isinstance(c, int) else c for c in columns) + " |",
             "| :-- |" + " --: |" * len(columns)]
    for row in tables[0]:
        cells = []
        for column in columns:
            values = [table[row][column] for table in tables]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.1f} ± {spread:.1f}")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def story(seeds: list[int], profile: str = "tiny", name: str | None = None) -> str:
    """``name``: a part key or its notebook's name (None: ``PART``)."""
    name = notebook_of(name or PART)
    tables = []
    for seed in seeds:
        print(f"seed {seed} ...", flush=True)
        tables.append(results_for_seed(seed, profile, name))
        print(json.dumps(tables[-1]), flush=True)
    summary = summarise(tables)
    print(f"\n{name}: percent, mean ± std over seeds {seeds}, {profile} profile:\n\n{summary}")
    return summary

"""``python -m autograder story``: the results table over several training seeds.

Runs the reference solution of part 5 (which trains NCE, mines hard negatives and trains
again) once per seed, by setting ``SEED`` after the notebook's cell tagged ``parameters``, and
prints Recall@k as mean ± standard deviation in a Markdown table (the README quotes it).
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path

import nbformat

from autograder.course import notebooks
from autograder.commands.expect import run_notebook
from autograder.nbgrading.workspace import grading_environment
from autograder.course.paths import SOLUTIONS_DIR
from dpr_course.testing import K_VALUES

NOTEBOOK = SOLUTIONS_DIR / "05_hard_negatives.ipynb"
REPORT = """
import json
print("STORY" + json.dumps(rows))
"""


def seeded_notebook(seed: int):
    """Part 5 with ``SEED = seed`` and a report at the end; without test cells (their
    expected values are for the default seed)."""
    notebook = notebooks.read(NOTEBOOK)
    notebook.cells = [cell for cell in notebook.cells if not notebooks.is_test(cell)]
    position = next(i for i, cell in enumerate(notebook.cells)
                    if "parameters" in cell.metadata.get("tags", []))
    notebook.cells.insert(position + 1, nbformat.v4.new_code_cell(f"SEED = {seed}"))
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT))
    return notebook


def results_for_seed(seed: int, profile: str = "tiny") -> dict:
    """{row: {k: recall}} of the part-5 reference run with training seed ``seed``."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / NOTEBOOK.name
        notebooks.write(seeded_notebook(seed), path)
        executed = run_notebook(path, grading_environment(profile),
                                resources_path=SOLUTIONS_DIR)
    for output in executed.cells[-1].outputs:
        if output.get("name") == "stdout" and "STORY" in output.text:
            table = json.loads(output.text.split("STORY", 1)[1])
            return {row: {int(k): v for k, v in recall.items()} for row, recall in table.items()}
    raise RuntimeError(f"seed {seed}: the notebook printed no results table")


def summarise(tables: list[dict]) -> str:
    lines = ["| Model | " + " | ".join(f"R@{k}" for k in K_VALUES) + " |",
             "| :-- |" + " --: |" * len(K_VALUES)]
    for row in tables[0]:
        cells = []
        for k in K_VALUES:
            values = [table[row][k] for table in tables]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.1f} ± {spread:.1f}")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def story(seeds: list[int], profile: str = "tiny") -> str:
    tables = []
    for seed in seeds:
        print(f"seed {seed} ...", flush=True)
        tables.append(results_for_seed(seed, profile))
        print(json.dumps(tables[-1]), flush=True)
    summary = summarise(tables)
    print(f"\nRecall@k (%), mean ± std over seeds {seeds}, {profile} profile:\n\n{summary}")
    return summary

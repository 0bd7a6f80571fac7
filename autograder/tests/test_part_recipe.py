"""docs/contributing.md's part recipe, proved: a new part with a model, inserted in the middle of
the course (between the NCE loss and training) in a scratch copy, is four things written by
hand (its registry entry, its solution notebook, its checks module, its samples); the later
parts' notebooks are renumbered by the course (``python -m autograder.course.parts`` renames
the solution notebooks to follow the registry, ``build`` everything made from them), and no
sample folder or manifest key is renamed. Build and grade take it from there: its hidden tests
are written, the reference scores full marks and a buggy sample is caught."""

import csv
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder.course.paths import ASSIGNMENT, COURSE_ROOT
from autograder.course.parts import PARTS, part

AFTER = "nce_loss"  # the new part comes right after it
PLACE = part(AFTER).number + 1
NAME = f"{PLACE:02d}_scoring"
COUNT = len(PARTS) + 1
LATER = [s for s in PARTS if s.number >= PLACE]  # renumbered: 04_training -> 05_training ...

ENTRY = '''    Part(key="scoring", title="Scoring a pair", writes="`score_pair` (the dual encoder's score)",
          names={"score_pair"}),
'''

ANSWER = '''q = distilbert_tokenizer([question], truncation=True, max_length=MAX_INPUT_LENGTH,
                         return_tensors="pt").to(device)
p = distilbert_tokenizer([passage], truncation=True, max_length=MAX_INPUT_LENGTH,
                         return_tensors="pt").to(device)
model = model.to(device)
with torch.no_grad():
    x = model.query_encoder(q["input_ids"], attention_mask=q["attention_mask"])
    y = model.passage_encoder(p["input_ids"], attention_mask=p["attention_mask"])
return float((x * y).sum())'''

BUG = ANSWER.replace("y = model.passage_encoder", "y = model.query_encoder")
BUG = "# Encodes the passage with the query encoder: the passage encoder is never used.\n" + BUG

CHECKS = '''"""Hidden checks for the scoring part: ``score_pair(model, question, passage, device)``."""

import torch

from autograder.checks import hidden_test
from autograder.judge.reference import reference


@hidden_test("test_scoring_encoders", points=2, on="score_pair")
def uses_both_encoders(score_pair) -> None:
    """The question goes through the query encoder, the passage through the passage encoder."""
    solution = reference("scoring")
    torch.manual_seed(0)
    model = solution["make_distilbert_dual_encoder"]().eval()
    with torch.no_grad():  # two encoders that differ, so that using the wrong one shows
        for weight in model.passage_encoder.parameters():
            weight.add_(0.05 * torch.randn_like(weight))
    question, passage = "who wrote the book", "the book was written by a woman in 1900"
    expected = solution["score_pair"](model, question, passage, device="cpu")
    got = score_pair(model, question, passage, device="cpu")
    assert isinstance(got, float), f"score_pair returned a {type(got).__name__}, expected a float"
    assert abs(got - expected) < 1e-3 * max(1.0, abs(expected)), \\
        f"score_pair returned {got:.4f}, expected {expected:.4f}: which encoder encodes what?"
'''

SAMPLE = '''
[[sample]]
student_id = "scoring_query_encoder_twice"
about = "The passage encoded by the query encoder."
notebooks = { "scoring" = { score_pair = "scoring/query_encoder_twice.py" } }
fails = ["test_scoring_encoders"]
'''


def _nbgrader(grade_id: str, **fields) -> dict:
    return {"nbgrader": {"grade": False, "grade_id": grade_id, "locked": False,
                         "schema_version": 3, "solution": False, "task": False, **fields}}


def _solution_notebook(course):
    """Its author's start: the heading, the notes and the provided cells as in part 3 (build
    rewrites them all), then the part's own answer and visible test."""
    part3 = nbformat.read(str(course / "solutions" / ASSIGNMENT / f"{part(AFTER).notebook}.ipynb"), 4)
    provided = [cell for cell in part3.cells
                if cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith("provided_")]
    body = "\n".join("    " + line for line in ANSWER.split("\n"))
    cells = [
        part3.cells[0], part3.cells[1], *provided,
        nbformat.v4.new_markdown_cell("**Your task.** Complete `score_pair`: the dot product of "
                                      "the question's and the passage's embeddings."),
        nbformat.v4.new_code_cell(
            "import torch\n\n\ndef score_pair(model, question, passage, device=device):\n"
            f"    ### BEGIN SOLUTION\n{body}\n    ### END SOLUTION",
            metadata=_nbgrader("score_pair", solution=True)),
        nbformat.v4.new_code_cell(
            "# Test: a score is a float.\nset_seed(0)\n"
            "assert isinstance(score_pair(make_distilbert_dual_encoder(), 'who', 'a b c'), float)",
            metadata=_nbgrader("test_scoring_float", grade=True, locked=True, points=1)),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=part3.metadata)
    notebook.nbformat_minor = 4
    for cell in notebook.cells:
        cell.pop("id", None)
    return notebook


def _run(course, *args, timeout=1200):
    run = subprocess.run([sys.executable, *args], cwd=course, capture_output=True, text=True,
                         timeout=timeout)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout


def _files(course) -> dict:
    return {str(p.relative_to(course)): p.read_bytes() for p in course.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_a_part_with_a_model_inserted_mid_course_is_four_things_written_by_hand(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(COURSE_ROOT, course, ignore=shutil.ignore_patterns(
        ".git", ".venv", "grading", "__pycache__", ".pytest_cache", "*.egg-info"))
    before = _files(course)
    answers_before = {p.name for p in (course / "samples" / "answers").iterdir()}

    # By hand: the registry entry, the solution notebook, the checks module, the samples.
    registry = course / "autograder" / "course" / "parts.py"
    text = registry.read_text()
    at = text.index(f'    Part(key="{LATER[0].key}"')
    registry.write_text(text[:at] + ENTRY + text[at:])
    nbformat.write(_solution_notebook(course), str(course / "solutions" / ASSIGNMENT / f"{NAME}.ipynb"))
    (course / "autograder" / "checks" / "scoring.py").write_text(CHECKS)
    (course / "samples" / "answers" / "scoring").mkdir()
    (course / "samples" / "answers" / "scoring" / "query_encoder_twice.py").write_text(BUG)
    manifest = course / "samples" / "manifest.toml"
    manifest.write_text(manifest.read_text() + SAMPLE)
    by_hand = sorted(name for name, data in _files(course).items() if before.get(name) != data)
    kinds = {"registry" if name.endswith("course/parts.py") else
             "solution notebook" if name.startswith("solutions/") else
             "checks module" if name.startswith("autograder/checks/") else
             "samples" if name.startswith("samples/") else name for name in by_hand}
    print(f"\nwritten by hand: {len(by_hand)} files of {len(kinds)} kinds {sorted(kinds)}:",
          *by_hand, sep="\n  ")
    assert kinds <= {"registry", "solution notebook", "checks module", "samples"}, kinds
    assert len(by_hand) == 5, by_hand
    # No sample folder renamed, no manifest key: both are named by part key, not by number.
    assert {p.name for p in (course / "samples" / "answers").iterdir()} == answers_before | {"scoring"}
    assert manifest.read_text().startswith(before["samples/manifest.toml"].decode())

    # By the course: the later solution notebooks follow the registry, then build.
    renamed = _run(course, "-m", "autograder.course.parts")
    for later in LATER:
        old, new = later.notebook, f"{later.number + 1:02d}_{later.key}"
        assert f"renamed {old}.ipynb to {new}.ipynb" in renamed, renamed
    built = _run(course, "-m", "autograder", "build")
    assert f"hidden test cell {NAME}:test_scoring_encoders added" in built, built[-3000:]
    _run(course, "-c", "from autograder.commands.validate import part_problems\n"
                       "from autograder.course import provided\n"
                       "assert part_problems() == [] and provided.stale_cells() == []")

    release_dir = course / "notebooks" / ASSIGNMENT
    names = [s.notebook for s in PARTS if s.number < PLACE] + [NAME] + \
            [f"{s.number + 1:02d}_{s.key}" for s in LATER]
    assert sorted(p.stem for p in (course / "solutions" / ASSIGNMENT).glob("*.ipynb")) == names
    release = nbformat.read(str(release_dir / f"{NAME}.ipynb"), 4)
    text = "\n".join(cell.source for cell in release.cells)
    assert release.cells[0].source.startswith(
        f"# Dense passage retrieval · Part {PLACE} of {COUNT} · Scoring a pair")
    assert "# Hidden test: The question goes through the query encoder" in text
    assert "uses_both_encoders" not in text and "float((x * y).sum())" not in text
    following = nbformat.read(str(release_dir / f"{names[PLACE]}.ipynb"), 4)
    assert following.cells[0].source.startswith(
        f"# Dense passage retrieval · Part {PLACE + 1} of {COUNT} · {LATER[0].title}")
    submitted_dir = course / "samples" / "submitted"
    assert (submitted_dir / "scoring_query_encoder_twice" / ASSIGNMENT / f"{NAME}.ipynb").exists()
    later_sample = next(p for p in submitted_dir.iterdir() if p.name.startswith(LATER[0].key + "_"))
    assert [p.stem for p in (later_sample / ASSIGNMENT).iterdir()] == [names[PLACE]]

    # Grade the new part alone: the reference sample, the blank one and the buggy one.
    submitted = tmp_path / "submitted"
    for student in ("reference", "blank", "scoring_query_encoder_twice"):
        folder = submitted / student / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(submitted_dir / student / ASSIGNMENT / f"{NAME}.ipynb", folder)
    out = tmp_path / "grades.csv"
    report = _run(course, "-m", "autograder", "grade", str(submitted), "--out", str(out))
    with open(out, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["notebook"] == NAME]
    scores = {(r["student_id"], r["grade_id"]): (float(r["score"]), float(r["max_score"]))
              for r in rows}
    assert scores == {("reference", "test_scoring_float"): (1, 1),
                      ("reference", "test_scoring_encoders"): (2, 2),
                      ("blank", "test_scoring_float"): (0, 1),
                      ("blank", "test_scoring_encoders"): (0, 2),
                      ("scoring_query_encoder_twice", "test_scoring_float"): (1, 1),
                      ("scoring_query_encoder_twice", "test_scoring_encoders"): (0, 2)}, report
    [header] = [line for line in report.splitlines() if line.startswith("student ")]
    assert header.split()[1:] == [*names, "total"]

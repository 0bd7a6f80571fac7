"""The bundled samples get exactly the scores the manifest says, through `autograder grade`."""

import pytest

from autograder.course import notebooks
from autograder.run import CSV_COLUMNS
from autograder.course.paths import RELEASE_DIR, SAMPLE_SUBMISSIONS
from autograder.course.parts import notebook_names
from autograder.course.samples import load_manifest

pytestmark = pytest.mark.slow
SAMPLES = load_manifest()


def release_test_cells(notebook_name: str | None = None) -> dict:
    """grade_id -> points of every test cell in the release (or in one of its notebooks)."""
    cells = {}
    for name in [notebook_name] if notebook_name else notebook_names():
        for cell in notebooks.read(RELEASE_DIR / f"{name}.ipynb").cells:
            if notebooks.is_test(cell):
                cells[notebooks.grade_id(cell)] = cell.metadata.nbgrader["points"]
    return cells


def expected_score(sample, notebook_name: str, grade_id: str, max_score: float) -> float:
    """Full marks unless the manifest lists the cell as failing; zero in notebooks not handed in."""
    handed_in = notebook_name in sample.notebooks
    return max_score if handed_in and grade_id not in sample.fails else 0.0


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.student_id for s in SAMPLES])
def test_sample_scores_as_expected(graded_samples, sample):
    rows = [row for row in graded_samples["rows"] if row["student_id"] == sample.student_id]
    assert {row["grade_id"] for row in rows} == set(release_test_cells()), "one CSV row per test cell"
    unknown = set(sample.fails) - set(release_test_cells())
    assert not unknown, f"manifest names no such test cells: {unknown}"
    for row in rows:
        score, max_score = float(row["score"]), float(row["max_score"])
        expected = expected_score(sample, row["notebook"], row["grade_id"], max_score)
        assert score == expected, (f"{sample.student_id} ({sample.about}): {row['notebook']}/"
                                   f"{row['grade_id']} scored {score:g}, expected {expected:g}")


def test_manifest_covers_what_the_issue_asks():
    by_id = {s.student_id: s for s in SAMPLES}
    assert not by_id["reference"].fails
    assert set(by_id["reference"].notebooks) == set(by_id["blank"].notebooks) == set(notebook_names())
    assert set(by_id["blank"].fails) == set(release_test_cells())
    for name in notebook_names():  # per part: 3 realistic bugs and a correct-but-different answer
        own_answers = [s for s in SAMPLES if isinstance(s.notebooks.get(name), dict)]
        buggy = [s for s in own_answers if set(s.fails) & set(release_test_cells(name))]
        different = [s for s in own_answers if not set(s.fails) & set(release_test_cells(name))]
        assert len(buggy) >= 3 and different, f"{name}: {len(buggy)} buggy, {len(different)} correct"
    for action in ("edit:", "delete:", "duplicate:", "blank:", "retype:", "inject:", "colab"):
        assert any(a.startswith(action) for s in SAMPLES for a in s.tamper), action


def test_every_sample_is_written_and_nothing_else():
    written = {p.parent.parent.name for p in SAMPLE_SUBMISSIONS.glob("*/dual_encoder/*.ipynb")}
    assert written == {s.student_id for s in SAMPLES}


def test_csv_has_the_contract_columns(graded_samples):
    header = graded_samples["csv"].read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == CSV_COLUMNS
    students = {row["student_id"] for row in graded_samples["rows"]}
    assert students == {s.student_id for s in SAMPLES}
    assert {row["notebook"] for row in graded_samples["rows"]} == set(notebook_names())


def test_summary_table_lists_every_student_with_totals(graded_samples):
    stdout = graded_samples["stdout"]
    total = sum(release_test_cells().values())
    table = stdout.split("\nstudent ", 1)[1].splitlines()
    [reference_row] = [line for line in table if line.startswith("reference ")]
    assert reference_row.split()[-1] == f"{total:g}/{total:g}"
    for sample in SAMPLES:
        assert sample.student_id in stdout
    assert "05_hard_negatives/results_report (2 points) is graded by hand" in stdout
    assert "sandbox: each call of a student's code is bounded by" in stdout
    problems = stdout.split("\nProblems:\n", 1)[-1] if "\nProblems:\n" in stdout else ""
    for line in problems.splitlines():  # only notebooks a sample leaves out, no grader error
        assert "not handed in" in line or not line.startswith("  "), line


def test_feedback_for_every_student_without_hidden_test_code(graded_samples):
    for sample in SAMPLES:
        for name in sample.notebooks:  # nbgrader gives feedback on the notebooks handed in
            page = graded_samples["feedback"] / sample.student_id / "dual_encoder" / f"{name}.html"
            html = page.read_text(encoding="utf-8")
            assert notebooks.BEGIN_HIDDEN.lstrip("# ") not in html and "autograder.checks" not in html, page
    mean_pooling = (graded_samples["feedback"] / "encoder_mean_pooling" / "dual_encoder"
                    / "01_encoder.html").read_text(encoding="utf-8")
    assert "mean pooling" in mean_pooling, "the hidden tests' messages reach the student"


def test_every_sample_scores_the_same_when_graded_again_on_the_warm_cache(graded_samples,
                                                                         tmp_path_factory):
    """The suite grades the samples cold, on a cache of their own; graded again on that cache,
    now warm (the template, the provided runs and each slow call of a student's code kept),
    every sample gets the same rows, and the cache was used."""
    from autograder.tests.conftest import grade_samples

    cache = graded_samples["cache"]
    kept = [path.name for path in cache.glob("*/memo/*")]
    assert any(name.startswith("call-") for name in kept) and any(
        name.endswith(".pt") for name in kept), "the cold grading kept calls and provided runs"
    assert list(cache.glob("*/template/gradebook.db")), "and the template"
    again = grade_samples(graded_samples["submissions"], tmp_path_factory, cache)
    assert again["rows"] == graded_samples["rows"]

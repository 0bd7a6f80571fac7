"""Part 6's metric and filter: the solution, the checks' independent implementation and
ir_measures agree; and the whole notebook runs in the tiny profile within its time budget."""

import time

import pytest

from autograder.checks import going_further as checks
from autograder.course.execute import run_notebook
from autograder.course.paths import SOLUTIONS_DIR
from autograder.judge.reference import reference
from autograder.judge.environment import grading_environment

K_VALUES = (1, 5, 10, 20, 100)


@pytest.fixture(scope="module")
def solution():
    return reference("going_further")


@pytest.fixture(scope="module")
def runs(solution):
    """Real runs of the course's models on the validation set: the untrained dual encoder
    (exact MIPS with the reference get_topk_candidates) and BM25."""
    from dpr_course.baselines import bm25_topk_candidates

    model = solution["make_distilbert_dual_encoder"]()
    data, KB = solution["data_val"][:300], solution["KB"]
    return {"untrained": solution["get_topk_candidates"](KB, data, model, 100, 100, device="cpu"),
            "BM25": bm25_topk_candidates(KB, data, num_candidates=100)}


def test_the_checks_rule_is_the_solutions_on_every_case_they_use(solution):
    has_answer = solution["has_answer"]
    cases = checks._has_answer_cases(seed=61) + checks._has_answer_cases(seed=7, count=300)
    assert any(checks.expected_has_answer(*case) for case in cases)
    assert not all(checks.expected_has_answer(*case) for case in cases)
    for answers, text in cases:
        assert has_answer(answers, text) == checks.expected_has_answer(answers, text), (answers, text)
    for seed in (62, 63, 8):
        results = checks._results(seed)
        assert solution["answer_recall"](results, solution["KB"], [1, 3, 10, 100]) == \
            checks.expected_answer_recall(results, solution["KB"], [1, 3, 10, 100])


def test_the_checks_filter_is_the_solutions(solution):
    for seed in (64, 9):
        data, KB, results, positive = checks._filtered_case(seed)
        mined = solution["mine_filtered_hard_negatives"](data, KB, results, positive, 0.5)
        expected = checks.expected_filtered(data, KB, results, positive, 0.5)
        assert [example["hard_negative"] for example in mined] == expected
        assert any(e is None for e in expected) and any(e is not None for e in expected)


def test_answer_recall_is_ir_measures_success_on_real_runs(solution, runs):
    """ir_measures' Success@k (via pytrec_eval), with a passage relevant to a question when
    DPR's has_answer finds an answer in its text, ranked in the run's own order."""
    import ir_measures
    from ir_measures import Success

    KB, has_answer = solution["KB"], solution["has_answer"]
    for name, results in runs.items():
        qrels, run = [], []
        for q, result in enumerate(results):
            for rank, j in enumerate(result["topk_indices"]):
                relevant = int(has_answer(result["answers"], KB[j]["text"]))
                qrels.append(ir_measures.Qrel(str(q), str(j), relevant))
                run.append(ir_measures.ScoredDoc(str(q), str(j), float(len(result["topk_indices"]) - rank)))
        measured = ir_measures.calc_aggregate([Success @ k for k in K_VALUES], qrels, run)
        ours = solution["answer_recall"](results, KB, list(K_VALUES))
        for k in K_VALUES:
            assert ours[k] == pytest.approx(100 * measured[Success @ k], abs=1e-6), (name, k)
        assert 0 < ours[100] and ours[1] < 100, (name, ours)


@pytest.mark.slow
def test_the_notebook_runs_in_the_tiny_profile_within_its_budget():
    """Every cell, the GradCache gradient check included, within twice the time
    docs/performance.md gives for a 2-core CPU (a slower machine passes too)."""
    started = time.perf_counter()
    notebook = run_notebook(SOLUTIONS_DIR / "06_going_further.ipynb", grading_environment("tiny"),
                            timeout=600, allow_errors=True)
    seconds = time.perf_counter() - started
    errors = [(i, output.ename, output.evalue) for i, cell in enumerate(notebook.cells)
              if cell.cell_type == "code" for output in cell.get("outputs", [])
              if output.output_type == "error"]
    assert not errors, errors
    print(f"\n  06_going_further ran in the tiny profile in {seconds:.0f} s")
    assert seconds < 480

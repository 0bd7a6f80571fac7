"""Hidden checks for notebook 02: ``get_topk_candidates`` and ``topk_retrieval_accuracy``.

The KB holds exact duplicates, so equal scores are common: a list of candidates is accepted when
it is *a* valid top-k of the scores (any order within ties), never compared index for index
with the reference's.
"""

from __future__ import annotations

import copy
import functools
import math
import operator
import random

import torch

from autograder.checks import hidden_test
from autograder.judge.reference import reference
from autograder.checks.common import full_precision
from autograder.random_state import kept_random_state
from dpr_course.testing import K_VALUES

RESULT_KEYS = ("question", "answers", "gold_title", "topk_titles", "topk_indices", "topk_values")
SCORE_RTOL = 1e-4   # scores are float32 inner products: relative to the row's largest |score|
RECALL_ATOL = 1e-9  # Recall@k is exact arithmetic on counts


def _ref():
    return reference("evaluation")


# --------------------------------------------------------------------------------------------
# get_topk_candidates
# --------------------------------------------------------------------------------------------

NOISE_SEED = 31
NOISE_STD = 0.1  # the tiny encoder's weights have std 0.02: 0.02 of noise left every passage
                 # within 1e-4 (relative) of the next; with 0.1 scores spread over their range


@functools.cache
def _perturbed_weights() -> tuple:
    """The notebook's dual encoder with seeded noise on every weight, built once: weights no
    test has seen, and a query encoder that differs from the passage encoder."""
    ref = _ref()
    with kept_random_state():  # building a model must not move the global RNG
        model = ref["make_distilbert_dual_encoder"]()
    generator = torch.Generator().manual_seed(NOISE_SEED)
    with torch.no_grad():
        for _, parameter in sorted(model.named_parameters()):
            parameter.add_(torch.randn(parameter.shape, generator=generator) * NOISE_STD)
    model = model.to(ref["device"])
    saved = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    return model, saved


def _perturbed_model():
    """The perturbed model, its weights restored (whatever a student's function did to them)."""
    model, saved = _perturbed_weights()
    model.to(device=_ref()["device"], dtype=torch.float32).load_state_dict(saved)
    return model.eval()


def _distinct_passages(rng: random.Random, count: int) -> list:
    """``count`` passages of the reference KB with pairwise different titles and texts."""
    KB = _ref()["KB"]
    picked, seen = [], set()
    for index in rng.sample(range(len(KB)), len(KB)):
        passage = KB[index]
        if passage["title"] in seen or passage["text"] in seen:
            continue
        seen.update((passage["title"], passage["text"]))
        picked.append({"title": passage["title"], "text": passage["text"]})
        if len(picked) == count:
            return picked
    raise RuntimeError("the reference KB has too few distinct passages")  # pragma: no cover


def _questions(rng: random.Random, count: int) -> list:
    return copy.deepcopy(rng.sample(_ref()["data_val"], count))


def _scores(KB, data, model, batch_size) -> torch.Tensor:
    """Every question's score against every passage, with the notebook's own embedding code."""
    ref = _ref()
    with full_precision():
        Y = ref["embed_KB"](KB, model, batch_size, device=ref["device"])
        X = ref["embed_questions"](data, model, batch_size, device=ref["device"])
        return X.double() @ Y.double().T  # (|data|, |KB|)


def _call_topk(get_topk_candidates, KB, data, model, batch_size, num_candidates):
    """The student's results, on copies (a function that edits its inputs cannot fool us)."""
    try:
        with full_precision():
            return get_topk_candidates(copy.deepcopy(KB), copy.deepcopy(data), model, batch_size,
                                       num_candidates, device=_ref()["device"])
    except Exception as error:  # the feedback shows only this message, so say where it happened
        raise AssertionError(
            f"get_topk_candidates raised {type(error).__name__}: {error} (KB of {len(KB)} "
            f"passages, {len(data)} questions, batch_size={batch_size}, "
            f"num_candidates={num_candidates})") from error


def _as_floats(values, what: str) -> list:
    try:
        if isinstance(values, torch.Tensor):
            values = values.detach().cpu().tolist()
        return [float(v) for v in values]
    except (TypeError, ValueError) as error:
        raise AssertionError(f"{what} must be a list of floats (the scores); got "
                             f"{type(values).__name__}: {error}") from None


def _as_ints(indices, what: str, size: int) -> list:
    if isinstance(indices, torch.Tensor):
        indices = indices.detach().cpu().tolist()
    try:
        indices = list(indices)
    except TypeError:
        raise AssertionError(f"{what} must be a list of ints (positions in KB); got "
                             f"{type(indices).__name__}") from None
    out = []
    for j in indices:
        assert not isinstance(j, bool), f"{what} must hold ints (positions in KB); got a bool"
        try:
            j = operator.index(j)
        except TypeError:
            raise AssertionError(f"{what} must hold ints (positions in KB); got "
                                 f"{type(j).__name__} {j!r}. Use .tolist() on the index tensor "
                                 "of torch.topk, not on its values.") from None
        if not 0 <= j < size:
            raise AssertionError(f"{what} holds {j}, which is not a position in a KB of {size} "
                                 "passages")
        out.append(j)
    return out


def _results_layout(results, data, num_candidates, what: str) -> None:
    assert isinstance(results, list), \
        f"{what}: get_topk_candidates must return a list of dicts, got {type(results).__name__}"
    assert len(results) == len(data), \
        f"{what}: expected one result per question ({len(data)}), got {len(results)}"
    for i, result in enumerate(results):
        assert isinstance(result, dict), \
            f"{what}: result {i} must be a dict, got {type(result).__name__}"
        missing = [key for key in RESULT_KEYS if key not in result]
        assert not missing, f"{what}: result {i} lacks the keys {missing}"
        for key in ("topk_indices", "topk_titles", "topk_values"):
            try:
                length = len(result[key])
            except TypeError:
                raise AssertionError(f"{what}: result {i}[{key!r}] must be a list, got "
                                     f"{type(result[key]).__name__}") from None
            assert length == num_candidates, (
                f"{what}: result {i}[{key!r}] has {length} entries; expected "
                f"num_candidates = {num_candidates}")


def _same_examples(results, data, what: str) -> None:
    """Results come in the order of ``data`` and copy its question, answers and gold title."""
    for i, (result, example) in enumerate(zip(results, data)):
        if result["question"] != example["question"]:
            others = [j for j, e in enumerate(data) if e["question"] == result["question"]]
            where = (f"the question of data[{others[0]}]" if others
                     else repr(result["question"])[:80])
            raise AssertionError(f"{what}: result {i} holds {where}; results must come in the "
                                 "order of data, one per question")
        assert result["answers"] == example["answers"], \
            f"{what}: result {i}['answers'] is not the example's answers"
        assert result["gold_title"] == example["gold_context"]["title"], (
            f"{what}: result {i}['gold_title'] is {result['gold_title']!r}; expected the title "
            f"of the example's gold passage, {example['gold_context']['title']!r}")


def _check_row(result, row: torch.Tensor, KB, num_candidates, what: str, *, top_k_set=True,
               values_vs_best=True) -> None:
    """One question's candidates against its scores ``row`` (float64, one entry per passage).

    Always: ints in range, values are the scores of those passages, best first, titles match.
    ``values_vs_best``: the values are the ``num_candidates`` largest scores.
    ``top_k_set``: the indices are distinct passages, each with a top-k score (ties: any).
    """
    tol = SCORE_RTOL * max(1.0, row.abs().max().item())
    indices = _as_ints(result["topk_indices"], f"{what}['topk_indices']", len(KB))
    values = _as_floats(result["topk_values"], f"{what}['topk_values']")
    best = torch.topk(row, num_candidates).values.tolist()
    worst_first = torch.topk(row, num_candidates, largest=False).values.tolist()

    def close(a, b):
        return all(abs(x - y) <= tol for x, y in zip(a, b))

    if values_vs_best and not close(values, best):
        if close(values, worst_first):
            raise AssertionError(
                f"{what}: topk_values are the {num_candidates} *smallest* scores, smallest "
                f"first ({_short(values)}); expected the largest, largest first "
                f"({_short(best)}). torch.topk picks the largest by default.")
        if close(values, best[::-1]):
            raise AssertionError(
                f"{what}: topk_values are the right scores in ascending order "
                f"({_short(values)}); expected largest first ({_short(best)}).")
        if close(values, worst_first[::-1]):
            raise AssertionError(
                f"{what}: topk_values are the {num_candidates} smallest scores "
                f"({_short(values)}); expected the largest, largest first ({_short(best)}).")
        raise AssertionError(
            f"{what}: topk_values {_short(values)} are not the {num_candidates} largest scores "
            f"of this question, largest first: {_short(best)} (tolerance {tol:.2g}). Score "
            "with question_embeddings @ passage_embeddings.T, embedding both with the model.")
    at = row[indices].tolist()
    for m, (j, value, score) in enumerate(zip(indices, values, at)):
        if abs(value - score) > tol:
            raise AssertionError(
                f"{what}: topk_values[{m}] = {value:.5g} but passage topk_indices[{m}] = {j} "
                f"scores {score:.5g}: values and indices must describe the same passages")
    for m in range(len(values) - 1):
        if values[m + 1] > values[m] + tol:
            raise AssertionError(
                f"{what}: candidates are not best first: topk_values[{m}] = {values[m]:.5g} < "
                f"topk_values[{m + 1}] = {values[m + 1]:.5g}")
    if top_k_set:
        repeated = sorted({j for j in indices if indices.count(j) > 1})
        if repeated:
            raise AssertionError(
                f"{what}: passage {repeated[0]} appears {indices.count(repeated[0])} times in "
                f"topk_indices {indices}. Duplicate passages in the KB have equal scores; each "
                "position must appear once (finding an index by its score, e.g. "
                "list.index(value), returns the first position every time).")
        threshold = best[-1] - tol
        for m, (j, score) in enumerate(zip(indices, at)):
            if score < threshold:
                raise AssertionError(
                    f"{what}: topk_indices[{m}] = {j} scores {score:.5g}, below the "
                    f"{num_candidates}-th largest score {best[-1]:.5g}: not a top-"
                    f"{num_candidates} candidate")
    titles = list(result["topk_titles"])
    expected_titles = [KB[j]["title"] for j in indices]
    if titles != expected_titles:
        m = next(m for m, (a, b) in enumerate(zip(titles, expected_titles)) if a != b)
        raise AssertionError(
            f"{what}: topk_titles[{m}] is {titles[m]!r} but KB[topk_indices[{m}]] = "
            f"KB[{indices[m]}] has the title {expected_titles[m]!r}")


def _short(values, limit: int = 6) -> str:
    shown = ", ".join(f"{v:.4g}" for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"


@hidden_test("test_topk_reference", points=2, on="get_topk_candidates")
def topk_matches_reference(get_topk_candidates) -> None:
    """Agreement with the reference on fresh questions, passages and weights (any order within ties).

    Fresh passages (some duplicated), questions and weights: the student's candidates are
    a top-k of the reference scores, with the reference's values, in the order of ``data``."""
    rng = random.Random(2024)
    KB = _distinct_passages(rng, 30)
    data = _questions(rng, 8)
    KB += [dict(data[0]["gold_context"]), dict(data[1]["gold_context"])]  # two golds in the KB
    for source in rng.sample(range(len(KB)), 6):                          # and 6 duplicates
        KB.insert(rng.randrange(len(KB) + 1), dict(KB[source]))
    model = _perturbed_model()
    scores = _scores(KB, data, model, batch_size=16)
    for num_candidates, batch_size in ((7, 16), (len(KB), 12)):
        what = f"{len(data)} questions, {len(KB)} passages, num_candidates={num_candidates}"
        results = _call_topk(get_topk_candidates, KB, data, model, batch_size, num_candidates)
        _results_layout(results, data, num_candidates, what)
        _same_examples(results, data, what)
        for i, result in enumerate(results):
            _check_row(result, scores[i], KB, num_candidates, f"{what}: result {i}")


@hidden_test("test_topk_ties", points=1, on="get_topk_candidates")
def topk_handles_ties(get_topk_candidates) -> None:
    """A KB full of duplicate passages: the candidates are a correct top-k, whatever the order within
    ties.

    A KB made mostly of exact duplicates: the candidates must be a valid top-k (distinct
    passages, every one among the best), in any order within equal scores."""
    rng = random.Random(7)
    distinct = _distinct_passages(rng, 5)
    KB = [dict(p) for p, copies in zip(distinct, (5, 4, 3, 3, 1)) for _ in range(copies)]
    rng.shuffle(KB)
    data = _questions(rng, 4)
    model = _perturbed_model()
    scores = _scores(KB, data, model, batch_size=8)
    for num_candidates in (3, 7, len(KB)):
        what = f"a KB of {len(KB)} passages, only 5 distinct; num_candidates={num_candidates}"
        results = _call_topk(get_topk_candidates, KB, data, model, 8, num_candidates)
        _results_layout(results, data, num_candidates, what)
        for i, result in enumerate(results):
            _check_row(result, scores[i], KB, num_candidates, f"{what}: result {i}")


@hidden_test("test_topk_descending", points=1, on="get_topk_candidates")
def topk_descending(get_topk_candidates) -> None:
    """Candidates come best first, with the right count, indices and titles.

    Distinct passages (no ties to worry about): the right number of candidates, best first,
    int indices into the KB, titles of those passages, values that are their scores."""
    rng = random.Random(99)
    KB = _distinct_passages(rng, 20)
    data = _questions(rng, 6)
    model = _perturbed_model()
    scores = _scores(KB, data, model, batch_size=16)
    for num_candidates in (1, 5, 12):
        what = f"{len(data)} questions, {len(KB)} passages, num_candidates={num_candidates}"
        results = _call_topk(get_topk_candidates, KB, data, model, 16, num_candidates)
        _results_layout(results, data, num_candidates, what)
        for i, result in enumerate(results):
            _check_row(result, scores[i], KB, num_candidates, f"{what}: result {i}",
                       top_k_set=False, values_vs_best=False)
            values = _as_floats(result["topk_values"], "topk_values")
            if values[0] < scores[i].max().item() - SCORE_RTOL * scores[i].abs().max().item():
                raise AssertionError(
                    f"{what}: result {i}: the first candidate scores {values[0]:.5g}, but the "
                    f"best passage scores {scores[i].max().item():.5g}: best first")


# --------------------------------------------------------------------------------------------
# topk_retrieval_accuracy
# --------------------------------------------------------------------------------------------

def _first_rank(result):
    return next((r for r, t in enumerate(result["topk_titles"]) if t == result["gold_title"]),
                None)


# Known wrong ways to count, each as "how many hits does this result score at k".
VARIANTS = {
    "a hit at (0-based) rank r counted for k >= r (rank <= k): off by one; the first k "
    "candidates are ranks 0 .. k-1, so the test is rank < k":
        lambda r, titles, gold, k: r is not None and r <= k,
    "a hit counted only at k = rank + 1 (the exact position), not for every larger k":
        lambda r, titles, gold, k: r is not None and r == k - 1,
    "every occurrence of the gold title among the first k counted, not just whether there is "
    "one: a question counts at most once":
        lambda r, titles, gold, k: sum(t == gold for t in titles[:k]),
    "a hit counted only when the k-th candidate itself has the gold title":
        lambda r, titles, gold, k: len(titles) >= k and titles[k - 1] == gold,
}


def _recall(results, k_values, rule=None, scale=100.0) -> dict:
    rule = rule or (lambda r, titles, gold, k: r is not None and r < k)
    out = {}
    for k in k_values:
        hits = sum(rule(_first_rank(res), list(res["topk_titles"]), res["gold_title"], k)
                   for res in results)
        out[k] = scale * hits / len(results)
    return out


def _call_recall(topk_retrieval_accuracy, results, k_values):
    results = copy.deepcopy(results)
    try:
        if k_values is None:
            return topk_retrieval_accuracy(results)
        return topk_retrieval_accuracy(results, k_values=list(k_values))
    except IndexError as error:
        lengths = sorted({len(result["topk_titles"]) for result in results})
        raise AssertionError(
            f"IndexError ({error}) with candidate lists of {lengths[0]} to {lengths[-1]} titles "
            f"and k_values={k_values or list(K_VALUES)}: a list shorter than k must simply be "
            "searched to its end (topk_titles[:k] never fails)") from None
    except Exception as error:  # the feedback shows only this message, so say where it happened
        raise AssertionError(
            f"topk_retrieval_accuracy raised {type(error).__name__}: {error} ({len(results)} "
            f"results, k_values={k_values or list(K_VALUES)})") from error


def _check_recall(actual, results, k_values, what: str, num_queries: bool = True) -> None:
    """``actual`` against the right Recall@k; name the mistake when it is a known one."""
    k_values = list(K_VALUES) if k_values is None else k_values
    expected = _recall(results, k_values)
    assert isinstance(actual, dict), \
        f"{what}: topk_retrieval_accuracy must return a dict, got {type(actual).__name__}"
    missing = [k for k in k_values if k not in actual]
    assert not missing, (f"{what}: the result lacks the keys {missing}; expected one key per k "
                         f"in k_values (the ints {list(k_values)}) and 'num_queries'")
    got = {}
    for k in k_values:
        try:
            got[k] = float(actual[k])
        except (TypeError, ValueError):
            raise AssertionError(f"{what}: Recall@{k} must be a number, got "
                                 f"{type(actual[k]).__name__}") from None

    def matches(reference_values):
        return all(math.isclose(got[k], reference_values[k], rel_tol=0, abs_tol=RECALL_ATOL)
                   for k in k_values)

    if not matches(expected):
        if matches(_recall(results, k_values, scale=1.0)):
            raise AssertionError(
                f"{what}: Recall@k is a fraction (0-1), e.g. Recall@{k_values[0]} = "
                f"{got[k_values[0]]:.4g}; expected a percentage (0-100): "
                f"{expected[k_values[0]]:.4g}")
        for description, rule in VARIANTS.items():
            for scale in (100.0, 1.0):
                if matches(_recall(results, k_values, rule, scale)):
                    raise AssertionError(f"{what}: the values match {description}"
                                         + ("" if scale == 100.0 else ", as a fraction"))
        wrong = [k for k in k_values
                 if not math.isclose(got[k], expected[k], rel_tol=0, abs_tol=RECALL_ATOL)]
        shown = ", ".join(f"@{k}: got {got[k]:.4g}, expected {expected[k]:.4g}"
                          for k in wrong[:5])
        raise AssertionError(f"{what}: Recall{shown}{' ...' if len(wrong) > 5 else ''}")
    if not num_queries:
        return
    assert "num_queries" in actual, f"{what}: the result lacks the key 'num_queries'"
    assert actual["num_queries"] == len(results) and not isinstance(actual["num_queries"], bool), (
        f"{what}: num_queries is {actual['num_queries']!r}; expected the number of results, "
        f"{len(results)}")


def _random_results(rng: random.Random, count: int, pool: int = 12, longest: int = 25) -> list:
    titles = [f"Title {n}" for n in range(pool)]
    results = []
    for i in range(count):
        gold = rng.choice(titles + ["Nowhere"])  # "Nowhere" is never a candidate
        length = rng.randint(0, longest)
        results.append({
            "question": f"question {i}?", "answers": [f"answer {i}"], "gold_title": gold,
            "topk_titles": [rng.choice(titles) for _ in range(length)],
            "topk_indices": [rng.randrange(1000) for _ in range(length)],
            "topk_values": sorted((rng.uniform(-5, 5) for _ in range(length)), reverse=True),
        })
    return results


@hidden_test("test_recall_reference", points=1, on="topk_retrieval_accuracy")
def recall_matches_reference(topk_retrieval_accuracy) -> None:
    """Agreement with the reference on random results.

    Random results (seeded) and several k_values, the default included: every Recall@k and
    num_queries as the reference computes them."""
    ref = _ref()["topk_retrieval_accuracy"]
    rng = random.Random(5)
    cases = [(_random_results(rng, 37), None), (_random_results(rng, 20), [1, 2, 3]),
             (_random_results(rng, 50), [10, 1, 5]), (_random_results(rng, 9), list(range(1, 31))),
             (_random_results(rng, 1), [3]), (_random_results(rng, 64, pool=4), [2, 4, 100])]
    for n, (results, k_values) in enumerate(cases):
        what = (f"case {n}: {len(results)} random results, "
                + ("default k_values" if k_values is None else f"k_values={k_values}"))
        expected = _call_recall(ref, results, k_values)
        actual = _call_recall(topk_retrieval_accuracy, results, k_values)
        _check_recall(actual, results, k_values, what)  # names a known mistake, if any
        for key, value in expected.items():  # and the reference agrees, key for key
            assert math.isclose(float(actual[key]), value, rel_tol=0, abs_tol=RECALL_ATOL), \
                f"{what}: {key!r} is {actual[key]!r}; the reference gives {value!r}"


@hidden_test("test_recall_beyond_first_hit", points=1, on="topk_retrieval_accuracy")
def recall_k_beyond_first_hit(topk_retrieval_accuracy) -> None:
    """A hit counts for every k beyond its rank, and only the first hit counts.

    A hit at (0-based) rank r counts for every k > r and for no k <= r; a gold title that
    appears again further down counts once."""
    titles = ["A", "B", "C", "D", "E", "F", "G", "H"]
    single = [{"question": f"q{r}", "answers": [], "gold_title": titles[r], "topk_titles": titles}
              for r in range(6)]
    single.append({"question": "q-miss", "answers": [], "gold_title": "Z", "topk_titles": titles})
    k_values = [1, 2, 3, 4, 5, 6, 7, 8]
    what = "7 questions, gold at ranks 0, 1, ..., 5 (0-based) and nowhere; k_values=1..8"
    _check_recall(_call_recall(topk_retrieval_accuracy, single, k_values), single, k_values, what,
                  num_queries=False)

    repeated = [{"question": "q1", "answers": [], "gold_title": "G",
                 "topk_titles": ["A", "G", "B", "G", "G", "C"]},
                {"question": "q2", "answers": [], "gold_title": "H",
                 "topk_titles": ["H", "A", "H", "B", "H", "H"]}]
    k_values = [1, 2, 3, 5, 6]
    what = ("2 questions whose gold title appears several times (ranks 1, 3, 4 and "
            "0, 2, 4, 5); k_values=[1, 2, 3, 5, 6]")
    actual = _call_recall(topk_retrieval_accuracy, repeated, k_values)
    if isinstance(actual, dict) and any(_number(actual.get(k)) > 100 + RECALL_ATOL
                                        for k in k_values):
        raise AssertionError(f"{what}: Recall@k above 100% ({actual}): a question whose gold "
                             "title appears more than once must count once")
    _check_recall(actual, repeated, k_values, what, num_queries=False)


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


@hidden_test("test_recall_short_lists", points=1, on="topk_retrieval_accuracy")
def recall_short_lists_and_percent(topk_retrieval_accuracy) -> None:
    """K larger than the candidate list, and percent rather than fraction.

    k beyond the end of a candidate list searches the whole list; values are percentages;
    num_queries is the number of results."""
    results = [{"question": "q1", "answers": [], "gold_title": "C", "topk_titles": ["A", "B", "C"]},
               {"question": "q2", "answers": [], "gold_title": "A", "topk_titles": ["A", "B", "C"]},
               {"question": "q3", "answers": [], "gold_title": "D", "topk_titles": ["A", "B", "C"]},
               {"question": "q4", "answers": [], "gold_title": "B", "topk_titles": ["C", "B"]},
               {"question": "q5", "answers": [], "gold_title": "A", "topk_titles": []}]
    for k_values in ([1, 2, 3, 5, 100], [100], [4]):
        what = f"5 questions with 0 to 3 candidates each, k_values={k_values}"
        actual = _call_recall(topk_retrieval_accuracy, results, k_values)
        _check_recall(actual, results, k_values, what)

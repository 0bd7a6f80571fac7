"""Hidden checks for notebook 06: ``has_answer(answers, text)`` and ``answer_recall``.

Both are checked against an implementation written here, independently of the solution
notebook: DPR's ``has_answer`` (``dpr/data/qa_validation.py``: Unicode NFD, its
``SimpleTokenizer`` of letter/number/mark runs and single other visible characters,
lower-cased, a contiguous token match in the passage text) computed by a different route, a
match of the joined token strings. ``autograder/tests/test_going_further.py`` proves it agrees
with the solution and, on real runs of the course's models, with ``ir_measures``' Success@k.
The ``answer_recall`` checks hand the student's function this ``has_answer`` (their own may be
wrong: that costs points in its own checks, not here).
"""

from __future__ import annotations

import random
import unicodedata

import regex

from autograder.checks import hidden_test
from autograder.checks.common import call_each
from autograder.judge.reference import reference
from autograder.judge.transport import patched_globals

SEPARATOR = "\x00"  # never a token: tokens are visible characters
TOKEN = regex.compile(r"[\p{L}\p{N}\p{M}]+|[^\p{Z}\p{C}]")
RECALL_ATOL = 1e-9


def _joined(text: str) -> str:
    tokens = TOKEN.findall(unicodedata.normalize("NFD", text).lower())
    return SEPARATOR + SEPARATOR.join(tokens) + SEPARATOR if tokens else ""


def expected_has_answer(answers, text) -> bool:
    """DPR's has_answer, by another route: the answer's joined tokens inside the text's."""
    joined = _joined(text)
    return any(_joined(answer) and _joined(answer) in joined for answer in answers)


def expected_answer_recall(results, KB, k_values) -> dict:
    accuracy = {}
    ranks = [next((r for r, j in enumerate(result["topk_indices"])
                   if expected_has_answer(result["answers"], KB[j]["text"])), None)
             for result in results]
    for k in k_values:
        accuracy[k] = 100.0 * sum(rank is not None and rank < k for rank in ranks) / len(results)
    accuracy["num_queries"] = len(results)
    return accuracy


def _kb():
    return reference("going_further")["KB"]


# --------------------------------------------------------------------------------------------
# has_answer


def _spans(rng: random.Random, text: str, count: int) -> list[str]:
    """Runs of whole tokens of ``text``, as they are written in it."""
    matches = list(TOKEN.finditer(unicodedata.normalize("NFC", text)))
    spans = []
    for _ in range(count):
        start = rng.randrange(len(matches))
        end = min(len(matches), start + rng.randint(1, 4))
        spans.append(unicodedata.normalize("NFC", text)[matches[start].start():matches[end - 1].end()])
    return spans


def _disguised(rng: random.Random, answer: str) -> str:
    """The same answer as a reader might type it: other case, other spacing."""
    answer = answer.upper() if rng.random() < 0.3 else answer.lower() if rng.random() < 0.5 else answer
    return "  ".join(answer.split(" ")) if rng.random() < 0.3 else answer


def _near_misses(rng: random.Random, text: str) -> list[str]:
    """Answers that share characters with ``text`` but are no run of its tokens."""
    words = [w for w in TOKEN.findall(text) if len(w) > 3 and w.isalpha()]
    if len(words) < 2:
        return []
    one, two = rng.sample(words, 2)
    return [one[:-1], one[1:], f"{two} {one}" if text.find(f"{two} {one}") < 0 else one + "x",
            one + two]


def _has_answer_cases(seed: int, count: int = 60) -> list[tuple[list[str], str]]:
    rng = random.Random(seed)
    KB = _kb()
    cases = []
    for _ in range(count):
        text = rng.choice(KB)["text"]
        other = rng.choice(KB)["text"]
        answers = rng.choice([
            [_disguised(rng, a) for a in _spans(rng, text, 1)],
            _near_misses(rng, text)[:2] + [_disguised(rng, a) for a in _spans(rng, text, 1)],
            _near_misses(rng, text),
            _spans(rng, other, 2),
        ])
        cases.append((answers, text))
    return cases


def _check_has_answer(has_answer, cases, hint: str) -> None:
    calls = [(list(answers), text) for answers, text in cases]  # copies: a case is not changed
    for (answers, text), got in zip(cases, call_each(has_answer, calls)):
        expected = expected_has_answer(answers, text)
        assert isinstance(got, bool), f"has_answer must return True or False, got {got!r}"
        assert got == expected, (f"has_answer({answers!r}, {text[:120]!r}...) returned {got}, "
                                 f"expected {expected}. {hint}")


@hidden_test("test_has_answer_reference", points=2, on="has_answer")
def has_answer_matches_reference(has_answer) -> None:
    """Agreement with DPR's rule on passages of the KB: spans of their tokens, typed in other
    case, and near misses."""
    _check_has_answer(has_answer, _has_answer_cases(seed=61),
                      "Compare lower-cased dpr_tokens, contiguously, for each answer.")


@hidden_test("test_has_answer_whole_tokens", points=1, on="has_answer")
def has_answer_whole_tokens(has_answer) -> None:
    """Only whole tokens, in order, count: no match inside a word, across a comma, or out of
    order."""
    text = "In 1987 Ana Lima-Costa moved to Porto, then to Braga; her son Bob followed."
    cases = [(["Bo"], text), (["198"], text), (["Lima"], text), (["Lima-Costa"], text),
             (["Porto then"], text), (["Porto, then"], text), (["Braga her"], text),
             (["Costa Lima"], text), (["son Bob followed"], text), (["Bob followed."], text),
             (["ana lima"], text), (["Porto,"], text), (["moved  to"], text)]
    _check_has_answer(has_answer, cases, "Match tokens, not characters: 'Bo' is not in "
                      "'Bob', and ',' and ';' are tokens of their own.")


@hidden_test("test_has_answer_normalised", points=1, on="has_answer")
def has_answer_normalised(has_answer) -> None:
    """Both sides in Unicode NFD: an accent typed as one character or as a letter and a mark
    is the same; an accented letter is not the plain one; several answers, the last matching."""
    nfc, nfd = "Zoë Brûlé was born in São Paulo.", unicodedata.normalize("NFD", "Zoë Brûlé was born in São Paulo.")
    cases = [(["São Paulo"], nfd), ([unicodedata.normalize("NFD", "São Paulo")], nfc),
             (["SÃO PAULO"], nfc), (["Sao Paulo"], nfc), (["brûlé"], nfd), (["Brule"], nfd),
             (["Lisbon", "Porto", "zoë"], nfc), (["Lisbon", "Porto"], nfc)]
    _check_has_answer(has_answer, cases, "Normalise both to NFD (dpr_tokens does) and lower-case "
                      "each token, and try every answer.")


# --------------------------------------------------------------------------------------------
# answer_recall


def _results(seed: int, count: int = 80) -> list[dict]:
    """Random candidate lists over the KB, with answers present in some candidates' texts, in
    some titles only, and in none."""
    rng = random.Random(seed)
    KB = _kb()
    results = []
    for number in range(count):
        indices = rng.sample(range(len(KB)), rng.choice([3, 10, 30]))
        kind = number % 4
        if kind == 0:    # a span of one candidate's text, somewhere in the list
            answers = _spans(rng, KB[rng.choice(indices)]["text"], 1)
        elif kind == 1:  # a candidate's title, which its text may not repeat
            answers = [KB[rng.choice(indices)]["title"]]
        elif kind == 2:  # two answers, only the second findable
            answers = ["Qwxz Vrrp", *_spans(rng, KB[rng.choice(indices)]["text"], 1)]
        else:            # the answer of a passage not retrieved
            answers = _spans(rng, rng.choice(KB)["text"], 1)
        results.append({"question": f"question {number}", "answers": answers,
                        "gold_title": KB[indices[0]]["title"], "topk_indices": indices,
                        "topk_titles": [KB[j]["title"] for j in indices]})
    return results


def _check_recall(answer_recall, results, KB, k_values, hint: str) -> None:
    has_answer = reference("going_further")["has_answer"]
    with patched_globals(answer_recall, has_answer=has_answer):
        got = answer_recall([dict(r) for r in results], KB, k_values=list(k_values))
    expected = expected_answer_recall(results, KB, k_values)
    assert isinstance(got, dict), f"answer_recall must return a dict, got {type(got).__name__}"
    assert got.get("num_queries") == len(results), \
        f"num_queries should be {len(results)}, got {got.get('num_queries')!r}"
    for k in k_values:
        assert k in got, f"no entry for k={k}: {sorted(got, key=str)}"
        assert abs(float(got[k]) - expected[k]) <= RECALL_ATOL, \
            f"answer recall@{k} should be {expected[k]:.2f} (percent), got {got[k]}. {hint}"


@hidden_test("test_answer_recall_reference", points=2, on="answer_recall")
def answer_recall_matches_reference(answer_recall) -> None:
    """Agreement with the reference on random candidate lists over the KB."""
    _check_recall(answer_recall, _results(seed=62), _kb(), (1, 3, 5, 10, 20, 100),
                  "A question counts at k when one of its first k candidates' texts has an answer.")


@hidden_test("test_answer_recall_text_only", points=1, on="answer_recall")
def answer_recall_text_only(answer_recall) -> None:
    """Only the candidates' texts count: an answer in a title, or in a passage that was not
    retrieved, is no hit."""
    KB = [{"title": "Vell", "text": "A small town by the river."},
          {"title": "Ada Lind", "text": "Ada Lind was born in Vell."},
          {"title": "Cy Marr", "text": "Cy Marr painted bridges."}]
    results = [{"question": "q1", "answers": ["Vell"], "gold_title": "Vell", "topk_indices": [0, 2],
                "topk_titles": ["Vell", "Cy Marr"]},
               {"question": "q2", "answers": ["Vell"], "gold_title": "Vell", "topk_indices": [0, 1],
                "topk_titles": ["Vell", "Ada Lind"]},
               {"question": "q3", "answers": ["Cy Marr"], "gold_title": "Cy Marr",
                "topk_indices": [1, 2], "topk_titles": ["Ada Lind", "Cy Marr"]}]
    _check_recall(answer_recall, results, KB, (1, 2, 5), "Look the candidates up in the KB "
                  "by topk_indices and search their 'text' only, not their titles.")


@hidden_test("test_answer_recall_short_lists", points=1, on="answer_recall")
def answer_recall_short_lists(answer_recall) -> None:
    """k beyond a short list, percent rather than fraction, and a question counted once."""
    results = _results(seed=63, count=24)
    for result in results:
        result["topk_indices"] = result["topk_indices"][:3]
        result["topk_titles"] = result["topk_titles"][:3]
    _check_recall(answer_recall, results, _kb(), (1, 2, 3, 50), "Percent (0-100); a list shorter "
                  "than k is searched to its end, and a question counts once however many hits.")


# --------------------------------------------------------------------------------------------
# mine_filtered_hard_negatives


def expected_filtered(data, KB, results, positive_scores, margin) -> list:
    """The first candidate under another title, without an answer in its text, scoring at most
    the gold passage's score minus the margin; None if none."""
    picks = []
    for example, result, positive in zip(data, results, positive_scores):
        gold_title = example["gold_context"]["title"]
        qualifying = [j for j, score in zip(result["topk_indices"], result["topk_values"])
                      if KB[j]["title"] != gold_title and score <= positive - margin
                      and not expected_has_answer(example["answers"], KB[j]["text"])]
        picks.append(KB[qualifying[0]] if qualifying else None)
    return picks


def _filtered_case(seed: int):
    """Part 5's random cases (twins, shared titles, quoted gold texts), with answers that some
    candidates under other titles contain, and gold scores around the candidates'."""
    from autograder.checks.hard_negatives import _random_case

    rng = random.Random(seed)
    data, KB, results = _random_case(seed)
    positive_scores = []
    for example, result in zip(data, results):
        others = [j for j in result["topk_indices"] if KB[j]["title"] != example["gold_context"]["title"]]
        if others and rng.random() < 0.5:  # an answer that a candidate under another title states
            example["answers"] = ["Qwxz Vrrp", *_spans(rng, KB[rng.choice(others)]["text"], 1)]
        values = result["topk_values"]
        positive_scores.append(round(rng.choice([values[0] + 1.0, values[len(values) // 2],
                                                 values[-1]]), 3))
    return data, KB, results, positive_scores


def _check_filtered(mine, data, KB, results, positive_scores, margin, hint: str) -> None:
    import copy

    has_answer = reference("going_further")["has_answer"]
    handed = copy.deepcopy(data)
    with patched_globals(mine, has_answer=has_answer):
        mined = mine(handed, KB, copy.deepcopy(results), list(positive_scores), margin)
    expected = expected_filtered(data, KB, results, positive_scores, margin)
    assert isinstance(mined, list) and len(mined) == len(data), \
        f"expected a list of {len(data)} examples, got {type(mined).__name__} of {len(mined) if isinstance(mined, list) else '?'}"
    for i, (got, example, want) in enumerate(zip(mined, data, expected)):
        assert isinstance(got, dict) and got.get("question") == example["question"], \
            f"example {i}: expected a copy of the input example with 'hard_negative' added"
        negative = got.get("hard_negative", "missing")
        assert negative == want, (
            f"example {i} (answers {example['answers']!r}, gold title "
            f"{example['gold_context']['title']!r}, gold score {positive_scores[i]}, margin "
            f"{margin}): expected hard_negative {want!r}, got {negative!r}. {hint}")


@hidden_test("test_filtered_reference", points=2, on="mine_filtered_hard_negatives")
def filtered_matches_reference(mine_filtered_hard_negatives) -> None:
    """Agreement with the reference on random retrieval results over a KB with duplicates,
    answers that other passages state, and gold scores above, among and below the candidates'."""
    data, KB, results, positive_scores = _filtered_case(seed=64)
    _check_filtered(mine_filtered_hard_negatives, data, KB, results, positive_scores, 0.5,
                    "Skip the gold title, candidates whose text has an answer, and candidates "
                    "scoring above the gold score minus the margin; take the first left.")


@hidden_test("test_filtered_answer_in_text", points=1, on="mine_filtered_hard_negatives")
def filtered_answer_in_text(mine_filtered_hard_negatives) -> None:
    """An answer in a candidate's text rules it out; one in its title only, or a word that
    merely contains the answer, does not; every answer of the example counts."""
    KB = [{"title": "Ada Lind", "text": "Ada Lind was born in Vell."},
          {"title": "Vell", "text": "A town on the river Orn."},
          {"title": "Bo Lind", "text": "Bo Lind was born in Vellmar."},
          {"title": "Cy Marr", "text": "Cy Marr met Ada Lind in Vell."},
          {"title": "Di Sola", "text": "Di Sola was born in Ust."}]
    data = [{"question": "where was ada lind born", "answers": ["Vell"], "gold_context": KB[0]},
            {"question": "in which town was ada lind born", "answers": ["Vell"], "gold_context": KB[0]},
            {"question": "who met ada lind", "answers": ["Dee Sola", "Cy Marr"], "gold_context": KB[4]}]
    results = [{"topk_indices": [3, 1], "topk_values": [5.0, 4.0]},
               {"topk_indices": [2, 4], "topk_values": [5.0, 4.0]},
               {"topk_indices": [3, 0], "topk_values": [5.0, 4.0]}]
    _check_filtered(mine_filtered_hard_negatives, data, KB, results, [9.0, 9.0, 9.0], 0.5,
                    "Test has_answer(example['answers'], passage['text']): the text, not the title.")


@hidden_test("test_filtered_margin", points=1, on="mine_filtered_hard_negatives")
def filtered_margin(mine_filtered_hard_negatives) -> None:
    """The margin: a candidate scoring exactly the gold score minus the margin qualifies, one a
    little above does not; with a negative gold score too; None when nothing qualifies."""
    KB = [{"title": f"T{i}", "text": f"Passage number {i}."} for i in range(5)]
    data = [{"question": f"q{i}", "answers": ["nowhere"], "gold_context": KB[4], "id": i}
            for i in range(3)]
    results = [{"topk_indices": [0, 1, 2], "topk_values": [2.01, 2.0, 1.0]},
               {"topk_indices": [0, 1], "topk_values": [-1.0, -1.5]},
               {"topk_indices": [4, 0], "topk_values": [3.0, 2.75]}]
    _check_filtered(mine_filtered_hard_negatives, data, KB, results, [2.5, -1.0, 3.0], 0.5,
                    "A candidate qualifies when score <= positive_score - margin (at most, "
                    "not strictly below).")

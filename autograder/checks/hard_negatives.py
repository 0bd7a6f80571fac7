"""Hidden checks for notebook 05: ``mine_hard_negatives(data, KB, results)``.

The inputs are built here: KBs with exact twins, several passages per title and a gold text
quoted under another title; retrieval results shaped like ``get_topk_candidates``'s; examples
whose gold passage is an equal copy of a KB passage, as ``build_kb`` makes them. The student's
function always gets its own deep copies, so an answer that modifies its input cannot change
what the reference or a later check sees. Passages are compared by value: the hard negative may
be the KB dict itself or an equal copy.
"""

from __future__ import annotations

import copy
import random

from autograder.checks import hidden_test
from autograder.judge.reference import reference

TRAP = ("The KB holds exact duplicates and several passages per title: skip every candidate whose "
        "KB title equals the gold title, not only the first (the original loop's trap).")
NAIVE_RULE = "the rule 'the 1st candidate unless it has the gold title, else the 2nd' picks it"
COPY_HINT = ("Build a new list of new dicts ({**example, 'hard_negative': ...}, dict(example) or "
             "copy.deepcopy(example)) and set the key on the copy.")


# ---------------------------------------------------------------------------------------------
# Building inputs


def _example(passage: dict, number: int) -> dict:
    return {"question": f"question {number} about {passage['title'].lower()}",
            "answers": [f"answer {number}"], "gold_context": dict(passage)}


def _result(example: dict, KB: list, indices: list, rng: random.Random) -> dict:
    """What ``get_topk_candidates`` returns for one question with these candidates."""
    values = sorted((round(rng.uniform(40.0, 90.0), 3) for _ in indices), reverse=True)
    return {"question": example["question"], "answers": list(example["answers"]),
            "gold_title": example["gold_context"]["title"],
            "topk_titles": [KB[j]["title"] for j in indices],
            "topk_indices": list(indices), "topk_values": values}


def _indices_by_title(KB: list) -> dict:
    by_title: dict = {}
    for j, passage in enumerate(KB):
        by_title.setdefault(passage["title"], []).append(j)
    return by_title


def _duplicate_rich_kb(rng: random.Random, num_titles: int) -> list:
    """Passages of ``num_titles`` articles of the reference KB (copies), plus another passage for
    every second article, an exact twin for every third, and four texts quoted under new titles."""
    by_title: dict = {}
    for passage in reference("hard_negatives")["KB"]:
        by_title.setdefault(passage["title"], []).append(passage)
    titles = rng.sample(sorted(by_title), min(num_titles, len(by_title)))
    KB = []
    for number, title in enumerate(titles):
        passages = [{"title": p["title"], "text": p["text"]} for p in by_title[title]]
        KB += passages
        if number % 2 == 0:
            KB.append({"title": title, "text": f"{title} also appears in chapter {number} of the survey."})
        if number % 3 == 0:
            KB.append(dict(rng.choice(passages)))
    for number in range(4):
        KB.append({"title": f"Quoted Passage {number}", "text": rng.choice(KB)["text"]})
    rng.shuffle(KB)
    return KB


def _random_case(seed: int, num_titles: int = 24, num_examples: int = 60):
    """(data, KB, results): the gold title in the first 1-4 ranks, nothing but the gold title,
    plain random candidates, and a gold text quoted under another title after the gold title."""
    rng = random.Random(seed)
    KB = _duplicate_rich_kb(rng, num_titles)
    by_title = _indices_by_title(KB)
    shared = sorted(t for t, js in by_title.items() if len(js) >= 2)
    quoted = [j for j, p in enumerate(KB) if p["title"].startswith("Quoted Passage ")]
    data, results = [], []
    q = quoted[0]
    for number in range(num_examples):
        kind = number % 5
        if kind == 4:  # the gold text again, under a title of its own, right after the gold title
            q = rng.choice(quoted)
            g = rng.choice([j for j, p in enumerate(KB) if p["text"] == KB[q]["text"] and j != q])
        elif kind in (0, 1, 3):
            g = rng.choice(by_title[rng.choice(shared)])
        else:
            g = rng.randrange(len(KB))
        example = _example(KB[g], number)
        if number % 7 == 0:
            example["id"] = f"ex-{seed}-{number}"
        gold_title = KB[g]["title"]
        same = by_title[gold_title][:]
        rng.shuffle(same)
        others = [j for j in range(len(KB)) if KB[j]["title"] != gold_title]
        if kind in (0, 3):  # the gold title (gold, twins, other passages) in the first ranks
            first = same[:rng.randint(1, min(4, len(same)))]
            rest = [j for j in range(len(KB)) if j not in first]
            indices = first + rng.sample(rest, rng.randint(1, 10 - len(first)))
        elif kind == 1:  # nothing qualifies: None
            indices = same[:rng.randint(2, len(same))]
        elif kind == 2:
            indices = rng.sample(range(len(KB)), rng.randint(2, 10))
        else:
            first = same[:rng.randint(1, min(3, len(same)))]
            rest = [j for j in others if j != q]
            indices = first + [q] + rng.sample(rest, rng.randint(0, 5))
        data.append(example)
        results.append(_result(example, KB, indices, rng))
    return data, KB, results


# ---------------------------------------------------------------------------------------------
# Explaining a difference


def _short(passage) -> str:
    if not isinstance(passage, dict):
        return repr(passage)[:80]
    text = str(passage.get("text", ""))
    return f"{{title: {passage.get('title')!r}, text: {text[:40]!r}{'...' if len(text) > 40 else ''}}}"


def _ranks(KB: list, result: dict) -> str:
    return "[" + ", ".join(f"{r}: KB[{j}] {KB[j]['title']!r}"
                           for r, j in enumerate(result["topk_indices"])) + "]"


def _first_other_rank(KB: list, result: dict, gold_title: str):
    return next((r for r, j in enumerate(result["topk_indices"]) if KB[j]["title"] != gold_title), None)


def _rank_of(passage: dict, KB: list, result: dict):
    return next((r for r, j in enumerate(result["topk_indices"]) if KB[j] == passage), None)


def _gold_title_message(got: dict, example: dict, KB: list, result: dict) -> str:
    gold = example["gold_context"]
    what = ("a duplicate of the gold passage (same title and text)" if got == gold
            else "another passage of the gold article")
    indices = result["topk_indices"]
    naive = indices[1] if KB[indices[0]]["title"] == gold["title"] and len(indices) > 1 else indices[0]
    rule = f"; {NAIVE_RULE}" if KB[naive] == got else ""
    rank = _rank_of(got, KB, result)
    before = [KB[j] for j in indices[:rank or 0]]
    if got != gold and all(p["text"] == gold["text"] for p in before):
        rule += ("; skipping only the candidates whose text (or whole passage) equals the gold "
                 "passage picks it, so compare titles")
    return f"picked a passage with the gold title {gold['title']!r}, {what}{rule}. {TRAP}"


def _explain(i: int, got, expected, example: dict, KB: list, result: dict) -> str:
    gold_title = example["gold_context"]["title"]
    r0 = _first_other_rank(KB, result, gold_title)
    want = ("None: no candidate has another title" if expected is None else
            f"the passage of the candidate at rank {r0}, KB[{result['topk_indices'][r0]}] "
            f"{_short(expected)}")
    where = f"example {i} (gold title {gold_title!r}; candidates by rank {_ranks(KB, result)})"
    head = f"{where}: hard_negative is {_short(got)}, expected {want}"
    if got is None:
        return head + ". Return None only when every candidate has the gold title."
    if isinstance(got, int):
        return head + ". Store the KB passage itself, KB[j], not its index j."
    if isinstance(got, str):
        return head + ". Store the KB passage itself (a dict with title and text), not a string."
    if not isinstance(got, dict):
        return head + f". Expected a dict (the KB passage), got {type(got).__name__}."
    if got.get("title") == gold_title:
        return head + ". It " + _gold_title_message(got, example, KB, result)
    rank = _rank_of(got, KB, result)
    if expected is not None and rank is not None and rank != r0:
        skipped = KB[result["topk_indices"][r0]]
        note = (" That candidate's text equals the gold text, but its title differs: compare "
                "titles, not texts or whole passages." if skipped["text"] == example["gold_context"]["text"]
                else "")
        return head + f". You picked the candidate at rank {rank}; take the highest-ranked " \
                      f"candidate whose title differs from the gold title.{note}"
    if rank is None and expected is not None and got.get("title") == expected.get("title"):
        return head + (". Right title, but another passage of that article: take KB[j] for the "
                       "candidate index j, not a passage looked up by its title.")
    if rank is None:
        return head + ". That passage is not among this question's candidates."
    return head + "."


# ---------------------------------------------------------------------------------------------
# The checks


def _call(mine_hard_negatives, data, KB, results):
    """Call on deep copies; return the output and the pristine inputs."""
    return mine_hard_negatives(copy.deepcopy(data), copy.deepcopy(KB), copy.deepcopy(results))


def _assert_sequence(mined, n: int) -> None:
    assert isinstance(mined, (list, tuple)), \
        f"mine_hard_negatives must return a list of examples, got {type(mined).__name__}"
    assert len(mined) == n, f"mine_hard_negatives returned {len(mined)} examples for {n} inputs"


def _without_key(example: dict, key: str = "hard_negative") -> dict:
    return {k: v for k, v in example.items() if k != key}


@hidden_test("test_mine_reference", points=2, on="mine_hard_negatives")
def mine_matches_reference(mine_hard_negatives) -> None:
    """Agreement with the reference on random retrieval results over a KB with duplicates.

    Random results over duplicate-rich KBs: every mined example equals the reference's."""
    reference_mine = reference("hard_negatives")["mine_hard_negatives"]
    for seed, num_titles, num_examples in ((50, 24, 60), (51, 12, 40)):
        data, KB, results = _random_case(seed, num_titles, num_examples)
        mined = _call(mine_hard_negatives, data, KB, results)
        expected = _call(reference_mine, data, KB, results)
        _assert_sequence(mined, len(data))
        for i, (item, want, example, result) in enumerate(zip(mined, expected, data, results)):
            assert isinstance(item, dict), f"mined example {i} is a {type(item).__name__}, not a dict"
            assert "hard_negative" in item, f"mined example {i} has no 'hard_negative' key: {sorted(item)}"
            if _without_key(item) != example:
                if any(_without_key(item) == other for other in data):
                    raise AssertionError(f"mined example {i} is a copy of another input example: "
                                         "keep the examples in the order of `data`")
                missing = sorted(set(example) - set(item))
                changed = sorted(k for k in example if k in item and item[k] != example[k])
                extra = sorted(set(item) - set(example) - {"hard_negative"})
                raise AssertionError(
                    f"mined example {i} is not a copy of data[{i}] plus 'hard_negative': "
                    f"missing keys {missing}, changed keys {changed}, extra keys {extra}")
            got = item["hard_negative"]
            if got != want["hard_negative"]:
                raise AssertionError(_explain(i, got, want["hard_negative"], example, KB, result))


def _plain_case():
    """Small inputs with nested and extra keys, one example with a hard negative already, and a
    1st candidate that never has the gold title (so only copying and mutation matter here)."""
    KB = [{"title": "Mira Hask", "text": "Mira Hask was born in Dunmere in 1871."},
          {"title": "Mira Hask", "text": "Mira Hask was born in Dunmere in 1871."},
          {"title": "Mira Hask", "text": "Hask wrote The Salt Road."},
          {"title": "Oren Hask", "text": "Oren Hask was born in Dunmere in 1868."},
          {"title": "Tova Pell", "text": "Tova Pell painted the harbour of Lisk."},
          {"title": "Ivo Brand", "text": "Ivo Brand built the bridge at Lisk."}]
    data = [
        {"question": "where was mira hask born", "answers": ["Dunmere"], "gold_context": dict(KB[0]),
         "id": "q0", "meta": {"source": "nq", "tags": ["person", "birthplace"]}},
        {"question": "what did mira hask write", "answers": ["The Salt Road"], "gold_context": dict(KB[2]),
         "id": "q1", "hard_negative": dict(KB[5]), "meta": {"source": "nq", "tags": []}},
        {"question": "who painted the harbour of lisk", "answers": ["Tova Pell"],
         "gold_context": dict(KB[4]), "id": "q2", "hard_negative": None},
        {"question": "who built the bridge at lisk", "answers": ["Ivo Brand", "Brand"],
         "gold_context": dict(KB[5]), "id": "q3", "meta": {"source": "nq", "tags": ["bridge"]}},
    ]
    rng = random.Random(55)
    candidates = [[3, 0, 1, 2], [3, 4, 2], [5, 4, 3, 0], [4, 5, 0, 1, 2]]
    return data, KB, [_result(ex, KB, c, rng) for ex, c in zip(data, candidates)]


@hidden_test("test_mine_no_mutation", points=1, on="mine_hard_negatives")
def mine_does_not_mutate(mine_hard_negatives) -> None:
    """A new list of new examples; the input is unchanged, other keys are kept.

    A new list of new dicts, in order, other keys kept; data, KB and results unchanged."""
    data, KB, results = _plain_case()
    before = copy.deepcopy((data, KB, results))
    originals = list(data)
    mined = mine_hard_negatives(data, KB, results)

    if len(data) != len(before[0]) or any(a is not b for a, b in zip(data, originals)):
        raise AssertionError(f"modified the input list `data` (now {len(data)} items, was "
                             f"{len(before[0])}). {COPY_HINT}")
    for i, (now, was) in enumerate(zip(data, before[0])):
        if now == was:
            continue
        if "hard_negative" in now and "hard_negative" not in was:
            raise AssertionError(f"modified the input example in place: data[{i}] gained a "
                                 f"'hard_negative' key. {COPY_HINT}")
        if "hard_negative" in was and now.get("hard_negative", object()) != was["hard_negative"]:
            raise AssertionError(
                f"modified the input example in place: data[{i}] already had a 'hard_negative' "
                f"({_short(was['hard_negative'])}) and it became {_short(now.get('hard_negative'))}. "
                f"{COPY_HINT}")
        changed = sorted(k for k in set(now) | set(was) if now.get(k, object()) != was.get(k, object()))
        raise AssertionError(f"modified the input example data[{i}] in place (keys {changed}). {COPY_HINT}")
    assert KB == before[1], "modified the KB (or a passage in it); it must stay as it was"
    assert results == before[2], "modified the retrieval results; they must stay as they were"

    assert mined is not data, f"returned the input list itself; return a new list. {COPY_HINT}"
    _assert_sequence(mined, len(data))
    for i, item in enumerate(mined):
        assert item is not originals[i], (
            f"mined[{i}] is the input example data[{i}] itself, not a new dict. {COPY_HINT}")
        assert isinstance(item, dict), f"mined[{i}] is a {type(item).__name__}, not a dict"
        assert "hard_negative" in item, f"mined[{i}] has no 'hard_negative' key: {sorted(item)}"
        rest, want = _without_key(item), _without_key(before[0][i])
        if rest != want:
            others = [k for k, ex in enumerate(before[0]) if _without_key(ex) == rest]
            if others:
                raise AssertionError(f"mined[{i}] is a copy of data[{others[0]}]: keep the "
                                     "examples in the order of `data`")
            missing = sorted(set(want) - set(rest))
            changed = sorted(k for k in want if k in rest and rest[k] != want[k])
            extra = sorted(set(rest) - set(want))
            raise AssertionError(f"mined[{i}] must keep data[{i}]'s other keys as they are: missing "
                                 f"{missing}, changed {changed}, extra {extra}")


def _gold_article_case():
    """Articles with twins and several passages; the first 1, 2 or 3 (or 4) candidates carry the
    gold title (the gold passage, its twin or a sibling), then come passages of other titles."""
    KB = [{"title": "Sela Varn", "text": "Sela Varn was born in Orlisk in 1902."},         # 0
          {"title": "Sela Varn", "text": "Sela Varn was born in Orlisk in 1902."},         # 1 twin of 0
          {"title": "Sela Varn", "text": "Varn married the engineer Tomas Edd."},          # 2
          {"title": "Sela Varn", "text": "Varn's first novel, Grey Water, sold well."},    # 3
          {"title": "Tomas Edd", "text": "Tomas Edd was born in Orlisk in 1899."},         # 4
          {"title": "Pia Varn", "text": "Pia Varn, Sela's sister, was born in 1905."},     # 5
          {"title": "Lund Kroe", "text": "Lund Kroe founded the Orlisk observatory."},     # 6
          {"title": "Lund Kroe", "text": "Lund Kroe founded the Orlisk observatory."},     # 7 twin of 6
          {"title": "Lund Kroe", "text": "Kroe catalogued two hundred comets."},           # 8
          {"title": "Ansel Moor", "text": "Ansel Moor mapped the Orlisk coast."}]          # 9
    cases = [(0, [1, 4, 5]),           # 1 gold title first: the twin
             (0, [0, 1, 4, 6]),        # 2: the gold passage and its twin
             (0, [1, 2, 5, 9]),        # 2: the twin, then another passage of the article
             (0, [2, 1, 0, 9, 4]),     # 3: a sibling, the twin, the gold passage
             (2, [0, 1, 2, 4]),        # 3: a sibling is gold; the two birth passages lead
             (3, [2, 3, 5, 0]),        # 2, and a gold-title passage again after the answer
             (6, [7, 8, 6, 9, 2]),     # 3
             (8, [6, 7, 0, 1]),        # 2, then passages of another article with a twin
             (0, [3, 2, 1, 0, 6])]     # 4
    rng = random.Random(56)
    data = [_example(KB[g], n) for n, (g, _) in enumerate(cases)]
    results = [_result(ex, KB, indices, rng) for ex, (_, indices) in zip(data, cases)]
    return data, KB, results


@hidden_test("test_mine_gold_duplicates", points=1, on="mine_hard_negatives")
def mine_skips_gold_title(mine_hard_negatives) -> None:
    """Passages with the gold title are never chosen, however highly they rank.

    Gold-title passages (twins of the gold passage, other passages of its article) never get
    chosen however highly they rank, and a candidate with another title always is."""
    data, KB, results = _gold_article_case()
    mined = _call(mine_hard_negatives, data, KB, results)
    _assert_sequence(mined, len(data))
    for i, (item, example, result) in enumerate(zip(mined, data, results)):
        assert isinstance(item, dict) and "hard_negative" in item, \
            f"mined example {i} must be a dict with a 'hard_negative' key, got {_short(item)}"
        got = item["hard_negative"]
        gold_title = example["gold_context"]["title"]
        where = f"example {i} (gold title {gold_title!r}; candidates by rank {_ranks(KB, result)})"
        if got is None:
            r0 = _first_other_rank(KB, result, gold_title)
            raise AssertionError(f"{where}: hard_negative is None, but the candidate at rank {r0} "
                                 f"has another title, {KB[result['topk_indices'][r0]]['title']!r}")
        if not isinstance(got, dict) or "title" not in got:
            raise AssertionError(f"{where}: hard_negative must be a KB passage (a dict with title "
                                 f"and text), got {_short(got)}")
        if got["title"] == gold_title:
            raise AssertionError(f"{where}: hard_negative {_short(got)} " +
                                 _gold_title_message(got, example, KB, result))

"""The synthetic NQ-shaped data of the tiny profile: the committed files in data/synthetic are
exactly what the generator writes, and the data has the properties retrieval practice needs
(see the docstring of dpr_course/synthetic.py)."""

from __future__ import annotations

import collections
import itertools
import json
import math
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dpr_course import synthetic
from dpr_course.models import load_tokenizer
from dpr_course.profiles import PROFILES

DATA_DIR = synthetic.DEFAULT_OUT
FILES = ("nq-train.json", "nq-val.json")
REPO_ROOT = Path(__file__).resolve().parent.parent
PERSON_FIRST_NAMES = set(synthetic.FIRST_NAMES["f"] + synthetic.FIRST_NAMES["m"])


def load(name: str) -> list:
    with open(DATA_DIR / name, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def train() -> list:
    return load("nq-train.json")


@pytest.fixture(scope="module")
def val() -> list:
    return load("nq-val.json")


@pytest.fixture(scope="module")
def records(train, val) -> list:
    return train + val


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(PROFILES["tiny"])


def words(text: str) -> list:
    return re.findall(r"[a-z0-9']+", text.lower())


def sentences(text: str) -> list:
    return re.split(r"(?<=[.;])\s+", text)


def is_person(title: str) -> bool:
    parts = title.split()
    return len(parts) == 2 and parts[0] in PERSON_FIRST_NAMES


# --- determinism ----------------------------------------------------------------------------


def test_regenerating_gives_the_committed_bytes(tmp_path):
    # A separate process with another string-hash seed: output that depended on set order or
    # on hash() would differ here.
    env = dict(os.environ, PYTHONHASHSEED="12345")
    subprocess.run([sys.executable, "-m", "dpr_course.synthetic", "--out", str(tmp_path)],
                   check=True, cwd=REPO_ROOT, env=env, capture_output=True)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), (
            f"{name} differs from the generator's output: run python -m dpr_course.synthetic")


def test_generator_leaves_the_global_random_state_alone():
    random.seed(7)
    state = random.getstate()
    train, val = synthetic.make_records()
    assert random.getstate() == state
    assert len(train) == synthetic.NUM_TRAIN and len(val) == synthetic.NUM_VAL


def test_files_are_written_as_the_course_writes_json(train, val):
    for name, data in zip(FILES, (train, val)):
        expected = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
        assert (DATA_DIR / name).read_text(encoding="utf-8") == expected


def test_default_output_folder_is_data_synthetic():
    assert DATA_DIR == REPO_ROOT / "data" / "synthetic"
    assert (DATA_DIR / "README.md").is_file()


# --- format and sizes -----------------------------------------------------------------------


def test_records_have_the_nq_toy_format(records):
    for record in records:
        assert set(record) == {"question", "answers", "gold_context"}
        assert isinstance(record["question"], str) and record["question"]
        assert isinstance(record["answers"], list) and record["answers"]
        assert all(isinstance(answer, str) and answer for answer in record["answers"])
        assert set(record["gold_context"]) == {"title", "text"}
        assert record["gold_context"]["title"].strip()
        assert record["gold_context"]["text"].strip()


def test_sizes(train, val):
    assert len(train) >= 2000 and len(val) >= 1000
    assert (len(train), len(val)) == (synthetic.NUM_TRAIN, synthetic.NUM_VAL)


def test_questions_are_unique_and_train_val_disjoint(train, val):
    train_questions = [r["question"] for r in train]
    val_questions = [r["question"] for r in val]
    assert len(set(train_questions)) == len(train_questions)
    assert len(set(val_questions)) == len(val_questions)
    assert not set(train_questions) & set(val_questions)


def test_passage_lengths_in_word_pieces(records, tokenizer):
    lengths = [len(tokenizer(r["gold_context"]["title"], r["gold_context"]["text"])["input_ids"])
               for r in records]
    assert min(lengths) >= 40 and max(lengths) <= 130
    within = sum(55 <= n <= 115 for n in lengths) / len(lengths)
    assert within >= 0.95, f"only {within:.1%} of passages have 55-115 word pieces"


# --- questions and answers ------------------------------------------------------------------


def test_every_answer_is_in_its_gold_text(records):
    for record in records:
        for answer in record["answers"]:
            assert answer in record["gold_context"]["text"], record


def test_questions_are_lower_case_like_nq(records):
    for record in records:
        question = record["question"]
        assert question == question.lower() and not question.endswith("?"), question


def test_questions_do_not_contain_the_answer(records):
    for record in records:
        for answer in record["answers"]:
            assert answer.lower() not in record["question"], record


def longest_shared_run(a: list, b: list) -> int:
    """The length of the longest run of words that occurs in both ``a`` and ``b``."""
    longest = 0
    for n in range(1, len(a) + 1):
        runs = {tuple(b[i:i + n]) for i in range(len(b))}
        if not any(tuple(a[i:i + n]) in runs for i in range(len(a) - n + 1)):
            break
        longest = n
    return longest


def test_questions_paraphrase_the_answer_sentence(records):
    """The question never holds the sentence with the answer. Apart from names (of the entity,
    a prize, a book), it shares at most a short run of words with it ("history book by"), and
    usually not even two words in a row."""
    paraphrased = 0
    for record in records:
        question, context = record["question"], record["gold_context"]
        capitalised = re.findall(r"\b[A-Z][a-z]+", f"{context['title']} {context['text']}")
        names = {w.lower() for w in capitalised}
        names |= {"the", "a", "of", "in"}
        question_words = [w for w in words(question) if w not in names]
        answer_sentences = [s for s in sentences(context["text"]) if record["answers"][0] in s]
        assert answer_sentences, record
        longest = 0
        for sentence in answer_sentences:
            assert sentence.lower().rstrip(".;") not in question, record
            sentence_words = [w for w in words(sentence) if w not in names]
            longest = max(longest, longest_shared_run(question_words, sentence_words))
        assert longest <= 3, record
        paraphrased += longest <= 1
    assert paraphrased / len(records) >= 0.85


# --- entities, confusers and near-duplicates ------------------------------------------------


def test_some_passages_answer_two_questions(records):
    """As in NQ, two questions can share a gold passage, so the KB holds exact duplicates."""
    answers_by_passage = collections.defaultdict(set)
    for r in records:
        answers_by_passage[(r["gold_context"]["title"], r["gold_context"]["text"])].add(r["answers"][0])
    shared = [answers for answers in answers_by_passage.values() if len(answers) >= 2]
    assert len(shared) >= 200, "some passages must be the gold context of two questions"


def test_titles_have_several_passages(records):
    per_title = collections.Counter(r["gold_context"]["title"] for r in records)
    assert sum(count >= 2 for count in per_title.values()) >= 500
    in_shared_titles = sum(per_title[r["gold_context"]["title"]] >= 2 for r in records)
    assert in_shared_titles / len(records) >= 0.8


def test_family_members_share_surnames(records):
    people = {r["gold_context"]["title"] for r in records if is_person(r["gold_context"]["title"])}
    by_surname = collections.Counter(name.split()[1] for name in people)
    assert sum(count >= 2 for count in by_surname.values()) >= 80


def test_similarly_named_entities(records):
    """Towns lend their names to buildings, firms and festivals: "Kessat", "Kessat Lighthouse",
    "Kessat Opera House"."""
    titles = {r["gold_context"]["title"] for r in records}
    by_first_word = collections.Counter(t.split()[0] for t in titles if not is_person(t)
                                        and not t.startswith(("The ", "A ", "An ")))
    assert sum(count >= 2 for count in by_first_word.values()) >= 40


def test_places_and_years_are_shared(records):
    towns = sorted({r["gold_context"]["title"] for r in records
                    if len(r["gold_context"]["title"].split()) == 1})
    titles_mentioning = collections.defaultdict(set)
    for record in records:
        text = record["gold_context"]["text"]
        for token in set(re.findall(r"\b(?:1[0-9]{3}|20[0-2][0-9])\b|[A-Z][a-z]+", text)):
            titles_mentioning[token].add(record["gold_context"]["title"])
    assert sum(len(titles_mentioning[t]) >= 5 for t in towns) >= 50
    years = [t for t in titles_mentioning if t.isdigit()]
    assert sum(len(titles_mentioning[y]) >= 3 for y in years) >= 100


def name_key(title: str) -> str:
    """What similarly named entities share: a person's surname, else the first word of the
    title ("Kessat" for Kessat, Kessat Lighthouse, Kessat Opera House). Books, whose titles
    start with "The" or "A", are keyed by their whole title."""
    parts = title.split()
    if is_person(title):
        return parts[1]
    return title if parts[0] in ("The", "A", "An") else parts[0]


def test_near_duplicate_passages_with_different_answers(records):
    """Passages that read almost alike but answer different questions: about the same entity
    (two novels of one writer: the same passage but for the sentences with the facts), and
    about similarly named ones (two buildings of one town, written alike: high word overlap)."""
    groups = collections.defaultdict(list)
    for index, record in enumerate(records):
        groups[name_key(record["gold_context"]["title"])].append(index)
    bags = [set(words(r["gold_context"]["text"])) for r in records]
    nearly_same = similar_entities = 0
    for group in groups.values():
        for i, j in itertools.combinations(group, 2):
            a, b = records[i], records[j]
            if a["answers"] == b["answers"]:
                continue
            if a["gold_context"]["title"] == b["gold_context"]["title"]:
                a_sentences = set(sentences(a["gold_context"]["text"]))
                b_sentences = set(sentences(b["gold_context"]["text"]))
                shared = a_sentences & b_sentences
                nearly_same += (len(shared) >= 3 and len(a_sentences - shared) <= 2
                                and len(b_sentences - shared) <= 2)
            else:
                overlap = len(bags[i] & bags[j]) / len(bags[i] | bags[j])
                similar_entities += overlap >= 0.6
    assert nearly_same >= 50
    assert similar_entities >= 40


# --- retrieval difficulty -------------------------------------------------------------------


def bm25_recall_at_1(train: list, val: list, k1: float = 1.5, b: float = 0.75) -> float:
    """Okapi BM25 over the course's toy knowledge base: 500 training and 1,000 validation
    examples sampled with random.Random(42), their gold passages (title and text) as the
    documents, the questions as queries, a hit when the top passage has the gold title."""
    rng = random.Random(42)
    sampled_train = rng.sample(train, 500)
    queries = rng.sample(val, 1000)
    kb = [r["gold_context"] for r in sampled_train + queries]
    docs = [collections.Counter(re.findall(r"\w+", f"{p['title']} {p['text']}".lower()))
            for p in kb]
    lengths = [sum(doc.values()) for doc in docs]
    average = sum(lengths) / len(lengths)
    frequency = collections.Counter(w for doc in docs for w in doc)
    idf = {w: math.log(1 + (len(docs) - n + 0.5) / (n + 0.5)) for w, n in frequency.items()}
    postings = collections.defaultdict(list)
    for i, doc in enumerate(docs):
        for w, tf in doc.items():
            postings[w].append((i, tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[i] / average))))
    hits = 0
    for record in queries:
        scores = collections.Counter()
        for w in re.findall(r"\w+", record["question"].lower()):
            for i, weight in postings.get(w, ()):
                scores[i] += idf[w] * weight
        best = max(scores, key=lambda i: (scores[i], -i))
        hits += kb[best]["title"] == record["gold_context"]["title"]
    return hits / len(queries)


def test_bm25_finds_the_entity_often_but_not_always(train, val):
    """Too easy (BM25 R@1 above 80%) and there is nothing left for a dual encoder to learn."""
    recall = bm25_recall_at_1(train, val)
    assert 0.40 <= recall <= 0.75, recall

"""The notebooks keep the original's names, point students at the right places, and what
they claim is true: each claim that can be computed is computed here."""

import re

import pytest

from autograder.course import notebooks
from autograder.course.paths import COURSE_ROOT, RELEASE_DIR, SOLUTIONS_DIR
from autograder.course.parts import PARTS, notebook_names
from autograder.judge.reference import reference

PART_01_NAMES = PARTS[0].names


def test_part_01_defines_the_original_global_names():
    namespace = reference("encoder")
    assert PART_01_NAMES <= set(namespace)
    assert len(namespace["KB"]) == 1500
    assert (len(namespace["data_train"]), len(namespace["data_val"])) == (500, 1000)
    assert namespace["MAX_INPUT_LENGTH"] == namespace["PROFILE"].max_input_length
    model = namespace["make_distilbert_dual_encoder"]()
    assert model.query_encoder is not model.passage_encoder
    tied = namespace["make_distilbert_dual_encoder"](tie_encoders=True)
    assert tied.query_encoder is tied.passage_encoder


def test_each_part_defines_its_names_and_every_earlier_parts_names():
    wanted = set()
    for part in PARTS:  # the original's global names (GUIDE), by the part that introduces them
        wanted |= part.names
        missing = wanted - set(reference(part.notebook))
        assert not missing, f"{part.notebook} lacks {sorted(missing)}"


def test_colab_badges_and_the_first_cell_follow_the_course_setting():
    """COURSE_REPO, COURSE_BRANCH and every badge come from course.toml, never typed in."""
    from autograder.course import home

    where = home.public()
    readme = (COURSE_ROOT / "README.md").read_text(encoding="utf-8")
    for name in notebook_names():
        notebook = notebooks.read(RELEASE_DIR / f"{name}.ipynb")
        text = "\n".join(cell.source for cell in notebook.cells)
        assert set(re.findall(r'^COURSE_REPO = "(.*)"', text, re.M)) == {where.repository}
        assert set(re.findall(r'^COURSE_BRANCH = "(.*)"', text, re.M)) == {where.branch}
        assert where.badge(name) in notebook.cells[0].source, f"{name}: its own Colab badge"
        assert where.badge(name) in readme, f"README lacks the Colab badge of {name}"
    assert home.stale() == []


def test_a_changed_course_setting_reaches_every_notebook_and_the_readme(tmp_path, monkeypatch):
    import shutil

    from autograder.course import home

    setting = tmp_path / "course.toml"
    setting.write_text('[public]\nrepository = "https://github.com/elsewhere/dpr"\nbranch = "spring"\n')
    solutions = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS_DIR, solutions)
    shutil.copy(COURSE_ROOT / "README.md", tmp_path / "README.md")
    monkeypatch.setattr(home, "SETTING", setting)
    monkeypatch.setattr(home, "SOLUTIONS_DIR", solutions)
    monkeypatch.setattr(home, "README", tmp_path / "README.md")
    assert len(home.stale()) == len(notebook_names()) + 1
    home.apply()
    assert home.stale() == []
    text = (solutions / "03_nce_loss.ipynb").read_text()
    assert 'COURSE_REPO = \\"https://github.com/elsewhere/dpr\\"' in text  # also in provided cells
    assert text.count("elsewhere/dpr") == 2, "the first cell in part 1's provided cell, and the badge"
    assert "github/elsewhere/dpr/blob/spring/notebooks/03_nce_loss.ipynb" in text
    assert "elsewhere/dpr/blob/spring" in (tmp_path / "README.md").read_text()


def test_no_notebook_mounts_drive_or_prints_a_token():
    for path in COURSE_ROOT.glob("*/dual_encoder/*.ipynb"):
        text = path.read_text(encoding="utf-8")
        assert "drive.mount" not in text and "userdata.get" not in text, path
        assert not re.search(r"hf_[A-Za-z0-9]{30,}", text), path


def test_loading_the_reference_leaves_the_random_state_alone():
    import random

    import numpy as np
    import torch

    expected = (random.Random(7).random(), np.random.RandomState(7).rand(),
                torch.rand(1, generator=torch.Generator().manual_seed(7)).item())
    reference.cache_clear()
    random.seed(7)
    np.random.seed(7)
    torch.manual_seed(7)
    reference("evaluation")  # the solution calls set_seed(42) along the way
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


# --------------------------------------------------------------------------------------------
# What the notebooks claim, computed. Cells that are not run by `reference` (free cells: they
# train, or need a trained model) are run here on the reference's namespace with stand-ins.

def _cell(notebook_name: str, marker: str) -> str:
    """The source of the one solution cell of `notebook_name` that contains `marker`."""
    cells = [cell.source for cell in notebooks.read(SOLUTIONS_DIR / f"{notebook_name}.ipynb").cells
             if marker in cell.source]
    assert len(cells) == 1, f"{notebook_name}: {len(cells)} cells contain {marker!r}"
    return cells[0]


def _run_cell(notebook_name: str, marker: str, namespace: dict) -> dict:
    exec(compile(_cell(notebook_name, marker), f"{notebook_name}[{marker}]", "exec"), namespace)  # noqa: S102
    return namespace


def _release_text(name: str) -> str:
    return "\n".join(cell.source for cell in notebooks.read(RELEASE_DIR / f"{name}.ipynb").cells)


def test_every_notebook_counts_the_parts_there_are():
    words = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
    table = notebooks.read(RELEASE_DIR / f"{PARTS[0].notebook}.ipynb").cells[0].source
    rows = re.findall(r"^\| (\d+) \|", table, re.M)
    assert rows == [str(part.number) for part in PARTS], f"part 1's table of parts: rows {rows}"
    for name in notebook_names():
        for word in re.findall(r"\b(?:all|the) (\w+) parts\b", _release_text(name), re.I):
            assert words.get(word.lower(), len(PARTS)) == len(PARTS), f"{name}: '{word} parts'"


def test_the_chance_level_part_3_quotes_is_right():
    """100 passages drawn at random from the KB hold the gold passage, and the gold title (in the
    tiny profile's KB), as often as part 3 says."""
    from math import comb

    namespace = reference("evaluation")
    KB, data_val = namespace["KB"], namespace["data_val"]
    quoted = re.search(r"chance[^.]*?about (\d+)%", _release_text("03_nce_loss"))
    assert quoted, "part 3 states the chance level"
    assert int(quoted.group(1)) == round(100 * 100 / len(KB)), "100 of the KB's passages, one gold"
    titles = [p["title"] for p in KB]
    chance = [1 - comb(len(KB) - titles.count(e["gold_context"]["title"]), 100) / comb(len(KB), 100)
              for e in data_val]
    by_title = re.search(r"tiny profile's KB[^.]*?about (\d+)%", _release_text("03_nce_loss"))
    assert by_title and int(by_title.group(1)) == round(100 * sum(chance) / len(chance)), "by title"
    assert "little better than chance" not in _release_text("03_nce_loss")


def test_part_6_chooses_on_the_dev_half_and_reports_on_the_test_half():
    calls = []
    namespace = dict(reference("going_further"), SEED=42,
                     train_nce=lambda model, data_train, data_val, KB, **options: calls.append(data_val))
    _run_cell("06_going_further", "def train(model, data", namespace)
    namespace["train"](None, namespace["data_train"], 8, 1, 1e-4)
    data_val, dev, test = namespace["data_val"], namespace["dev"], namespace["test"]
    assert calls == [data_val[dev]], "each training run's best epoch is chosen on the dev half"
    assert set(range(len(data_val))[dev]).isdisjoint(range(len(data_val))[test])
    assert len(data_val[dev]) + len(data_val[test]) == len(data_val)
    table = _cell("06_going_further", "results_table = {}")
    assert "results[test]" in table and "[dev]" not in table, "the table reports the test half"
    hybrid = _cell("06_going_further", "best_weight = ")
    assert "dense[dev]" in hybrid and "dense[test]" not in hybrid, "the hybrid's weight: dev half"


def test_every_mined_negative_but_part_5s_contains_no_answer():
    """BM25 negatives as DPR built them, and the same answer filter on the self-mined ones."""
    from dpr_course.baselines import bm25_topk_candidates

    solution = reference("going_further")
    data, KB, has_answer = solution["data_train"], solution["KB"], solution["has_answer"]
    bm25 = bm25_topk_candidates(KB, data, num_candidates=100)
    namespace = dict(solution, train_results=bm25,  # a stand-in for the trained model's results
                     train_gold_scores=[0.0] * len(data), MARGIN=-1e9)
    negatives = _run_cell("06_going_further", "no_margin = ", namespace)["negatives"]
    assert len(negatives) == 4
    for name, mined in negatives.items():
        with_answer = sum(has_answer(e["answers"], e["hard_negative"]["text"]) for e in mined if e["hard_negative"])
        assert all(e["hard_negative"] is None or e["hard_negative"]["title"] != e["gold_context"]["title"]
                   for e in mined), name
        if name != "self-mined (part 5)":
            assert with_answer == 0, f"{name}: {with_answer} negatives contain an answer"
    for example, result, mined in zip(data, bm25, negatives["BM25, no answer (DPR)"]):
        first = next((KB[j] for j in result["topk_indices"] if KB[j]["title"] != example["gold_context"]["title"]
                      and not has_answer(example["answers"], KB[j]["text"])), None)
        assert mined["hard_negative"] == first, "BM25's best passage with another title and no answer"


def test_grad_cache_is_checked_with_dropout_and_fails_without_the_replay():
    import pytest

    namespace = dict(reference("going_further"), SEED=42)
    _run_cell("06_going_further", "def grad_cache_backward(", namespace)
    data, KB = namespace["data_train"], namespace["KB"]
    negatives = {"self-mined (part 5)": [dict(e, hard_negative=KB[(i * 7) % len(KB)]) for i, e in enumerate(data)]}
    namespace["negatives"] = negatives
    _run_cell("06_going_further", "def check_grad_cache(", namespace)  # asserts as it goes
    model = namespace["with_dropout"](namespace["make_distilbert_dual_encoder"]())
    assert {m.p for m in model.modules() if type(m).__name__ == "Dropout"} == {0.1}
    namespace["restore_random_state"] = lambda state, device: None  # forget the replay
    with pytest.raises(AssertionError, match="did not re-compute"):
        namespace["check_grad_cache"](namespace["check_batch"])


def test_the_faiss_helpers_keep_inner_product_order_and_count_twins_as_found():
    import faiss
    import numpy as np

    namespace = _run_cell("06_going_further", "def inner_product_as_l2(", dict(reference("going_further")))
    rng = np.random.default_rng(0)
    passages = (rng.normal(size=(300, 16)) * rng.uniform(0.2, 3, size=(300, 1))).astype("float32")
    questions = rng.normal(size=(20, 16)).astype("float32")
    flat = faiss.IndexFlatIP(16)
    flat.add(passages)
    _, by_inner_product = flat.search(questions, 10)
    passages_l2, questions_l2 = namespace["inner_product_as_l2"](passages, questions)
    l2 = faiss.IndexFlatL2(17)
    l2.add(passages_l2)
    _, by_l2 = l2.search(questions_l2, 10)
    assert (by_l2 == by_inner_product).all()
    ivf_lists = namespace["ivf_lists"]
    for n in (1500, 100_000):
        assert 39 * ivf_lists(n) <= n and ivf_lists(n) <= 4 * n ** 0.5
    twins = [{"title": "A", "text": "x"}, {"title": "A", "text": "x"}, {"title": "B", "text": "y"}]
    recall = namespace["recall_against_exact"]
    assert recall([[1, 2]], [[0, 2]], twins) == 1.0 and recall([[2, -1]], [[0, 2]], twins) == 0.5


def test_has_answer_differs_from_dpr_only_as_the_notebook_says():
    """DPR's loop (`has_answer` in its `dpr/data/qa_validation.py`) compares token lists; an
    answer without tokens is matched by every passage. Ours matches nothing, as part 6 says."""
    has_answer, tokens = reference("going_further")["has_answer"], reference("going_further")["dpr_tokens"]

    def dpr_has_answer(answers, text):
        words = [t.lower() for t in tokens(text)]
        for answer in answers:
            answer = [t.lower() for t in tokens(answer)]
            if any(answer == words[i:i + len(answer)] for i in range(len(words) - len(answer) + 1)):
                return True
        return False

    from autograder.checks import going_further as checks

    for answers, text in checks._has_answer_cases(seed=61):
        assert has_answer(answers, text) == dpr_has_answer(answers, text)
    for blank in ("", "  "):
        assert dpr_has_answer([blank], "any passage") and not has_answer([blank], "any passage")
    assert "differ from DPR" in _release_text("06_going_further")


def test_every_notebook_ends_with_what_differs_from_the_original():
    for name in notebook_names():
        last = notebooks.read(RELEASE_DIR / f"{name}.ipynb").cells[-1]
        assert last.cell_type == "markdown" and \
            last.source.startswith("## What differs from the original assignment, and why"), name


def test_build_writes_the_settings_table_into_the_settings_page(tmp_path, monkeypatch):
    """docs/settings.md's table is the settings table's (autograder/config.py): a page whose
    table was edited by hand is stale, and build writes it back."""
    from autograder import config
    from autograder.course import home

    page = tmp_path / "settings.md"
    text = home.SETTINGS_PAGE.read_text(encoding="utf-8")
    assert config.markdown_table() in text
    page.write_text(text.replace("DPR_CELL_TIMEOUT", "DPR_CELL_TIMEOUTS"), encoding="utf-8")
    monkeypatch.setattr(home, "SETTINGS_PAGE", page)
    assert home.stale() == [str(page)]
    assert home.apply() == [str(page)]
    assert page.read_text(encoding="utf-8") == text
    page.write_text("no markers here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lacks the markers <!-- settings"):
        home.stale()

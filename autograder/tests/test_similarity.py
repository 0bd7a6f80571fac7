"""The similarity report: disguised copies rank above every pair of honest, different answers."""

import ast
import csv
import shutil

import pytest

from autograder.commands import similarity
from autograder.course import notebooks
from autograder.course.paths import ASSIGNMENT, SAMPLE_SUBMISSIONS


class _Rename(ast.NodeTransformer):
    def __init__(self, names):
        self.names = names

    def visit_Name(self, node):
        node.id = self.names.get(node.id, node.id)
        return node

    def visit_arg(self, node):
        node.arg = self.names.get(node.arg, node.arg)
        return node

    def visit_FunctionDef(self, node):  # a nested helper
        node.name = self.names.get(node.name, node.name)
        return self.generic_visit(node)

    def visit_ExceptHandler(self, node):
        node.name = node.name and self.names.get(node.name, node.name)
        return self.generic_visit(node)


def _names(statement, kind):
    return {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, kind)}


def _swap_independent(body) -> bool:
    """Swap the first two adjacent assignments where neither uses what the other assigns."""
    for i in range(len(body) - 1):
        a, b = body[i], body[i + 1]
        if not (isinstance(a, ast.Assign) and isinstance(b, ast.Assign)):
            continue
        written_a, written_b = _names(a, ast.Store), _names(b, ast.Store)
        used_a, used_b = written_a | _names(a, ast.Load), written_b | _names(b, ast.Load)
        if not (written_a & used_b or written_b & used_a):
            body[i], body[i + 1] = b, a
            return True
    return any(_swap_independent(getattr(s, "body", [])) for s in body if hasattr(s, "body"))


def disguise(function_source: str) -> tuple[str, bool]:
    """What a student hiding a copy does: every local name renamed, two independent lines
    swapped, and (through ast.unparse) comments gone and the layout redone."""
    tree = ast.parse(function_source)
    function = tree.body[0]
    imported = {(a.asname or a.name).split(".")[0] for n in ast.walk(function)
                if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    local = similarity._bound_names(function) - imported
    tree = _Rename({name: f"my_{name}_v2" for name in local}).visit(tree)
    swapped = _swap_independent(tree.body[0].body)
    return ast.unparse(tree), swapped


@pytest.fixture(scope="module")
def class_with_copies(tmp_path_factory):
    """The samples, plus per graded function and distinct answer a disguised copy of it."""
    folder = tmp_path_factory.mktemp("class")
    for student in SAMPLE_SUBMISSIONS.iterdir():
        shutil.copytree(student, folder / student.name)
    copies, swapped = [], 0
    for function, answers in similarity.class_answers(folder).items():
        distinct = {}
        for answer in answers:
            distinct.setdefault(answer.source.strip(), answer)
        for number, original in enumerate(distinct.values()):
            copy_id = f"copy_{function.replace('.', '_')}_{number}"
            source, did_swap = disguise(_dedented(original.source))
            swapped += did_swap
            _write_copy(folder, original.student_id, copy_id, function, original.source, source)
            copies.append((function, original.student_id, copy_id))
    assert swapped >= 5, "the disguises should reorder lines in several functions"
    return folder, copies


def _dedented(source: str) -> str:
    import textwrap

    return textwrap.dedent(source)


def _write_copy(folder, original_id, copy_id, function, original_source, disguised):
    """The original student's notebook with the function replaced by its disguise."""
    import textwrap

    for path in (folder / original_id / ASSIGNMENT).glob("*.ipynb"):
        notebook = notebooks.read(path)
        for cell in notebook.cells:
            if notebooks.is_code_answer(cell) and original_source in cell.source:
                indent = original_source[:len(original_source) - len(original_source.lstrip())]
                first_line = cell.source[:cell.source.index(original_source)].rsplit("\n", 1)[-1]
                cell.source = cell.source.replace(
                    original_source, textwrap.indent(disguised, first_line + indent).lstrip())
                notebooks.write(notebook, folder / copy_id / ASSIGNMENT / path.name)
                return
    raise AssertionError(f"{function} of {original_id} not found")


def test_disguised_copies_rank_above_honest_pairs(class_with_copies, tmp_path):
    folder, copies = class_with_copies
    out = tmp_path / "similarity.csv"
    similarity.report(folder, out, top=100_000)
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == similarity.CSV_COLUMNS
    scores = [float(r["similarity"]) for r in rows]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    score = {(r["function"], frozenset((r["student_a"], r["student_b"]))): float(r["similarity"])
             for r in rows}
    sources = {(a.function, a.student_id): a.source.strip()
               for answers in similarity.class_answers(folder).values() for a in answers}
    disguised = {copy_id for _, _, copy_id in copies}
    for function, original, copy_id in copies:
        copied = score[function, frozenset((original, copy_id))]
        honest = [(value, pair) for (f, pair), value in score.items() if f == function
                  and not pair & disguised
                  and len({sources[function, student] for student in pair}) == 2]
        best_honest = max(honest, default=(0.0, None), key=lambda item: item[0])
        assert copied > best_honest[0], (
            f"{function}: the disguised copy of {original} scores {copied:.3f}, an honest pair "
            f"{sorted(best_honest[1])} {best_honest[0]:.3f}")
    page = out.with_suffix(".html").read_text(encoding="utf-8")
    assert page.count("<details>") == len(rows) and "copy_" in page


def test_renaming_reordering_and_comments_change_nothing():
    original = (
        "def f(data, k):\n"
        "    '''Docstring.'''\n"
        "    total = 0  # the sum\n"
        "    count = len(data)\n"
        "    for item in data:\n"
        "        total += item * k\n"
        "    return total / count\n")
    disguised, swapped = disguise(original)
    assert swapped and "my_total_v2" in disguised
    parse = lambda s: ast.parse(s).body[0]  # noqa: E731
    assert similarity.similarity(similarity.features(parse(original)),
                                 similarity.features(parse(disguised))) == 1.0
    changed = original.replace("item * k", "item + k")
    assert similarity.similarity(similarity.features(parse(original)),
                                 similarity.features(parse(changed))) < 0.95


def test_a_stub_is_not_an_answer(tmp_path):
    """The blank notebooks answer nothing, so they are in no pair."""
    shutil.copytree(SAMPLE_SUBMISSIONS / "blank", tmp_path / "blank")
    shutil.copytree(SAMPLE_SUBMISSIONS / "blank", tmp_path / "blank_too")
    assert similarity.class_answers(tmp_path) == {}

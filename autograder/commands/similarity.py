"""``python -m autograder similarity SUBMISSIONS --out FILE.csv``: which students' answers are
suspiciously alike.

Every graded function (each function or method a release stub asks for) of every student is
compared with the same function of every other student, after normalisation:

- the code is parsed, so comments, blank lines and formatting are gone, and so are docstrings;
- every name the function binds itself (arguments, variables, loop and comprehension variables,
  local imports and helpers) becomes ``_``: renaming variables changes nothing, while the
  globals it calls (``torch.topk``, ``embed_KB``) and the attributes it reads still count;
- each statement is one feature, and so is each run of three tokens within it, so the features
  form a multiset that does not depend on the order of the statements: reordering independent
  lines changes nothing either;
- the features of the release's stub (its signature, what it provides) are taken away, and a
  function still equal to its stub is not an answer, so it is not compared.

The similarity of two answers is the weighted Jaccard index of their features, from 0 to 1. The
CSV lists, per function, its ``--top`` most similar pairs (``function,student_a,student_b,
similarity``), most similar first; the HTML page beside it (same name, ``.html``) shows each of
those pairs side by side, as the students wrote them. A high score is a reason to read the two
answers, never proof: short functions written from the same notes can look alike.
"""

from __future__ import annotations

import ast
import csv
import difflib
import html
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from autograder.course import notebooks
from autograder.course.intake import inspect_submission
from autograder.course.paths import COURSE_ROOT, RELEASE_DIR
from autograder.course.parts import notebook_names

CSV_COLUMNS = ["function", "student_a", "student_b", "similarity"]
DEFAULT_OUT = COURSE_ROOT / "grading" / "similarity.csv"
TOKEN = re.compile(r"\w+|[^\w\s]")
SHINGLE = 3


@dataclass
class Answer:
    student_id: str
    function: str          # "get_topk_candidates", or "Class.method"
    source: str            # as the student wrote it
    features: Counter


# --------------------------------------------------------------------------------------------
# Normalising one function


class _Anonymise(ast.NodeTransformer):
    """Every name in ``bound`` becomes ``_``; docstrings go."""

    def __init__(self, bound: set[str]):
        self.bound = bound

    def visit_Name(self, node):
        return ast.copy_location(ast.Name("_", node.ctx), node) if node.id in self.bound else node

    def visit_arg(self, node):
        node.arg, node.annotation = "_", None
        return node

    def visit_alias(self, node):  # `import torch as t` and `import torch` read alike
        if (node.asname or node.name).split(".")[0] in self.bound:
            node.asname = "_"
        return node

    def visit_ExceptHandler(self, node):
        node.name = "_" if node.name in self.bound else node.name
        return self.generic_visit(node)

    def _definition(self, node):  # a nested helper's name; the docstring
        node.name = "_" if node.name in self.bound else node.name
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
        return self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _definition


def _bound_names(function: ast.FunctionDef) -> set[str]:
    """The names ``function`` binds itself: its arguments and whatever it assigns or imports."""
    bound = set()
    for node in ast.walk(function):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and node is not function:
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


def _statements(body: list[ast.stmt], depth: int = 0):
    """Each statement as text, nested blocks flattened (a block's header is one statement)."""
    for statement in body:
        blocks = [field for field in ("body", "orelse", "finalbody", "handlers")
                  if isinstance(getattr(statement, field, None), list)]
        if not blocks:
            yield depth, ast.unparse(statement)
            continue
        header = ast.unparse(_header(statement, blocks))
        yield depth, header.split("\n")[0]
        for field in blocks:
            inner = getattr(statement, field)
            if field == "handlers":
                for handler in inner:
                    yield depth, ast.unparse(_header(handler, ["body"])).split("\n")[0]
                    yield from _statements(handler.body, depth + 1)
            else:
                yield from _statements(inner, depth + 1)


def _header(statement: ast.stmt, blocks: list[str]) -> ast.stmt:
    """A copy of a compound statement with its blocks emptied."""
    copy = type(statement)(**{field: getattr(statement, field) for field in statement._fields})
    ast.copy_location(copy, statement)
    for field in blocks:
        setattr(copy, field, [ast.Pass()] if field == "body" else [])
    return copy


def features(function: ast.FunctionDef) -> Counter:
    """The multiset of normalised statements and of three-token runs within each."""
    tree = _Anonymise(_bound_names(function)).visit(ast.parse(ast.unparse(function)).body[0])
    found = Counter()
    for depth, text in _statements([tree]):
        found[f"{depth}|{text}"] += 1
        tokens = TOKEN.findall(text)
        for i in range(max(1, len(tokens) - SHINGLE + 1)):
            found[" ".join(tokens[i:i + SHINGLE])] += 1
    return found


def similarity(a: Counter, b: Counter) -> float:
    """The weighted Jaccard index of two feature multisets."""
    union = sum((a | b).values())
    return sum((a & b).values()) / union if union else 0.0


# --------------------------------------------------------------------------------------------
# Reading a class's answers


def graded_functions(source: str) -> dict[str, ast.FunctionDef]:
    """The graded functions defined in an answer cell's code, by name (``Class.method``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found[f"{node.name}.{item.name}"] = item
    return found


def _stubs() -> dict[tuple[str, str], tuple[str, ast.FunctionDef]]:
    """(notebook, grade_id) of each code answer cell -> its graded functions' stubs."""
    stubs = {}
    for name in notebook_names():
        for cell in notebooks.read(RELEASE_DIR / f"{name}.ipynb").cells:
            if notebooks.is_code_answer(cell):
                functions, methods = notebooks.answer_names(cell.source)
                wanted = functions + [f"{c}.{m}" for c, names in methods.items() for m in names]
                defined = graded_functions(cell.source)
                stubs[name, notebooks.grade_id(cell)] = {f: defined[f] for f in wanted}
    return stubs


def class_answers(submissions: Path) -> dict[str, list[Answer]]:
    """Per graded function, every student's answer to it (unanswered stubs left out)."""
    stubs = _stubs()
    stub_features = {(key, f): features(node) for key, nodes in stubs.items()
                     for f, node in nodes.items()}
    answers: dict[str, list[Answer]] = {}
    for student in sorted(p.name for p in Path(submissions).iterdir() if p.is_dir()
                          and not p.name.startswith(".")):
        for name, path in inspect_submission(Path(submissions) / student).notebooks.items():
            for cell in notebooks.read(path).cells:
                key = (name, notebooks.grade_id(cell))
                if not (notebooks.is_code_answer(cell) and key in stubs):
                    continue
                written = graded_functions(cell.source)
                for function in stubs[key]:
                    node = written.get(function)
                    if node is None:
                        continue
                    own = features(node) - stub_features[key, function]
                    if own:  # a function equal to its stub is no answer
                        answers.setdefault(function, []).append(Answer(
                            student, function, ast.get_source_segment(cell.source, node) or "",
                            own))
    return answers


# --------------------------------------------------------------------------------------------
# The report


def ranked_pairs(answers: dict[str, list[Answer]], top: int) -> list[tuple[float, Answer, Answer]]:
    """Per function its ``top`` most similar pairs; all of them most similar first."""
    ranked = []
    for function in sorted(answers):
        pairs = [(similarity(a.features, b.features), a, b)
                 for a, b in itertools.combinations(answers[function], 2)]
        pairs.sort(key=lambda pair: (-pair[0], pair[1].student_id, pair[2].student_id))
        ranked += pairs[:top]
    ranked.sort(key=lambda pair: (-pair[0], pair[1].function, pair[1].student_id,
                                  pair[2].student_id))
    return ranked


def write_csv(pairs, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for score, a, b in pairs:
            writer.writerow([a.function, a.student_id, b.student_id, f"{score:.3f}"])


def write_html(pairs, out: Path) -> None:
    """Each pair side by side, as written (difflib escapes the students' code)."""
    differ = difflib.HtmlDiff(tabsize=4, wrapcolumn=80)
    sections = []
    for score, a, b in pairs:
        table = differ.make_table(a.source.splitlines(), b.source.splitlines(),
                                  html.escape(a.student_id), html.escape(b.student_id))
        sections.append(f"<details><summary><b>{score:.3f}</b> {html.escape(a.function)}: "
                        f"{html.escape(a.student_id)} and {html.escape(b.student_id)}</summary>"
                        f"{table}</details>")
    out.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Similar answers</title>"
        "<style>body{font-family:sans-serif} table.diff{font-family:monospace;font-size:12px}"
        ".diff_add{background:#dfd}.diff_chg{background:#ffa}.diff_sub{background:#fdd}"
        "summary{cursor:pointer;margin:4px 0}</style></head><body>"
        "<h1>Similar answers, most similar first</h1><p>Similarity after normalisation "
        "(comments, formatting, variable names and statement order ignored; the stub left out)"
        ". A high score is a reason to read both answers, not proof of copying.</p>"
        + "\n".join(sections) + "</body></html>", encoding="utf-8")


def report(submissions: Path, out: Path = DEFAULT_OUT, top: int = 50) -> list:
    pairs = ranked_pairs(class_answers(submissions), top)
    write_csv(pairs, out)
    write_html(pairs, out.with_suffix(".html"))
    for score, a, b in pairs[:10]:
        print(f"{score:.3f}  {a.function}: {a.student_id} and {b.student_id}")
    print(f"\n{len(pairs)} pairs: {out}\nside by side: {out.with_suffix('.html')}")
    return pairs

"""The packages are layers: a module imports its own layer and the layers below it, never one
above; no two modules import each other, directly or round a circle; and no verb of the command
line imports another verb's module (what two verbs share lives in a layer below them)."""

import ast
from pathlib import Path

from autograder.course.paths import COURSE_ROOT

# Lowest first. A name stands for the module or package and everything in it.
LAYERS = (
    ("dpr_course",),  # the students' library: nothing of the grader
    ("autograder.phases", "autograder.processes", "autograder.random_state", "autograder.tokens",
     "autograder.config", "autograder.cache"),
    ("autograder.course",),      # the course model: registry, paths, notebooks, generated cells
    ("autograder.judge",),       # the trust boundary: the student's code only runs in there
    ("autograder.checks",),      # the hidden checks, run by the judge
    ("autograder.nbgrading",),   # nbgrader's side: preprocessors, workers, gradebook, release
    ("autograder.run",),         # a grading run: its processes, the class's jobs, the report
    ("autograder.commands",),    # the verbs
    ("autograder.__main__", "autograder"),  # the command line
)
PACKAGES = ("autograder", "dpr_course")
VERBS = "autograder.commands"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path) -> dict[str, Path]:
    """Every module of the packages under ``root`` (tests left out), by name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "tests" not in path.relative_to(root).parts:
                found[module_name(path, root)] = path
    return found


def imports(root: Path) -> dict[str, set[str]]:
    """Each module's imports of the packages' modules (function-local imports too); ``from
    package import module`` is an import of the module."""
    known = modules(root)
    graph = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                for alias in node.names:
                    targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
        graph[name] = {t for t in targets if t in known and t != name}
    return graph


def layer(name: str) -> int:
    """The index of the most specific layer entry that ``name`` is in."""
    best, depth = None, -1
    for index, entries in enumerate(LAYERS):
        for entry in entries:
            if (name == entry or name.startswith(entry + ".")) and entry.count(".") > depth:
                best, depth = index, entry.count(".")
    if best is None:
        raise AssertionError(f"{name} is in no layer: add it to LAYERS in {__file__}")
    return best


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return [f"{name} imports {target}, a layer above it"
            for name, targets in sorted(graph.items()) for target in sorted(targets)
            if layer(target) > layer(name) and name != "autograder"]


def verbs_importing_verbs(graph: dict[str, set[str]]) -> list[str]:
    return [f"{name} imports the verb {target}"
            for name, targets in sorted(graph.items()) if name.startswith(VERBS + ".")
            for target in sorted(targets) if target.startswith(VERBS + ".") and target != name]


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle, each once (depth-first search, as a path back to a module on the
    stack). A package's ``__init__`` importing its own modules is how a package says what it
    exports, so those edges are left out (a module importing its package's ``__init__`` is not)."""
    def edges(name):
        return [t for t in graph[name] if not t.startswith(name + ".")]

    found, state = [], {}
    def visit(name, stack):
        state[name] = "open"
        stack.append(name)
        for target in sorted(edges(name)):
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[name] = "done"
    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    return found


def test_no_import_runs_up_the_layers_and_none_goes_round_a_circle():
    graph = imports(COURSE_ROOT)
    assert len(graph) > 50, "the packages' modules were not found"
    assert upward_imports(graph) == []
    assert circles(graph) == []


def test_no_verb_imports_another_verb():
    graph = imports(COURSE_ROOT)
    assert {name for name in graph if name.startswith(VERBS + ".")} >= {
        f"{VERBS}.build", f"{VERBS}.validate", f"{VERBS}.publish", f"{VERBS}.bench"}
    assert verbs_importing_verbs(graph) == []


def test_the_checks_find_a_planted_upward_import_a_circle_and_a_verb_importing_a_verb(tmp_path):
    def module(name: str, source: str = "") -> None:
        path = tmp_path.joinpath(*name.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in [path.parent, *path.parent.parents]:
            if folder == tmp_path:
                break
            (folder / "__init__.py").touch()
        path.write_text(source)

    module("dpr_course.models")
    module("autograder.course.parts", "from autograder.judge import sandbox\n")
    module("autograder.judge.sandbox", "def f():\n    from ..course import parts\n")
    module("autograder.commands.build")
    module("autograder.commands.validate", "from autograder.commands.build import build\n")
    graph = imports(tmp_path)
    assert upward_imports(graph) == [
        "autograder.course.parts imports autograder.judge.sandbox, a layer above it"]
    assert circles(graph) == [["autograder.course.parts", "autograder.judge.sandbox",
                               "autograder.course.parts"]]
    assert verbs_importing_verbs(graph) == [
        "autograder.commands.validate imports the verb autograder.commands.build"]

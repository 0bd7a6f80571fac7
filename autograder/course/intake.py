"""Checking one student's submission folder before grading.

nbgrader grades all of a student's notebooks in one run, and one unreadable file can sink that
run. ``inspect_submission`` therefore decides, before grading, which files can be graded under
which notebook name, and says in plain words what is wrong with the rest (and how to fix it), so
that everything that is fine still gets graded. It never raises for bad student input.
"""

from __future__ import annotations

import codecs
import difflib
import json
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.course.paths import ASSIGNMENT
from autograder.course.parts import notebook_names

# difflib ratio a misnamed file needs to be taken for a notebook: "encoder" vs "01_encoder" is
# 0.82, while the assignment's notebook names are at most 0.48 alike, so a guess rarely fits two.
MATCH_CUTOFF = 0.8
NOTEBOOK_SUFFIXES = (".ipynb", ".ipynb.json")
LISTED_AT_MOST = 8
SEARCH_DEPTH = 3  # how deep to look for a misplaced dual_encoder/ folder (unzipping nests one)

RESAVE = "open it in Jupyter and save it again (File > Save Notebook), then hand it in again"
REDOWNLOAD = ("hand in the file as Jupyter saved it (File > Download); do not edit .ipynb files "
              "in a text editor")


@dataclass
class Intake:
    notebooks: dict[str, Path] = field(default_factory=dict)  # name -> a file that can be graded
    problems: list[str] = field(default_factory=list)          # one message per problem


def inspect_submission(student_dir: Path) -> Intake:
    """Which notebooks of ``student_dir`` (``<student>/dual_encoder/*.ipynb``) can be graded,
    in course order, and one human-readable message per problem found."""
    student_dir = Path(student_dir)
    if not student_dir.is_dir():  # the caller lists student folders, so this is a bug, not input
        raise FileNotFoundError(f"student folder {student_dir} does not exist")
    folder = student_dir / ASSIGNMENT
    if not folder.is_dir():
        return Intake(problems=[no_folder_message(student_dir)])
    candidates = notebook_files(folder)
    if not candidates:
        return Intake(problems=[no_notebooks_message(student_dir, folder)])
    names = notebook_names()
    chosen, renamed, problems = choose_files(candidates, names, student_dir)
    intake = Intake()
    for name in names:
        if name not in chosen:
            continue
        path = chosen[name]
        problem = notebook_problem(path)
        if problem:
            problems.append(f"{relative(path, student_dir)}: {problem}")
        else:
            intake.notebooks[name] = path
        if name in renamed:
            problems.append(renamed_message(path, name, student_dir, graded=not problem))
    intake.problems = sorted(problems)
    missing = [name for name in names if name not in chosen]
    if missing:  # last, since it is about the submission as a whole
        intake.problems.append(missing_message(missing))
    return intake


# --- where the notebooks are --------------------------------------------------------------------

def is_hidden(name: str) -> bool:
    """Checkpoints, macOS resource forks (``._x``, ``__MACOSX/``) and editor lock files are
    never the student's work."""
    return name.startswith(".") or name == "__MACOSX"


def notebook_files(folder: Path) -> list[Path]:
    """Every notebook-looking file under ``folder``, subfolders included, sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not is_hidden(d)]  # prunes .ipynb_checkpoints too
        found += [Path(root) / f for f in files
                  if not is_hidden(f) and f.lower().endswith(NOTEBOOK_SUFFIXES)]
    return sorted(found)


def visible_entries(folder: Path) -> list[str]:
    return sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()
                  if not is_hidden(p.name))


def contents(folder: Path) -> str:
    """What a student sees in ``folder`` (hidden files left out), for messages."""
    entries = visible_entries(folder)
    if not entries:
        return "it is empty"
    shown = ", ".join(entries[:LISTED_AT_MOST])
    more = len(entries) - LISTED_AT_MOST
    return "found there: " + shown + (f" and {more} more" if more > 0 else "")


def relative(path: Path, student_dir: Path) -> str:
    return path.relative_to(student_dir).as_posix()


def looks_like_assignment_folder(name: str) -> bool:
    """``Dual_Encoder``, ``dual-encoder``, ``dual_encoder (1)``: a misnamed assignment folder."""
    return difflib.SequenceMatcher(None, normalized_stem(name), ASSIGNMENT).ratio() >= MATCH_CUTOFF


def misplaced_assignment_folder(student_dir: Path) -> Path | None:
    """The shallowest folder that looks like ``dual_encoder/`` (e.g. nested by unzipping)."""
    level = [student_dir]
    for _ in range(SEARCH_DEPTH):
        level = sorted(child for parent in level for child in parent.iterdir()
                       if child.is_dir() and not is_hidden(child.name))
        for folder in level:
            if looks_like_assignment_folder(folder.name):
                return folder
    return None


def no_folder_message(student_dir: Path) -> str:
    target = f"{student_dir.name}/{ASSIGNMENT}/"
    message = (f"no {ASSIGNMENT}/ folder: the notebooks must be in {target} "
               f"({contents(student_dir)})")
    misplaced = misplaced_assignment_folder(student_dir)
    if misplaced:
        message += (f"; {relative(misplaced, student_dir)}/ looks like it: "
                    f"move or rename it to {target}")
    return message + "; nothing was graded"


def no_notebooks_message(student_dir: Path, folder: Path) -> str:
    expected = ", ".join(f"{name}.ipynb" for name in notebook_names())
    return (f"{relative(folder, student_dir)}/: holds no notebooks (.ipynb files) "
            f"({contents(folder)}); put {expected} in it; "
            "nothing was graded")


def missing_message(missing: list[str]) -> str:
    scores = "it scores 0" if len(missing) == 1 else "they score 0"
    return f"not handed in: {', '.join(missing)} ({scores})"


# --- which file is which notebook ---------------------------------------------------------------

def normalized_stem(filename: str) -> str:
    """``Copy of 01_Encoder-Copy1 (1).ipynb.json`` -> ``01_encoder``: the name without the
    suffixes, case and copy markers that downloads and Jupyter's "Make a Copy" add."""
    stem = filename.lower()
    for suffix in (".json", ".ipynb"):
        stem = stem.removesuffix(suffix)
    stem = re.sub(r"^copy of ", "", stem.strip())
    while True:
        shorter = re.sub(r"[\s_-]*(\(\d+\)|copy\s*\d*)$", "", stem)
        if shorter == stem:
            break
        stem = shorter
    return re.sub(r"[\s.-]+", "_", stem).strip("_")


def topic(stem: str) -> str:
    """``01_encoder`` -> ``encoder``: students drop or mistype the part number."""
    return re.sub(r"^\d+_*", "", stem)


def matching_names(filename: str, names: list[str]) -> list[str]:
    """The notebook names that ``filename`` could stand for (one unless ambiguous or unknown)."""
    stem = normalized_stem(filename)
    variants = {}  # spelling -> notebook name, with and without the part number
    for name in names:
        variants[name] = name
        variants.setdefault(topic(name), name)
    guesses = [guess for guess in (stem, topic(stem)) if guess]
    exact = {variants[guess] for guess in guesses if guess in variants}
    if exact:  # an exact spelling beats fuzzy ones, so close names elsewhere do not interfere
        return sorted(exact)
    close = {variants[hit] for guess in guesses
             for hit in difflib.get_close_matches(guess, variants, len(variants), MATCH_CUTOFF)}
    return sorted(close)


def choose_files(candidates: list[Path], names: list[str], student_dir: Path):
    """Which file to grade for each notebook name, which of those are misnamed, and a message
    for every other notebook file (each is ignored)."""
    folder = student_dir / ASSIGNMENT
    chosen = {name: folder / f"{name}.ipynb" for name in names
              if folder / f"{name}.ipynb" in candidates}
    claims: dict[str, list[Path]] = {}
    problems = []
    for path in candidates:
        if path in chosen.values():
            continue
        matches = matching_names(path.name, names)
        if len(matches) == 1:
            claims.setdefault(matches[0], []).append(path)
        else:
            problems.append(unmatched_message(path, matches, names, student_dir))
    renamed = set()
    for name, paths in claims.items():
        if name in chosen:
            problems += [taken_message(p, chosen[name], student_dir) for p in paths]
        elif len(paths) > 1:
            problems += [rivals_message(p, paths, name, student_dir) for p in paths]
        else:
            chosen[name] = paths[0]
            renamed.add(name)
    return chosen, renamed, problems


def fix_name(path: Path, name: str, student_dir: Path) -> str:
    if path.parent == student_dir / ASSIGNMENT:
        return f"name it exactly {name}.ipynb"
    return f"move it to {ASSIGNMENT}/ and name it exactly {name}.ipynb"


def renamed_message(path: Path, name: str, student_dir: Path, graded: bool) -> str:
    verdict = f"graded as {name}.ipynb" if graded else f"taken for {name}.ipynb"
    return f"{relative(path, student_dir)}: {verdict}; please {fix_name(path, name, student_dir)}"


def unmatched_message(path: Path, matches: list[str], names: list[str], student_dir: Path) -> str:
    if matches:
        why = f"its name could be any of {', '.join(matches)}"
    else:
        why = f"its name matches none of {', '.join(names)}"
    return (f"{relative(path, student_dir)}: ignored: {why}; "
            "if it is one of them, name it exactly so")


def taken_message(path: Path, graded: Path, student_dir: Path) -> str:
    return (f"{relative(path, student_dir)}: ignored: {relative(graded, student_dir)} is graded "
            "instead; hand in one file per notebook")


def rivals_message(path: Path, rivals: list[Path], name: str, student_dir: Path) -> str:
    others = ", ".join(relative(p, student_dir) for p in rivals if p != path)
    return (f"{relative(path, student_dir)}: ignored: it and {others} look like "
            f"{name}.ipynb; keep the one to grade and {fix_name(path, name, student_dir)}")


# --- can nbgrader read it -----------------------------------------------------------------------

def notebook_problem(path: Path) -> str | None:
    """Why nbgrader could not grade this file (with how to fix it), or None when it can."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return f"could not be read ({error.strerror or error})"
    if not data.strip():
        return f"is empty ({len(data)} bytes); {REDOWNLOAD}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return not_utf8_message(data, error)
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        return (f"is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}); "
                f"{REDOWNLOAD}")
    except RecursionError:  # json gives up on absurdly deep nesting
        return f"is not valid JSON (nested too deeply); {REDOWNLOAD}"
    return structure_problem(content)


def not_utf8_message(data: bytes, error: UnicodeDecodeError) -> str:
    message = (f"is not UTF-8 text (byte 0x{data[error.start]:02x} at byte offset {error.start} "
               "is not valid UTF-8)")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        message += "; it looks like UTF-16, which some text editors write"
    return f"{message}; {REDOWNLOAD}"


def structure_problem(content) -> str | None:
    """Valid JSON: is it a notebook nbgrader can read (nbformat 4, valid against its schema)?"""
    if not isinstance(content, dict) or "nbformat" not in content:
        kind = "an object" if isinstance(content, dict) else f"a JSON {json_type(content)}"
        return (f"is JSON but not a Jupyter notebook ({kind} without an 'nbformat' field); "
                f"{REDOWNLOAD}")
    major, minor = nbformat.reader.get_version(content)
    if major != 4 or isinstance(major, bool):
        found = f"{major}.{minor}" if isinstance(major, int) else repr(major)
        return f"is nbformat {found}, but version 4 is required; {RESAVE}"
    if not isinstance(content.get("cells"), list):
        return f"is not a valid nbformat 4 notebook (it has no 'cells' list); {RESAVE}"
    return schema_problem(content)


def json_type(value) -> str:
    names = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
    return names.get(type(value), "null")


def schema_problem(content: dict) -> str | None:
    """nbformat's own validation, its exceptions turned into one sentence."""
    try:
        with warnings.catch_warnings():
            # nbformat warns about (and repairs) missing or duplicate cell ids, which
            # nbgrader copes with; they are no reason to refuse a notebook.
            warnings.simplefilter("ignore")
            nbformat.validate(nbformat.from_dict(content))
    except nbformat.ValidationError as error:
        where = json_path(error.absolute_path)
        reason = error.message + (f" at {where}" if where else "")
    except Exception as error:  # noqa: BLE001 - odd shapes raise KeyError, TypeError, ...
        reason = f"{type(error).__name__}: {error}"
    else:
        return None
    return f"is not a valid nbformat 4 notebook ({reason}); {RESAVE}"


def json_path(parts) -> str:
    """``['cells', 1, 'source']`` -> ``cells[1].source``."""
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    return path.lstrip(".")

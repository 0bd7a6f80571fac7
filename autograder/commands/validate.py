"""``python -m autograder validate``: is the course directory ready to hand out and grade?

1. The provided cells of solutions/ match the earlier parts' reference solutions, and the
   release notebooks and the sample submissions are what ``build`` makes from solutions/.
2. No solution code and no hidden test is in the release.
3. No notebook is committed with outputs.
4. course.toml names the students' repository, not the placeholder (``--repo-url`` stands in).
5. The reference solutions get full marks and the blank release gets zero, with no grader error.
"""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder.course import home
from autograder.course import notebooks
from autograder.course import hidden_tests
from autograder.course import provided
from autograder.course import samples
from autograder.course import withheld
from autograder.nbgrading.release import generate_release
from autograder.run import grade
from autograder.course.parts import notebook_names, of_sample
from autograder.course.paths import (
    ASSIGNMENT,
    COURSE_ROOT,
    RELEASE_DIR,
    SAMPLE_SUBMISSIONS,
    SOLUTIONS_DIR,
)


def shown(path: Path) -> str:
    """A path relative to the course root where it can be, for messages."""
    try:
        return str(path.relative_to(COURSE_ROOT))
    except ValueError:
        return str(path)


def check_in_sync() -> list[str]:
    problems = [f"{path} lacks the course setting or notes of course.toml: run "
                "`python -m autograder build`" for path in home.stale()]
    problems += [f"provided cell {cell} is out of date: run `python -m autograder build`"
                 for cell in provided.stale_cells()]
    problems += [f"hidden test cell {change} by build: run `python -m autograder build`"
                 for change in hidden_tests.stale_cells()]
    problems += part_problems()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        fresh = generate_release(scratch / "release")
        fresh_samples = samples.write_samples(scratch / "samples")
        pairs = [(p, RELEASE_DIR / p.name) for p in fresh]
        pairs += [(p, SAMPLE_SUBMISSIONS / p.relative_to(scratch / "samples")) for p in fresh_samples]
        for made, committed in pairs:
            if not committed.exists() or not filecmp.cmp(made, committed, shallow=False):
                problems.append(f"{shown(committed)} is out of date: "
                                "run `python -m autograder build`")
        expected = {committed for _, committed in pairs}
        for stray in list(RELEASE_DIR.glob("*.ipynb")) + list(SAMPLE_SUBMISSIONS.glob("*/*/*.ipynb")):
            if stray not in expected:
                problems.append(f"{shown(stray)} is not made by build: remove it")
    return problems


def part_problems() -> list[str]:
    """The part registry, the solution notebooks and the samples' names agree."""
    listed = set(notebook_names())
    found = {path.stem for path in SOLUTIONS_DIR.glob("*.ipynb")}
    problems = [f"solutions/{ASSIGNMENT}/{name}.ipynb is not a part of autograder/course/"
                "parts.py: add it there, or remove it" for name in sorted(found - listed)]
    problems += [f"part {name} has no solutions/{ASSIGNMENT}/{name}.ipynb"
                 for name in sorted(listed - found)]
    tests = {notebooks.grade_id(cell) for name in sorted(listed & found)
             for cell in notebooks.read(SOLUTIONS_DIR / f"{name}.ipynb").cells
             if notebooks.is_test(cell)}
    for sample in samples.load_manifest():
        part = of_sample(sample.student_id)
        own = [name for name, spec in sample.notebooks.items() if isinstance(spec, dict)]
        if part and any(name != part.notebook for name in own):
            problems.append(f"{samples.MANIFEST.name}: sample {sample.student_id} is named for "
                            f"part {part.key} but answers in {', '.join(own)}")
        problems += [f"{samples.MANIFEST.name}: sample {sample.student_id} fails {grade_id}, "
                     "which is no test cell of the course" for grade_id in sample.fails
                     if grade_id not in tests]
    return problems


def check_release_clean() -> list[str]:
    """Each release notebook holds no marker and nothing withheld from a release through its
    part (the hidden tests, the answers of its part and later ones); what its provided cells
    show of the earlier parts' answers is shown by design."""
    problems = []
    for part, name in enumerate(notebook_names(), 1):
        release_path = RELEASE_DIR / f"{name}.ipynb"
        if not release_path.exists():
            problems.append(f"{shown(release_path)} is missing")
            continue
        release_code = "\n".join(cell.source for cell in notebooks.read(release_path).cells)
        problems += [f"{release_path.name}: contains '{marker}'" for marker in withheld.MARKERS
                     if marker in release_code]
        problems += [f"{release_path.name}: leaks solution or hidden test: {line!r}"
                     for line in withheld.found_in(release_code, withheld.withheld(part))]
    return problems


def check_public_repository(repo_url: str | None = None) -> list[str]:
    """course.toml names the students' repository (the placeholder would send every student's
    first cell to a repository nobody of the course controls)."""
    problem = home.unpublishable(home.public(repo_url))
    return [problem] if problem else []


def check_no_outputs() -> list[str]:
    problems = []
    for folder in (SOLUTIONS_DIR, RELEASE_DIR, SAMPLE_SUBMISSIONS):
        for path in sorted(folder.rglob("*.ipynb")):
            for index, cell in enumerate(notebooks.read(path).cells):
                if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
                    problems.append(f"{shown(path)}: cell {index} has outputs")
    return problems


def check_notebook_format() -> list[str]:
    """Every committed notebook is valid nbformat: nbgrader refuses an invalid one (a cell id in
    an nbformat 4.4 notebook, as nbformat's cell constructors add, is the usual slip)."""
    problems = []
    for folder in (SOLUTIONS_DIR, RELEASE_DIR, SAMPLE_SUBMISSIONS):
        for path in sorted(folder.rglob("*.ipynb")):
            try:
                nbformat.validate(nbformat.read(str(path), as_version=nbformat.NO_CONVERT))
            except nbformat.ValidationError as error:
                problems.append(f"{shown(path)}: not valid nbformat: {str(error).splitlines()[0]}")
    return problems


def check_grading(profile: str = "tiny") -> list[str]:
    """Grade the reference and the blank samples: full marks and zero, no grader error."""
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for student in ("reference", "blank"):
            shutil.copytree(SAMPLE_SUBMISSIONS / student, scratch / "submitted" / student)
        results = grade(scratch / "submitted", scratch / "grades.csv", profile=profile)
    return grading_problems(results)


def grading_problems(results) -> list[str]:
    """What is wrong with the grades of the reference (full marks) and blank (zero) samples."""
    problems = []
    by_student = {result.student_id: result for result in results}
    for student, wanted in (("reference", "full"), ("blank", "zero")):
        result = by_student[student]
        problems += [f"{student}: grader error: {fault}" for fault in result.grading_errors()]
        for row in result.rows:
            target = row["max_score"] if wanted == "full" else 0.0
            if row["score"] is not None and row["score"] != target:
                problems.append(f"{student}: {row['notebook']}/{row['grade_id']} scored "
                                f"{row['score']:g} of {row['max_score']:g}, expected {target:g}")
        if not result.rows:
            problems.append(f"{student}: no test cells were graded")
    return problems


def validate(profile: str = "tiny", repo_url: str | None = None) -> bool:
    ok = True
    for title, check in (("release and samples in sync with solutions", check_in_sync),
                         ("no solutions or hidden tests in the release", check_release_clean),
                         ("no committed outputs", check_no_outputs),
                         ("valid notebook files", check_notebook_format),
                         ("the students' repository is set", lambda: check_public_repository(repo_url)),
                         ("reference full marks, blank zero", lambda: check_grading(profile))):
        problems = check()
        print(f"[{'ok' if not problems else 'FAIL'}] {title}")
        for problem in problems:
            print("   ", problem)
        ok = ok and not problems
    return ok

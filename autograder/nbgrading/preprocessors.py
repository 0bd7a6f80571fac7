"""nbgrader preprocessors that keep grading honest when students tamper with their notebook.

Configured in ``nbgrader_config.py``, so plain ``nbgrader autograde`` uses them too.
"""

from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import DeduplicateIds, NbGraderPreprocessor, SaveAutoGrades

from autograder.course import notebooks
from autograder.judge import client as judge_client
from autograder.judge.faults import ENAME, TOLD
from autograder.judge.redact import redact
from autograder.phases import phase


class DropDuplicateIds(DeduplicateIds):
    """Like nbgrader's DeduplicateIds, which keeps the last cell of each grade_id, but turns the
    other copies into plain cells. nbgrader 0.9.6 leaves them with an empty ``nbgrader``
    metadata dict, which CheckCellMetadata then rejects as "an old version of the nbgrader
    metadata format", failing the whole notebook.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell):
            grade_id = cell.metadata.nbgrader["grade_id"]
            if grade_id in self.grade_ids:
                self.log.warning("Cell with id '%s' exists multiple times; grading the last", grade_id)
                del cell.metadata["nbgrader"]
            else:
                self.grade_ids.add(grade_id)
        return cell, resources


class RestoreCellTypes(NbGraderPreprocessor):
    """A graded or locked cell the student turned into markdown (or back) gets its type back
    from its nbgrader metadata before OverwriteCells runs: nbgrader 0.9.6 would restore it by
    validating a code cell against the newest nbformat, which fails on a 4.4 notebook and with
    it the whole notebook.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        wanted = cell.metadata.get("nbgrader", {}).get("cell_type")
        if wanted and wanted != cell.cell_type:
            self.log.warning("Cell %s was turned into %s; restoring it as %s",
                             cell.metadata.nbgrader.get("grade_id"), cell.cell_type, wanted)
            cell.cell_type = wanted
            if wanted == "code":
                cell.outputs, cell.execution_count = [], None
            else:
                cell.pop("outputs", None)
                cell.pop("execution_count", None)
        return cell, resources


class ShortenHiddenTracebacks(NbGraderPreprocessor):
    """In feedback, a failed hidden test shows its message, not a traceback through its code.

    Must run before ClearHiddenTests, while the hidden-test markers are still in the source.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and notebooks.BEGIN_HIDDEN in cell.source:
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class JudgeTests(NbGraderPreprocessor):
    """In place of nbgrader's Execute: no kernel runs the student's notebook. The judge
    (``autograder/judge/``) decides every test cell in a process of its own, calling the
    student's functions only in a sandbox, and each verdict becomes that cell's output: an
    error scores 0, anything else full points, as nbgrader always scores test cells.
    """

    def preprocess(self, nb, resources):
        name = resources["unique_key"]
        with phase("judge round trip", notebook=name):
            verdicts, problem = judge_client.verdicts(name, nb)
        for cell in nb.cells:
            if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
                verdict = verdicts.get(cell.metadata.nbgrader["grade_id"])
                cell.outputs = [_verdict_output(verdict, problem)]
        return nb, resources


def _verdict_output(verdict: dict | None, problem: str):
    """The verdict as the test cell's output, through the redaction step (the feedback page
    shows it to the student)."""
    if verdict is None or verdict.get("fault"):
        message = redact(verdict["output"].removeprefix(f"{ENAME}: ") if verdict else
                         problem or "this test cell is not in the assignment")
        message = TOLD + message
        return new_output("error", ename=ENAME, evalue=message, traceback=[f"{ENAME}: {message}"])
    output = redact(verdict["output"])
    if verdict["passed"]:
        return new_output("stream", name="stdout", text=output or "Test passed.\n")
    ename, _, evalue = output.partition(": ")
    if ename == ENAME:  # only the grader's own faults are named so
        ename = "Error"
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def is_grading_error(cell) -> bool:
    """A test cell the grader could not judge (its output says so)."""
    return any(output.get("output_type") == "error" and output.get("ename") == ENAME
               for output in cell.get("outputs", []))


class SaveJudgedGrades(SaveAutoGrades):
    """nbgrader's SaveAutoGrades, but a test cell the grader could not judge gets no score: it
    waits in the gradebook as needing manual grading (formgrader lists it), never a 0."""

    def _add_score(self, cell, resources) -> None:
        super()._add_score(cell, resources)
        if cell.cell_type == "code" and is_grading_error(cell):
            grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"],
                                              self.notebook_id, self.assignment_id, self.student_id)
            grade.auto_score, grade.needs_manual_grade = None, True
            self.gradebook.db.commit()

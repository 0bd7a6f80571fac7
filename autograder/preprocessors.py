"""nbgrader preprocessors that keep grading honest when students tamper with their notebook.

Configured in ``nbgrader_config.py``, so plain ``nbgrader autograde`` uses them too.
"""

from nbgrader import utils
from nbgrader.preprocessors import DeduplicateIds, NbGraderPreprocessor


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


class ShortenHiddenTracebacks(NbGraderPreprocessor):
    """In feedback, a failed hidden test shows its message, not a traceback through its code.

    Must run before ClearHiddenTests, while the hidden-test markers are still in the source.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and "BEGIN HIDDEN TESTS" in cell.source:
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources

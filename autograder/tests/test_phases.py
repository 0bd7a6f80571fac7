"""Timing grading's phases (autograder/phases.py) and the class that bench grades."""

from autograder import phases
from autograder.commands import bench
from autograder.course.parts import PARTS, of_sample


def test_phases_are_recorded_only_with_a_trace_file(tmp_path, monkeypatch):
    trace = tmp_path / "trace.jsonl"
    monkeypatch.delenv(phases.TRACE, raising=False)
    with phases.phase("check", "01_encoder"):
        pass
    assert not trace.exists()
    monkeypatch.setenv(phases.TRACE, str(trace))
    for _ in range(2):
        with phases.phase("check", "01_encoder"):
            pass
    phases.record("sandboxed call", 1.5, "02_evaluation", function="get_topk_candidates")
    records = phases.read(trace)
    assert [r["phase"] for r in records] == ["check", "check", "sandboxed call"]
    assert records[2]["function"] == "get_topk_candidates" and records[2]["seconds"] == 1.5
    assert phases.totals(records)["sandboxed call", "02_evaluation"] == (1, 1.5)


def test_the_table_has_a_row_per_phase_and_a_column_per_notebook():
    records = [{"phase": "template", "notebook": "", "seconds": 8.0},
               {"phase": "check", "notebook": "01_encoder", "seconds": 3.0},
               {"phase": "check", "notebook": "01_encoder", "seconds": 1.0},
               {"phase": "autograde", "notebook": "03_nce_loss", "seconds": 6.0}]
    lines = phases.table(records, students=2).splitlines()
    assert lines[0] == "| phase | all | 01_encoder | 03_nce_loss |"
    rows = {line.split(" | ")[0].strip("| "): line for line in lines[2:]}
    assert list(rows) == ["template", "autograde", "check"]  # outermost first
    assert rows["template"] == "| template | 4.00 |  |  |"
    assert rows["check"] == "| check |  | 2.00 |  |"
    assert bench.part_costs(records, 2)["03_nce_loss"] == 3.0


def test_bench_grades_complete_submissions_of_each_parts_samples():
    sources = bench.class_sources(3)
    assert sources[0] == ("reference",) * len(PARTS)
    for student in sources[1:]:
        assert len(student) == len(PARTS)
        for part, source in zip(PARTS, student):
            assert source == "reference" or of_sample(source) is part


def test_the_steady_speedup_leaves_the_classs_tail_out():
    """Two students at a time, each 1.25x slower at --jobs 2 than at --jobs 1: 1.6x, however
    long the last one graded alone."""
    alone = [{"phase": "student", "notebook": "", "seconds": s} for s in (80.0, 60.0)]
    paired = [{"phase": "student", "notebook": "", "seconds": s} for s in (100.0, 75.0)]
    assert bench.seconds_per_student(alone) == 70.0
    assert abs(bench.steady_speedup(alone, paired) - 1.6) < 1e-9

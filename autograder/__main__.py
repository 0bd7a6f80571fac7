"""Command line: python -m autograder {build,grade,validate,expect,publish,return-feedback,bench,
similarity,story,cache}."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from autograder.course.paths import SAMPLE_SUBMISSIONS
from autograder.processes import stopped_by_signals, stopping_signal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="regenerate notebooks/ and the sample submissions from solutions/")
    grade = commands.add_parser("grade", help="grade a folder of submissions with nbgrader")
    grade.add_argument("submissions", nargs="?", type=Path, default=SAMPLE_SUBMISSIONS,
                       help="<student_id>/dual_encoder/<notebook>.ipynb (default: the bundled samples)")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    grade.add_argument("--profile", choices=["tiny", "full"], default="tiny")
    grade.add_argument("--out", type=Path, default=None, help="CSV of scores (default grading/grades.csv)")
    grade.add_argument("--no-cache", dest="cache", action="store_false",
                       help="keep nothing between runs: the provided code's training runs are "
                            "done again, not replayed from the course-version cache")
    grade.add_argument("--gradebook", action="store_true",
                       help="also record the results in this course's nbgrader gradebook "
                            "(gradebook.db, autograded/), for formgrader and nbgrader export")
    grade.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="grade on a Dask cluster: its scheduler's address (tcp://host:8786) "
                            "or scheduler file; each worker needs this package installed")
    validate = commands.add_parser("validate", help="check the course is ready to release and grade")
    validate.add_argument("--profile", choices=["tiny", "full"], default="tiny")
    validate.add_argument("--repo-url", default=None,
                          help="the students' repository you will publish to with the same "
                               "option (default: course.toml's)")
    commands.add_parser("expect", help="regenerate the tiny profile's expected values")
    publish = commands.add_parser("publish", help="write the student-facing repository")
    publish.add_argument("out", type=Path, help="a folder (a clone of the public repository)")
    publish.add_argument("--through", type=int, required=True, metavar="N",
                         help="publish parts 1 to N")
    publish.add_argument("--repo-url", default=None,
                         help="the public repository's URL (default: course.toml's)")
    back = commands.add_parser("return-feedback",
                               help="zip the feedback pages for Canvas's Re-Upload Submissions")
    back.add_argument("--notebook", default=None, metavar="NAME",
                      help="only this notebook's pages (a week's part; default: every notebook's)")
    back.add_argument("--feedback", type=Path, default=None,
                      help="the feedback pages (default feedback/, nbgrader generate_feedback's)")
    back.add_argument("--out", type=Path, default=None,
                      help="the zip to write (default grading/feedback-for-canvas.zip)")
    bench = commands.add_parser("bench", help="where grading time goes, and --jobs 2 against --jobs 1")
    bench.add_argument("--profile", choices=["tiny", "full"], default="tiny")
    bench.add_argument("--students", type=int, default=4, help="complete submissions in the class")
    similar = commands.add_parser("similarity", help="rank pairs of students whose answers are alike")
    similar.add_argument("submissions", nargs="?", type=Path, default=SAMPLE_SUBMISSIONS,
                         help="<student_id>/dual_encoder/<notebook>.ipynb (default: the bundled samples)")
    similar.add_argument("--out", type=Path, default=None,
                         help="CSV of pairs (default grading/similarity.csv); the HTML page beside it")
    similar.add_argument("--top", type=int, default=50, help="pairs listed per function")
    story = commands.add_parser("story", help="the results table as mean ± std over training seeds")
    story.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    story.add_argument("--profile", choices=["tiny", "full"], default="tiny")
    story.add_argument("--part", "--notebook", dest="part", default=None, metavar="KEY",
                       help="whose results table, a part key (hard_negatives, going_further) or "
                            "its notebook's name (default: autograder/commands/story.py's PART)")
    cache = commands.add_parser("cache", help="the course-version cache: where it is and what it "
                                              "holds (info), or empty it (clear)")
    cache.add_argument("action", choices=["info", "clear"])
    args = parser.parse_args(argv)
    with stopped_by_signals():  # SIGTERM or SIGHUP: every command's scratch is removed on the way out
        try:
            return run(parser, args)
        except BaseException:
            number = stopping_signal()
            if number is None:
                raise
            # What the signal interrupted may have turned it into another error (nbclient does).
            print(f"python -m autograder {args.command}: stopped by "
                  f"{signal.Signals(number).name}", file=sys.stderr)
            return 128 + number


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "build":
        from autograder.commands.build import build
        build()
    elif args.command == "grade":
        from autograder.run import DEFAULT_OUT
        from autograder.run import grade as run_grade
        from autograder.nbgrading.gradebook import GRADEBOOK
        if args.jobs < 1:
            parser.error("--jobs must be at least 1")
        results = run_grade(args.submissions, args.out or DEFAULT_OUT, profile=args.profile,
                            jobs=args.jobs, scheduler=args.scheduler,
                            gradebook=GRADEBOOK if args.gradebook else None, cache=args.cache)
        if not results:
            return 1
        return 3 if any(result.grading_errors() for result in results) else 0
    elif args.command == "validate":
        from autograder.commands.validate import validate as run_validate
        return 0 if run_validate(args.profile, args.repo_url) else 1
    elif args.command == "publish":
        from autograder.commands.publish import PublishError
        from autograder.commands.publish import publish as run_publish
        try:
            written = run_publish(args.out, args.through, args.repo_url)
        except PublishError as error:
            print(f"publish: {error}", file=sys.stderr)
            return 1
        parts = "part 1" if args.through == 1 else f"parts 1 to {args.through}"
        print(f"wrote {len(written)} files to {args.out}: {parts}, the course library and its "
              "data, README.md, pyproject.toml")
    elif args.command == "return-feedback":
        from autograder.commands import return_feedback as back
        written, problems = back.return_feedback(args.feedback or back.FEEDBACK,
                                                 args.out or back.DEFAULT_OUT,
                                                 notebook=args.notebook)
        for problem in problems:
            print(f"return-feedback: {problem}", file=sys.stderr)
        print(f"wrote {len(written)} feedback pages to {args.out or back.DEFAULT_OUT}: upload it "
              "with Canvas's Re-Upload Submissions")
        return 1 if problems else 0
    elif args.command == "expect":
        from autograder.commands.expect import expect
        expect()
    elif args.command == "bench":
        from autograder.commands.bench import bench as run_bench
        summary = run_bench(args.profile, args.students)
        return 0 if summary["same_scores"] else 1
    elif args.command == "similarity":
        from autograder.commands.similarity import DEFAULT_OUT, report
        report(args.submissions, args.out or DEFAULT_OUT, args.top)
    elif args.command == "story":
        from autograder.commands.story import story as run_story
        run_story(args.seeds, args.profile, args.part)
    elif args.command == "cache":
        from autograder import cache as course_cache
        if args.action == "info":
            print(course_cache.info())
        else:
            freed, busy = course_cache.clear()
            print(f"emptied {course_cache.cache_root()}: {freed} bytes freed")
            for version in busy:
                print(f"cache clear: left version {version}, which a run is building",
                      file=sys.stderr)
            return 1 if busy else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Grade the lab: ``python grader/check.py task1|task2|task3|task4|all [--json] [--gradescope FILE]
[--as-of TIME]``.

Exit codes: 0 every TODO passes, 1 some TODO fails (or is skipped), 2 cannot grade.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

try:
    import grader  # noqa: F401 - installed with the lab (pip install -e .)
except ImportError:  # run from a checkout that is not installed: use this file's repository
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.core import grade  # noqa: E402
from grader.deadline import FORMAT, BadDeadline, parse_deadline  # noqa: E402
from grader.errors import CannotGrade  # noqa: E402
from grader.registry import TASKS  # noqa: E402
from grader import render  # noqa: E402

EXIT_PASS, EXIT_FAIL, EXIT_CANNOT_GRADE = 0, 1, 2


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(
        prog="python grader/check.py",
        description="Grade the lab's TODOs from the tracking store (it is only read).",
    )
    parser.add_argument("task", choices=[*TASKS, "all"], help="which task to grade")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--gradescope", metavar="FILE", type=Path,
                        help="also write a Gradescope results.json to FILE")
    parser.add_argument("--as-of", metavar="TIME",
                        help=f"grade only runs that ended by this deadline: {FORMAT}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        as_of = parse_deadline(args.as_of) if args.as_of is not None else None
    except BadDeadline as exc:
        print(f"Cannot grade: {exc}", file=sys.stderr)
        return EXIT_CANNOT_GRADE
    try:
        report = grade([args.task], as_of=as_of)
    except CannotGrade as exc:
        if args.debug:
            traceback.print_exc()
        print(f"Cannot grade: {exc}", file=sys.stderr)
        return EXIT_CANNOT_GRADE
    if args.gradescope:
        try:
            args.gradescope.write_text(json.dumps(render.to_gradescope(report), indent=2) + "\n",
                                       encoding="utf-8")
        except OSError as exc:
            print(f"Cannot write {args.gradescope} ({exc.strerror}). Does its folder exist?",
                  file=sys.stderr)
            return EXIT_CANNOT_GRADE
    if args.json:
        print(json.dumps(render.to_json(report), indent=2))
    else:
        render.print_report(report)
    if args.debug:
        for result in report.results:
            if result.debug:
                print(f"--- {result.id}\n{result.debug}", file=sys.stderr)
    return EXIT_PASS if report.all_passed else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())

"""Grade the lab: ``python grader/check.py task1|task2|task3|task4|all [--hint] [--json]
[--gradescope FILE] [--as-of TIME] [--lang es|en]``; ``--watch [TASK]`` grades again each time
the store changes (grader/watch.py; TASK is all by default) until Ctrl+C.

``--hint`` raises the hint level of every TODO of those tasks that does not pass by one, up to the
last, records it (grader/hint_levels.py) and shows every level reached (grader/hints.py).

Exit codes: 0 every TODO passes, 1 some TODO fails (or is skipped), 2 cannot grade.
The language: ``--lang``, else LAB_LANG, else LANGUAGE, LC_ALL, LC_MESSAGES, LANG (the first one set).
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

from grader import hint_levels  # noqa: E402
from grader.core import PASS, grade  # noqa: E402
from grader.deadline import FORMAT, BadDeadline, parse_deadline  # noqa: E402
from grader.errors import CannotGrade  # noqa: E402
from grader.registry import TASKS  # noqa: E402
from grader import render  # noqa: E402
from grader.watch import watch  # noqa: E402
from labkit.i18n import LANGUAGES, Domain, early_language, set_language  # noqa: E402

_, N_, _n = Domain("grader").functions()

EXIT_PASS, EXIT_FAIL, EXIT_CANNOT_GRADE = 0, 1, 2


def language_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=list(LANGUAGES),
                        help=_("the language of the report (default: LAB_LANG, else the locale (LANG), "
                               "else this copy's language, else English)"))


def parse_args(argv: list[str] | None):
    early_language(argv)  # --lang first, so that --help and argparse's own words speak it too
    parser = argparse.ArgumentParser(
        prog="python grader/check.py",
        description=_("Grade the lab's TODOs from the tracking store (it is only read)."),
    )
    parser.add_argument("task", choices=[*TASKS, "all"], nargs="?",
                        help=_("which task to grade (with --watch: all by default)"))
    parser.add_argument("--watch", action="store_true",
                        help=_("keep grading: again each time the tracking store changes (Ctrl+C stops)"))
    parser.add_argument("--hint", action="store_true",
                        help=_("one more level of help for each TODO that does not pass (it is recorded)"))
    parser.add_argument("--json", action="store_true", help=_("print the results as JSON"))
    parser.add_argument("--gradescope", metavar="FILE", type=Path,
                        help=_("also write a Gradescope results.json to FILE"))
    parser.add_argument("--as-of", metavar="TIME",
                        help=_("grade only runs that ended by this deadline: {format}", format=FORMAT))
    parser.add_argument("--debug", action="store_true", help=_("show tracebacks"))
    language_option(parser)
    args = parser.parse_args(argv)
    if args.task is None and not args.watch:
        parser.error(_("which task? e.g. python grader/check.py task1 (or --watch)"))
    if args.watch and (args.json or args.gradescope):
        parser.error(_("--watch prints the terminal report; --json and --gradescope grade once"))
    if args.watch and args.hint:
        parser.error(_("--hint asks for help once: run it without --watch, in another terminal"))
    set_language(args.lang)
    return args


def cannot_grade(reason) -> int:
    print(_("Cannot grade: {reason}", reason=reason), file=sys.stderr)
    return EXIT_CANNOT_GRADE


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        as_of = parse_deadline(args.as_of) if args.as_of is not None else None
    except BadDeadline as exc:
        return cannot_grade(exc)
    if args.watch:
        return watch([args.task or "all"], as_of=as_of)
    try:
        report = grade([args.task], as_of=as_of)
    except CannotGrade as exc:
        if args.debug:
            traceback.print_exc()
        return cannot_grade(exc)
    if args.hint:
        ask_for_hints(report)
    if args.gradescope:
        try:
            args.gradescope.write_text(json.dumps(render.to_gradescope(report), indent=2) + "\n",
                                       encoding="utf-8")
        except OSError as exc:
            print(_("Cannot write {file} ({error}). Does its folder exist?", file=args.gradescope,
                    error=exc.strerror), file=sys.stderr)
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


def ask_for_hints(report) -> None:
    """Raise the level of every TODO that does not pass and record it; the report shows them.
    A record that cannot be written is said in one line: the hints are shown all the same."""
    asked = [r.id for r in report.results if r.status != PASS]
    current = {r.id: r.hint_level for r in report.results if r.hint_level}
    try:
        levels = hint_levels.record(report.tracking_uri, current, asked)
    except Exception as exc:  # noqa: BLE001 - OSError or MlflowException: said, and the hints still shown
        levels = hint_levels.next_levels(current, asked)
        where = hint_levels.levels_file(report.tracking_uri) or report.tracking_uri
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        print(_("Could not record the hint levels in {where} ({reason}); they are shown anyway. "
                "Can you write there?", where=where, reason=reason), file=sys.stderr)
    for result in report.results:
        result.hint_level = levels.get(result.id, result.hint_level)


if __name__ == "__main__":
    sys.exit(main())

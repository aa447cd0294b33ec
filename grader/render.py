"""Renderers: the same Report as a terminal report, JSON, or a Gradescope results.json."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap

from grader.core import FAIL, PASS, SKIP, CheckResult, Report
from grader.deadline import shown
from grader.hints import LAST_LEVEL, level_text, shown_levels
from labkit.i18n import Domain, language

_, N_, _n = Domain("grader").functions()

# The verdict words stay PASS/FAIL/SKIP in every language: tools and students search for them.
LABELS = {PASS: "PASS", FAIL: "FAIL", SKIP: "SKIP"}
COLOURS = {PASS: "32", FAIL: "31", SKIP: "33"}  # green, red, yellow
INDENT = " " * 7
WIDTH = 100  # columns a quoted error is wrapped to, when the terminal's width is unknown


def use_colour(stream) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def to_text(report: Report, colour: bool = False, width: int = WIDTH) -> str:
    """One line per TODO; under it, why and what next. A cause shared by several TODOs is said
    once, naming them, and an error the verdicts read is quoted whole once (wrapped to ``width``)."""
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if colour else text

    lines = [paint(_("Grading {tasks} in {uri}{deadline}", tasks=", ".join(report.tasks),
                     uri=report.tracking_uri, deadline=deadline(report)), "2")]
    groups = causes(report.results)
    said: dict[tuple, str] = {}  # a cause said -> the first TODO it was said under
    quoted: dict[str, str] = {}  # an error quoted -> the TODO it was quoted under
    for stretch in stretches(report.results):
        for result in stretch:
            points = f"{result.points}/{result.max_points}"
            status = paint(LABELS[result.status], COLOURS[result.status])
            lines.append(f"{status} {result.id}  {result.description}  [{points}]")
        first = stretch[0]
        key = cause(first)
        if key is not None and key in said:
            lines.append(INDENT + _("same cause as {todo}, above", todo=said[key]))
        elif key is not None:
            said[key] = first.id
            lines.extend(explanation(first, groups[key], quoted, width))
        for result in stretch:  # the hint levels asked for are each TODO's own
            named = f"{result.id}: " if len(stretch) > 1 else ""
            lines.extend(INDENT + named + line for line in level_lines(result))
    more = more_help(report)
    if more:
        lines.append(paint(more, "2"))
    score = _("Score: {score}/{max_score}", score=report.score, max_score=report.max_score)
    lines.append(paint(score, "1;32" if report.all_passed else "1"))
    return "\n".join(lines) + "\n"


def cause(result: CheckResult) -> tuple | None:
    """What a result says under its line (None when nothing): equal for the same cause."""
    hint = result.hint if result.status != PASS else None
    said = (result.status, result.rationale, hint, result.note, tuple(result.errors))
    return said if any(said[1:]) else None


def causes(results: list[CheckResult]) -> dict[tuple, list[str]]:
    """Each cause, and the TODOs it is the cause of (in order)."""
    groups: dict[tuple, list[str]] = {}
    for result in results:
        key = cause(result)
        if key is not None:
            groups.setdefault(key, []).append(result.id)
    return groups


def stretches(results: list[CheckResult]) -> list[list[CheckResult]]:
    """The results in order, next ones with the same cause together (said once after them)."""
    found: list[list[CheckResult]] = []
    for result in results:
        key = cause(result)
        if found and key is not None and cause(found[-1][0]) == key:
            found[-1].append(result)
        else:
            found.append([result])
    return found


def explanation(result: CheckResult, todos: list[str], quoted: dict[str, str], width: int) -> list[str]:
    """The rationale, hint and note of a cause (naming its TODOs when several), then the errors
    they read, each quoted whole once and wrapped at words."""
    prefix = ", ".join(todos) + ": " if len(todos) > 1 else ""
    lines = []
    if result.rationale:
        lines.append(INDENT + prefix + result.rationale)
        prefix = ""
    if result.hint and result.status != PASS:
        lines.append(INDENT + prefix + _("hint: {hint}", hint=result.hint))
        prefix = ""
    if result.note:
        lines.append(INDENT + prefix + _("note: {note}", note=result.note))
    for error in result.errors:
        if error in quoted:
            lines.append(INDENT + _("the error in full: quoted under {todo}, above", todo=quoted[error]))
            continue
        quoted[error] = result.id
        lines.append(INDENT + _("the error in full, as it was raised:"))
        lines.extend(wrap(error, width, INDENT + "  "))
    return lines


def wrap(error: str, width: int, indent: str) -> list[str]:
    """``error`` whole, each of its lines wrapped at words to ``width`` (blank lines kept)."""
    lines = []
    for line in error.splitlines():
        lines.extend(textwrap.wrap(line, width=max(width, len(indent) + 20), initial_indent=indent,
                                   subsequent_indent=indent, break_long_words=False,
                                   break_on_hyphens=False) or [""])
    return lines


def level_lines(result) -> list[str]:
    """The hint levels asked for (``--hint``) of a TODO that does not pass, one line each; a
    skipped TODO, whose hint says what it waits for, shows its level 0 (the idea) then too."""
    if result.status == PASS or not result.hint_level:
        return []
    levels = shown_levels(result.id, result.hint_level)
    if result.status == SKIP:
        levels.insert(0, (0, level_text(result.id, 0)))
    return [_("hint, level {level} of {last}: {text}", level=level, last=LAST_LEVEL, text=text)
            for level, text in levels]


def more_help(report: Report) -> str | None:
    """The line that says ``--hint`` gives more, while a TODO that does not pass has more to give."""
    if not any(r.status != PASS and r.hint_level < LAST_LEVEL for r in report.results):
        return None
    task = report.tasks[0] if len(report.tasks) == 1 else "all"
    return _("More help: `python grader/check.py {task} --hint` shows the next hint level of each TODO "
             "that does not pass.", task=task)


def deadline(report: Report) -> str:
    """``, as of 2025-03-14T23:59:00+01:00 (...)`` when grading had a deadline, else nothing."""
    if report.as_of is None:
        return ""
    late = report.late_runs
    left_out = _n("; {count} other run not counted", "; {count} other runs not counted", late,
                  count=late) if late else ""
    return _(", as of {time} (runs that ended by then{left_out})", time=shown(report.as_of), left_out=left_out)


def result_dict(result) -> dict:
    return {
        "id": result.id,
        "task": result.task,
        "description": result.description,
        "status": result.status,
        "points": result.points,
        "max_points": result.max_points,
        "rationale": result.rationale,
        "hint": result.hint,
        "note": result.note,
        "depends": list(result.depends),
        "hint_level": result.hint_level,
        "evidence": [{"run_id": e.run_id, "run_name": e.run_name, "source": e.source}
                     for e in result.evidence],
        "errors": list(result.errors),
    }


def to_json(report: Report) -> dict:
    return {
        "tracking_uri": report.tracking_uri,
        "language": language(),
        "tasks": list(report.tasks),
        "as_of": shown(report.as_of) if report.as_of is not None else None,
        "late_runs": report.late_runs,
        "score": report.score,
        "max_score": report.max_score,
        "results": [result_dict(r) for r in report.results],
    }


def to_gradescope(report: Report) -> dict:
    """A Gradescope autograder results.json: one test per TODO, and the total score."""
    tests = []
    for result in report.results:
        output = [result.rationale, result.hint and _("hint: {hint}", hint=result.hint),
                  *level_lines(result), result.note and _("note: {note}", note=result.note)]
        for error in result.errors:  # each test stands alone: its errors, whole
            output.extend([_("the error in full, as it was raised:"), error])
        tests.append({
            "name": f"{result.id} {result.description}",
            "number": result.id,
            "score": result.points,
            "max_score": result.max_points,
            "status": "passed" if result.status == PASS else "failed",
            "output": "\n".join(line for line in output if line) or _("passed"),
            "extra_data": {"hint_level": result.hint_level},
        })
    return {
        "score": report.score,
        "output": _("Score: {score}/{max_score} ({tasks}){deadline}", score=report.score,
                    max_score=report.max_score, tasks=", ".join(report.tasks), deadline=deadline(report)),
        "tests": tests,
    }


def width_of(stream) -> int:
    """The columns to wrap a quoted error to: the terminal's, at most WIDTH."""
    on_terminal = hasattr(stream, "isatty") and stream.isatty()
    return min(shutil.get_terminal_size((WIDTH, 24)).columns if on_terminal else WIDTH, WIDTH)


def dim(text: str, colour: bool) -> str:
    return f"\033[2m{text}\033[0m" if colour else text


def print_report(report: Report, stream=None) -> None:
    stream = stream or sys.stdout
    stream.write(to_text(report, use_colour(stream), width_of(stream)))

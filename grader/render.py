"""Renderers: the same Report as a terminal report, JSON, or a Gradescope results.json."""

from __future__ import annotations

import os
import sys

from grader.core import FAIL, PASS, SKIP, Report
from grader.deadline import shown
from labkit.i18n import Domain, language

_, N_, _n = Domain("grader").functions()

# The verdict words stay PASS/FAIL/SKIP in every language: tools and students search for them.
LABELS = {PASS: "PASS", FAIL: "FAIL", SKIP: "SKIP"}
COLOURS = {PASS: "32", FAIL: "31", SKIP: "33"}  # green, red, yellow


def use_colour(stream) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def to_text(report: Report, colour: bool = False) -> str:
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if colour else text

    lines = [paint(_("Grading {tasks} in {uri}{deadline}", tasks=", ".join(report.tasks),
                     uri=report.tracking_uri, deadline=deadline(report)), "2")]
    for result in report.results:
        points = f"{result.points}/{result.max_points}"
        status = paint(LABELS[result.status], COLOURS[result.status])
        lines.append(f"{status} {result.id}  {result.description}  [{points}]")
        if result.rationale:
            lines.append(f"       {result.rationale}")
        if result.hint and result.status != PASS:
            lines.append("       " + _("hint: {hint}", hint=result.hint))
        if result.note:
            lines.append("       " + _("note: {note}", note=result.note))
    score = _("Score: {score}/{max_score}", score=report.score, max_score=report.max_score)
    lines.append(paint(score, "1;32" if report.all_passed else "1"))
    return "\n".join(lines) + "\n"


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
        "evidence": [{"run_id": e.run_id, "run_name": e.run_name, "source": e.source}
                     for e in result.evidence],
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
                  result.note and _("note: {note}", note=result.note)]
        tests.append({
            "name": f"{result.id} {result.description}",
            "number": result.id,
            "score": result.points,
            "max_score": result.max_points,
            "status": "passed" if result.status == PASS else "failed",
            "output": "\n".join(line for line in output if line) or _("passed"),
        })
    return {
        "score": report.score,
        "output": _("Score: {score}/{max_score} ({tasks}){deadline}", score=report.score,
                    max_score=report.max_score, tasks=", ".join(report.tasks), deadline=deadline(report)),
        "tests": tests,
    }


def print_report(report: Report, stream=None) -> None:
    stream = stream or sys.stdout
    stream.write(to_text(report, use_colour(stream)))

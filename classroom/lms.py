"""Grades out to an LMS: a Canvas and a Moodle import file, from the gradebook's rows.

Both files find each student by the roster's ``email``; a student without one is left
out (and named), because neither system would know whom the row is for. A student who
could not be graded gets an empty grade, which both systems read as "no grade", never
as a zero.

Canvas (Grades > Import). Canvas reads a CSV whose header starts ``Student, ID, SIS User
ID, SIS Login ID, Section`` followed by one column per assignment; an optional row whose
first cell is ``Points Possible`` sets the points of a new assignment; a column whose
title matches no assignment creates one. Canvas finds the student by ``ID``, then ``SIS
User ID``, then ``SIS Login ID`` (the login: the e-mail where students sign in with it),
then by name. Sources: Canvas's importer, instructure/canvas-lms
app/models/gradebook_importer.rb (``header?``, ``process_pp``, ``process_student``);
the Ohio State guide "Import CSV File for Carmen Grades"
(https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades).

Moodle (Grade administration > Import > CSV file). Any header; on the preview page the
teacher maps the identifying column ("Map from" ``Email address``, "Map to"
``useremail``) and each other column to a grade item or its feedback. An empty cell or
``-`` is no grade; a row whose user is not found stops the whole import, hence no row
without an e-mail. Sources: MoodleDocs "Grade import"
(https://docs.moodle.org/311/en/Grade_import), and moodle/moodle
grade/import/csv/classes/load_data.php (``map_user_data_with_value``, ``update_grade_item``,
``prepare_import_grade_data``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from classroom.roster import Student
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

GRADED = "graded"
CANVAS_FILE = "canvas.csv"
MOODLE_FILE = "moodle.csv"
CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "Points Possible"
MOODLE_EMAIL_COLUMN = "Email address"
DEFAULT_ASSIGNMENT = "MLflow tracking lab"


@dataclass
class Written:
    files: list[Path] = field(default_factory=list)
    without_email: list[str] = field(default_factory=list)  # usernames left out


def write_lms_files(out: Path, students: list[Student], rows: list[dict],
                    assignment: str = DEFAULT_ASSIGNMENT) -> Written:
    """Write ``out/canvas.csv`` and ``out/moodle.csv`` from the gradebook's rows (roster order)."""
    by_username = {row["student"]: row for row in rows}
    written = Written(without_email=[s.username for s in students if not s.email])
    pairs = [(s, by_username[s.username]) for s in students if s.email and s.username in by_username]
    points = next((row["max"] for row in rows if row["status"] == GRADED), None)
    written.files.append(_write(out / CANVAS_FILE, _canvas(pairs, assignment, points)))
    written.files.append(_write(out / MOODLE_FILE, _moodle(pairs, assignment)))
    return written


def _grade(row: dict) -> str:
    return str(row["total"]) if row["status"] == GRADED else ""


def _canvas(pairs, assignment: str, points) -> list[list]:
    table = [[*CANVAS_STUDENT_COLUMNS, assignment]]
    if points is not None:
        table.append([CANVAS_POINTS_ROW, "", "", "", "", str(points)])
    for student, row in pairs:
        table.append([student.name or student.username, "", "", student.email, "", _grade(row)])
    return table


def _moodle(pairs, assignment: str) -> list[list]:
    table = [[MOODLE_EMAIL_COLUMN, assignment, f"{assignment} (Feedback)"]]
    for student, row in pairs:
        table.append([student.email, _grade(row), _feedback(row)])
    return table


def _feedback(row: dict) -> str:
    if row["status"] != GRADED:
        return _("not graded ({status}): {problems}", status=row["status"], problems=row.get("problems", "")).strip()
    return row.get("problems") or _("all TODOs pass")


def _write(path: Path, table: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(table)
    return path

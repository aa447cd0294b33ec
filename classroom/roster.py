"""The class roster: a CSV with a ``username`` column (``name``, ``email`` and ``due`` optional).

``due`` is a student's own deadline (an extension), in --as-of's format: the gradebook, the
board and the LMS files grade that student as of it, whatever the class's --as-of.

A username names the student's MLflow user and workspace, so it follows MLflow's
workspace rules: 2-63 lowercase letters, digits and inner hyphens.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader.deadline import FORMAT, BadDeadline, parse_deadline
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

USERNAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])$")
# MLflow's own names, and the read-only user the gradebook grades with (classroom/grading_user.py).
# Something@somewhere.tld, without spaces or a second @: what every LMS accepts as an address.
EMAIL_PATTERN = re.compile(r"^[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"'.]+$")
RESERVED = {"default", "admin", "grader", "workspaces", "api", "ajax-api", "static-files"}


class RosterError(Exception):
    """The roster cannot be used; the message is one line that names the fix."""


@dataclass(frozen=True)
class Student:
    username: str
    name: str = ""
    email: str = ""
    due: datetime | None = None  # this student's own deadline (an extension): it overrides --as-of

    @property
    def workspace(self) -> str:
        return self.username


def read_roster(path: Path) -> list[Student]:
    """The students of the roster at ``path``; RosterError names the first row that cannot be used."""
    rows = _rows(path)
    if not rows or "username" not in rows[0][1]:
        raise RosterError(_("{path} needs a header row with a 'username' column (name, email optional).",
                            path=path))
    header = rows[0][1]
    students, usernames, emails = [], {}, {}
    for line, cells in rows[1:]:
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        where = _("{path}, line {line}", path=path, line=line)
        if len(cells) > len(header):
            raise RosterError(_("{where}: {count} cells where the header has {columns}. Is there a comma in a "
                                "name? Put that name in double quotes.", where=where, count=len(cells),
                                columns=len(header)))
        row = {column: (cells[index] if index < len(cells) else "").strip() for index, column in enumerate(header)}
        username, email = row.get("username", ""), row.get("email", "")
        check_username(username, where)
        if username in usernames:
            raise RosterError(_("{path}, line {line}: '{username}' appears twice (also line {first}). Remove one row?",
                                path=path, line=line, username=username, first=usernames[username]))
        usernames[username] = line
        if email:
            if not EMAIL_PATTERN.match(email):
                raise RosterError(_("{where}: '{email}' is not an e-mail address (the LMS files find the student "
                                    "by it). Correct it, or leave the cell empty.", where=where, email=email))
            if email.lower() in emails:
                first, other = emails[email.lower()]
                raise RosterError(_("{where}: {username} has the e-mail {email}, as {other} on line {first}: the "
                                    "LMS files would give one student two grades. Correct one of the two rows.",
                                    where=where, username=username, email=email, other=other, first=first))
            emails[email.lower()] = (line, username)
        students.append(Student(username, row.get("name", ""), email, _due(row.get("due", ""), where)))
    return students


def _due(text: str, where: str) -> datetime | None:
    if not text:
        return None
    try:
        return parse_deadline(text)
    except BadDeadline:
        raise RosterError(_("{where}: due '{text}' is not a time. Use {format}, or leave the cell empty "
                            "(the class's --as-of then applies).", where=where, text=text,
                            format=FORMAT)) from None


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line, cells) of each row; a row the csv module cannot read is refused with its line."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise RosterError(_("No roster at {path}. Is the path right?", path=path)) from None
    rows, line = [], 0
    with handle:
        reader = csv.reader(handle, strict=True)
        try:
            for cells in reader:
                start, line = line + 1, reader.line_num
                if line != start:  # a quoted cell ran over several lines: a quote was not closed
                    raise RosterError(_unclosed(path, start))
                rows.append((start, cells))
        except csv.Error as exc:
            if "end of data" in str(exc):
                raise RosterError(_unclosed(path, line + 1)) from None
            raise RosterError(_("{path}, line {line}: {reason}. A cell with a quote or a comma in it must be "
                                "in double quotes, its own quotes doubled (\"Ann \"\"Bo\"\" Smith\").",
                                path=path, line=reader.line_num, reason=exc)) from None
        except UnicodeDecodeError:
            raise RosterError(_("{path} is not UTF-8 text: save the roster as CSV UTF-8.", path=path)) from None
    return rows


def _unclosed(path: Path, line: int) -> str:
    return _("{path}, line {line}: a double quote opens a cell and is never closed, so the rest of the file "
             "would be read into that cell. Close the quote (or remove it).", path=path, line=line)


def check_username(username: str, where: str) -> None:
    if not USERNAME_PATTERN.match(username) or username in RESERVED:
        raise RosterError(_(
            "{where}: '{username}' cannot be a username. Use 2-63 lowercase letters, digits "
            "and inner hyphens (it names the student's workspace), and not one of {reserved}.",
            where=where, username=username, reserved=", ".join(sorted(RESERVED))))

"""The class roster: a CSV with a ``username`` column (``name`` and ``email`` optional).

A username names the student's MLflow user and workspace, so it follows MLflow's
workspace rules: 2-63 lowercase letters, digits and inner hyphens.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

USERNAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])$")
# MLflow's own names, and the read-only user the gradebook grades with (classroom/grading_user.py).
RESERVED = {"default", "admin", "grader", "workspaces", "api", "ajax-api", "static-files"}


class RosterError(Exception):
    """The roster cannot be used; the message is one line that names the fix."""


@dataclass(frozen=True)
class Student:
    username: str
    name: str = ""
    email: str = ""

    @property
    def workspace(self) -> str:
        return self.username


def read_roster(path: Path) -> list[Student]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise RosterError(_("No roster at {path}. Is the path right?", path=path)) from None
    if not rows or "username" not in rows[0]:
        raise RosterError(_("{path} needs a header row with a 'username' column (name, email optional).",
                            path=path))
    students, seen = [], set()
    for line, row in enumerate(rows, start=2):
        username = (row.get("username") or "").strip()
        check_username(username, _("{path}, line {line}", path=path, line=line))
        if username in seen:
            raise RosterError(_("{path}, line {line}: '{username}' appears twice. Remove one row?",
                                path=path, line=line, username=username))
        seen.add(username)
        students.append(Student(username, (row.get("name") or "").strip(), (row.get("email") or "").strip()))
    return students


def check_username(username: str, where: str) -> None:
    if not USERNAME_PATTERN.match(username) or username in RESERVED:
        raise RosterError(_(
            "{where}: '{username}' cannot be a username. Use 2-63 lowercase letters, digits "
            "and inner hyphens (it names the student's workspace), and not one of {reserved}.",
            where=where, username=username, reserved=", ".join(sorted(RESERVED))))

"""Handing out the credentials: a message per student, written by ``provision``.

For each student on the roster who has a connection file, ``provision`` writes, next to the
connection files (``--out``, by default ``<state>/connections``), ``messages/<username>.txt``
(what to put where: the lines of the connection file, the commands that load it on Linux/macOS
and on Windows, where the guide is) and one ``messages/messages.csv`` for a mail merge (a row per student: username, name, email,
the message's subject and fields, and ``new``: yes when this run gave them a new password, so
that only those need a message). In the language of the command (``--lang es``). The folder is
private (0700, files 0600, a ``.gitignore`` of ``*``), as the rest of the state: the messages
hold passwords. ``deactivate`` and ``remove`` delete a student's message with their file.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from classroom.connection import env_file, protect_folder, read_env_file
from classroom.private import open_private, private_folder
from classroom.roster import Student
from labkit.i18n import Domain, language

_, N_, _n = Domain("classroom").functions()

FOLDER = "messages"
CSV_NAME = "messages.csv"
NEW_PASSWORD = ("created", "reactivated", "password-reset")
# The commands that load a connection file into the shell (INSTRUCTORS.md, section 3).
LINUX = "set -a; . ./{file}; set +a"
WINDOWS = "Get-Content {file} | ? {{$_ -match '^[A-Z]'}} | % {{ $k,$v = $_ -split '=',2; Set-Item \"env:$k\" $v }}"
COLUMNS = ["username", "name", "email", "new", "subject", "server", "connection_file", "connection",
           "linux_command", "windows_command", "lab_guide", "message_file", "message"]


@dataclass
class Written:
    folder: Path
    csv: Path
    count: int


def guide_link(lab_url: str | None) -> str:
    """Where the students read the lab's guide: the URL given, else the file in their copy."""
    return lab_url or ("LAB.es.md" if language() == "es" else "LAB.md")


def connection_lines(file: Path) -> str:
    """The lines a student saves: the connection file's settings (and LAB_LANG=es in Spanish)."""
    lines = [line for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if language() == "es" and "LAB_LANG" not in read_env_file(file):
        lines.append("LAB_LANG=es")
    return "\n".join(lines)


def fields(student: Student, file: Path, lab_url: str | None) -> dict[str, str]:
    settings = read_env_file(file)
    name = f"{student.username}.env"
    return {
        "username": student.username, "name": student.name, "email": student.email,
        "subject": _("Your account on the class's MLflow server ({username})", username=student.username),
        "server": settings.get("MLFLOW_TRACKING_URI", ""), "connection_file": name,
        "connection": connection_lines(file), "linux_command": LINUX.format(file=name),
        "windows_command": WINDOWS.format(file=name), "lab_guide": guide_link(lab_url),
    }


def message(values: dict[str, str]) -> str:
    """The text a student receives (the subject is its first line)."""
    return "\n".join([
        values["subject"], "",
        _("Hello {name},", name=values["name"] or values["username"]), "",
        _("You have an account on the class's MLflow server, {server}: user {username}, in a workspace "
          "of your own. Your password is in the lines below: keep them private, never commit them or "
          "share them.", server=values["server"], username=values["username"]), "",
        _("1. In the top folder of your copy of the lab, save these lines as a file named {file} "
          "(git leaves *.env files out):", file=values["connection_file"]), "",
        values["connection"], "",
        _("2. Load it in each new terminal where you run the lab:"),
        _("   Linux, macOS (bash, zsh):  {command}", command=values["linux_command"]),
        _("   Windows (PowerShell):      {command}", command=values["windows_command"]), "",
        _("3. Then follow the guide, {guide}, as on your own computer: your runs go to the class "
          "server, and `python grader/check.py task1` grades them there.", guide=values["lab_guide"]), "",
        _("4. The MLflow UI is at {server}: sign in with the same user and password.",
          server=values["server"]), "",
    ])


def message_file(connections: Path, username: str) -> Path:
    return connections / FOLDER / f"{username}.txt"


def write_messages(connections: Path, students: list[Student], statuses: dict[str, str],
                   lab_url: str | None = None) -> Written:
    """A message per student who has a connection file, and the CSV of them all: a provision
    with another roster (students added later) keeps the rows of the students it left alone."""
    folder = private_folder(connections / FOLDER)
    protect_folder(folder)
    rows = []
    for student in students:
        file = env_file(connections, student.username)
        if not file.is_file():
            continue
        values = fields(student, file, lab_url)
        values["new"] = "yes" if statuses.get(student.username) in NEW_PASSWORD else "no"
        text = message(values)
        path = message_file(connections, student.username)
        with open_private(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        path.chmod(0o600)
        rows.append({**values, "message_file": str(path), "message": text})
    table = folder / CSV_NAME
    rows += earlier_rows(table, connections, {row["username"] for row in rows})
    with open_private(table, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    table.chmod(0o600)
    return Written(folder, table, len(rows))


def earlier_rows(table: Path, connections: Path, written: set[str]) -> list[dict[str, str]]:
    """The rows an earlier provision wrote for students this one left alone, while their
    connection file is still there; none of them got a new password now."""
    try:
        with open(table, encoding="utf-8", newline="") as handle:
            earlier = list(csv.DictReader(handle))
    except (OSError, csv.Error):
        return []
    return [{**{key: row.get(key) or "" for key in COLUMNS}, "new": "no"} for row in earlier
            if row.get("username") and row["username"] not in written
            and env_file(connections, row["username"]).is_file()]

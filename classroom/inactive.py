"""Students who left the class: deactivated or removed, as the instructor's commands left them.

``deactivate`` and ``remove`` note the student in ``<state>/inactive.json`` (private, like the
rest of the state folder); ``provision`` (a new user, or a deactivated one let back in) and
``restore`` take the note away. The gradebook and the board read it: a deactivated student is
graded as before (their work is kept) and flagged; a removed student is not graded (their
workspace is gone: its backup holds the work) and their row says so. The LMS files then give a
deactivated student their grade and a removed one no grade (an empty cell, never a zero).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from classroom.private import open_private, private_folder
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

FILE = "inactive.json"
DEACTIVATED, REMOVED = "deactivated", "removed"


def read(state: Path) -> dict[str, dict]:
    """``{username: {"status": "deactivated" | "removed", "since": "2025-03-14 10:02"}}``."""
    try:
        return json.loads((state / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def mark(state: Path, username: str, status: str) -> None:
    _write(state, {**read(state), username: {"status": status, "since": time.strftime("%Y-%m-%d %H:%M")}})


def clear(state: Path, username: str) -> None:
    notes = read(state)
    if notes.pop(username, None) is not None:
        _write(state, notes)


def describe(note: dict) -> str:
    """``deactivated on 2025-03-14 10:02``, in the language spoken now."""
    if note["status"] == REMOVED:
        return _("removed on {since}", since=note["since"])
    return _("deactivated on {since}", since=note["since"])


def _write(state: Path, notes: dict) -> None:
    private_folder(state)
    partial = state / (FILE + ".tmp")
    with open_private(partial, encoding="utf-8") as handle:
        handle.write(json.dumps(notes, indent=1, sort_keys=True) + "\n")
    partial.replace(state / FILE)

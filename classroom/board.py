"""The live progress board's state: one row per student, one cell per TODO, kept fresh.

A refresh looks at every workspace cheaply (classroom/board_changes.py) and grades again
only the students whose work changed, or whom the last grading could not grade (their last good
grade shown meanwhile, with why it was not replaced), through the gradebook's own per-student function
(``Gradebook.grade_student``: the same isolated child, read-only grading user and TODO
columns), so the board and the gradebook never disagree. The HTTP side is
classroom/board_server.py; the page is classroom/board.html.

A cell also says how many levels of help its student asked for (``hints``: 0 to 2, read from
the gradebook's report), shown as a small number beside its symbol.

A cell is ``pass``, ``fail``, ``skip`` (waits for another TODO) or ``not-started`` (the
TODO has no point and its task has no run in the store yet). A cell's text is the grader's
words in the board's language (the gradebook's children speak it), with this module's own
"hint:" and "note:" in the same language.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

from classroom import inactive
from classroom.board_changes import LOOKS_AT_ONCE, Fingerprint, looker
from classroom.gradebook import NOT_GRADED, Gradebook
from classroom.isolation import CANNOT_GRADE, GRADED
from classroom.roster import RosterError, Student, read_roster
from classroom.server import health
from grader.checks import task_of
from grader.deadline import shown
from grader.hints import LAST_LEVEL
from grader.registry import CHECKS, todo_ids
from labkit.i18n import Domain, text

_, N_, _n = Domain("classroom").functions()

PASS, FAIL, SKIP, NOT_STARTED = "pass", "fail", "skip", "not-started"
WAITING = "waiting"  # a row the first pass has not graded yet
# The gradebook's columns the cells and the score show; any other column it fills is a flag.
SHOWN_COLUMNS = {"student", *todo_ids(), "total", "max", "status", "problems", "hints_used", "deadline"}


@dataclass
class Refresh:
    """What the last finished refresh did."""

    finished_at: float = 0.0  # time.time()
    seconds: float = 0.0
    looked_at: int = 0
    regraded: list[str] = field(default_factory=list)
    error: str = ""  # one line when the refresh could not look at the class


def _waiting(student: Student) -> dict:
    return {"student": student.username, "name": student.name, "status": WAITING, "cells": []}


def noted(seen: Fingerprint, note: dict | None) -> Fingerprint:
    """The workspace's fingerprint and the student's note (deactivated, removed): either changing
    means grading the student again (classroom/inactive.py)."""
    return seen if note is None else replace(seen, digest=f"{seen.digest} {note['status']} {note['since']}")


def _millis(moment) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _stamp(path: Path | None) -> tuple | None:
    """What tells that a file changed (its modification time and size), None if it is missing."""
    try:
        found = path.stat()
    except (OSError, AttributeError):
        return None
    return (found.st_mtime_ns, found.st_size)


def cells(report: dict | None, started: frozenset[str]) -> list[dict]:
    """The row's cells from the grader's report: state and the grader's own words."""
    if report is None:
        return []
    results = {r["id"]: r for r in report["results"]}
    out = []
    for todo in todo_ids():
        result = results.get(todo, {"status": FAIL, "rationale": _("not in the grader's report")})
        state = {"pass": PASS, "fail": FAIL, "skip": SKIP}[result["status"]]
        if state != PASS and task_of(todo) not in started:
            state = NOT_STARTED
        hints = result.get("hint_level") or 0  # the help the student asked for (check.py --hint)
        words = [result.get("rationale"), result.get("hint") and _("hint: {hint}", hint=result["hint"]),
                 result.get("note") and _("note: {note}", note=result["note"]),
                 hints and _("hints used: level {level} of {last}", level=hints, last=LAST_LEVEL)]
        out.append({"id": todo, "state": state, "hints": hints,
                    "text": "\n".join(w for w in words if w) or _("passes")})
    return out


def stuck_on_most(rows: list[dict]) -> dict | None:
    """The TODO that fails for the most students who started its task (its ``fail`` cells;
    a skip waits for another TODO and a task not started is not being worked on). A tie
    goes to the earlier TODO, which holds up the ones after it. None when nothing fails."""
    failing: dict[str, list[str]] = {}
    for row in rows:
        for cell in row.get("cells", []):
            if cell["state"] == FAIL:
                failing.setdefault(cell["id"], []).append(row["student"])
    if not failing:
        return None
    order = todo_ids()
    todo = max(failing, key=lambda t: (len(failing[t]), -order.index(t)))
    return {"todo": todo, "description": text(CHECKS[todo].description), "students": failing[todo]}


class Board:
    """The class's rows, refreshed by ``refresh()``; ``snapshot()`` is what the page shows."""

    def __init__(self, book: Gradebook, students: list[Student], roster: Path | None = None,
                 look=None) -> None:
        self.book = book
        self.students = students
        self.rows = {s.username: _waiting(s) for s in students}
        self.roster = roster  # read again at each refresh when it changed (students added, dropped)
        self.roster_seen = _stamp(roster)
        self.roster_error = ""
        self.prints: dict[str, Fingerprint] = {}
        self.retry: set[str] = set()  # students the last grading could not grade: graded again at each refresh
        self.last = Refresh()
        self.running: dict | None = None  # {"done", "total"} while a refresh grades
        self.refreshes = 0  # finished refreshes
        self.every: float | None = None  # seconds between automatic refreshes (the page says it)
        self.lock = threading.Lock()
        as_of = book.as_of
        # each look with the student's deadline (Gradebook.deadline_of): over HTTP, or given
        # (classroom/board_database.py reads the tracking database with a read-only role)
        self.look = look or looker(book.url)
        self.as_of = None if as_of is None else shown(as_of)
        self.stopping = threading.Event()

    def reload_roster(self) -> None:
        """Take the roster again if its file changed: new students get a row (graded at this
        refresh), dropped ones lose theirs. A roster that cannot be read keeps the students as
        they were, and the page says why."""
        stamp = _stamp(self.roster)
        if stamp == self.roster_seen:
            return
        try:
            students = read_roster(self.roster)
        except RosterError as exc:
            self.roster_error = _("The roster changed but cannot be read ({reason}); the board keeps the "
                                  "students it had.", reason=exc)
            return
        self.roster_seen, self.roster_error = stamp, ""
        with self.lock:
            self.rows = {s.username: self.rows.get(s.username) or _waiting(s) for s in students}
            self.students = students

    def refresh(self) -> Refresh:
        """Look at every workspace; grade again, as soon as it is seen, each student whose work changed."""
        started = time.monotonic()
        if self.roster is not None:
            self.reload_roster()
        if not health(self.book.url, timeout=5):
            return self._finish(Refresh(error=_("The class server at {url} does not answer; "
                                                "the rows show the last grades. Is it running?",
                                                url=self.book.url)), started)
        with self.lock:
            self.running = {"done": 0, "total": 0}
        self.book.server_down = False
        regraded: list[str] = []
        notes = inactive.read(self.book.state) if self.book.state is not None else {}
        survey = getattr(self.look, "survey", None)  # the database's one pass (classroom/board_database.py)
        if survey is not None:
            survey()
        with ThreadPoolExecutor(LOOKS_AT_ONCE) as lookers, ThreadPoolExecutor(self.book.jobs) as graders:
            looks = {lookers.submit(self.look, s.workspace, _millis(self.book.deadline_of(s))): s
                     for s in self.students}
            gradings = {}
            try:
                for seen in as_completed(looks):
                    student = looks[seen]
                    now = noted(seen.result(), notes.get(student.username))
                    if self._changed(student, now):
                        gradings[graders.submit(self._grade, student)] = (student, now)
                        with self.lock:
                            self.running["total"] += 1
                for graded in as_completed(gradings):
                    if self.stopping.is_set():  # its grading was cut short: not a grade
                        break
                    student, fingerprint = gradings[graded]
                    row, outcome = graded.result()
                    self._keep(student, row, outcome, fingerprint)
                    regraded.append(student.username)
            finally:
                lookers.shutdown(wait=False, cancel_futures=True)
                graders.shutdown(wait=False, cancel_futures=True)
        return self._finish(Refresh(looked_at=len(self.students), regraded=regraded), started)

    def _changed(self, student: Student, now: Fingerprint) -> bool:
        row = self.rows[student.username]
        if row["status"] in (WAITING, NOT_GRADED):  # never graded, or cut off by a server outage
            return True
        if student.username in self.retry:  # could not be graded (a grading user refused, a reset...)
            return True
        return self.prints.get(student.username) != now

    def _grade(self, student: Student):
        if self.stopping.is_set():
            return {"student": student.username, "status": NOT_GRADED, "problems": _("the board stopped")}, None
        return self.book.grade_student(student)

    def _keep(self, student: Student, row: dict, outcome, seen: Fingerprint) -> None:
        report = outcome.report if outcome is not None and outcome.status == GRADED else None
        flags = {k: v for k, v in row.items() if k not in SHOWN_COLUMNS and v not in (None, "")}
        if student.due is not None:  # an extension: this row is graded as of the student's own deadline
            flags[str(_("due"))] = shown(student.due)
        kept = {"student": student.username, "name": student.name, "status": row["status"],
                "total": row.get("total"), "max": row.get("max"), "problems": row.get("problems", ""),
                "flags": flags, "cells": cells(report, seen.started), "graded_at": time.time()}
        with self.lock:
            before = self.rows.get(student.username)
            if row["status"] == CANNOT_GRADE and before is not None and before["status"] == GRADED:
                # The last good grade stays, saying why this grading could not replace it.
                again = {k: v for k, v in before["flags"].items() if k != str(_("not graded again"))}
                kept = {**before, "flags": {**again, str(_("not graded again")): row.get("problems", "")}}
            self.rows[student.username] = kept
            self.prints[student.username] = seen
            if row["status"] == CANNOT_GRADE:
                self.retry.add(student.username)
            else:
                self.retry.discard(student.username)
            if self.running is not None:
                self.running["done"] += 1

    def failed(self, why: str) -> None:
        """A refresh that broke off: the rows keep their last grades, the page says why."""
        self._finish(Refresh(error=why), time.monotonic())

    def _finish(self, refresh: Refresh, started: float) -> Refresh:
        refresh.seconds = time.monotonic() - started
        refresh.finished_at = time.time()
        with self.lock:
            self.last, self.running = refresh, None
            self.refreshes += 1
        return refresh

    def snapshot(self) -> dict:
        """Everything the page shows, as plain JSON."""
        with self.lock:
            rows = [dict(self.rows[s.username]) for s in self.students]
            last, running, refreshes = self.last, self.running and dict(self.running), self.refreshes
        graded = [r for r in rows if r["status"] == GRADED]
        return {
            "todos": [{"id": t, "description": text(CHECKS[t].description)} for t in todo_ids()],
            "rows": rows,
            "stuck": stuck_on_most(graded),
            "ungraded": [{"student": r["student"], "why": r["problems"]}
                         for r in rows if r["status"] not in (GRADED, WAITING)],
            "refreshes": refreshes,
            "every": self.every,
            "as_of": self.as_of,  # the deadline the grades are as of, or None
            "running": running,
            "notice": self.roster_error,  # the roster changed and cannot be read: the page says so
            "last": {"finished_at": last.finished_at, "seconds": round(last.seconds, 2),
                     "looked_at": last.looked_at, "regraded": last.regraded, "error": last.error},
        }

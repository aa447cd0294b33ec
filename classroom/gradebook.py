"""Grade every student on the roster from the class server: a CSV and Gradescope files.

Students are graded in parallel, each in an isolated child (classroom/isolation.py).
Rows are written as students finish, so an interrupted run keeps what it graded; the
finished file is sorted in roster order. One student's broken state fills that
student's row and never stops the others. If the server stops answering, grading
stops launching students and says so in one line.

The ``hints_used`` column lists the TODOs whose help the student asked for, with the level
reached (``3.2:2; 3.3:1``): the grader reads the levels, which each ``--hint`` request records as
tags on the task's experiment in the student's workspace (grader/hint_levels.py), with the grading user.

A student whose points stand on runs logged from ``solutions/`` (MLflow's tag
``mlflow.source.name``, which the grader reports with each passing TODO) is flagged in
the ``flags`` column and in the summary; the points are not changed. With a deadline
(``as_of``), only what was made by then counts (grader/deadline.py).

The grading children speak the instructor's language (``--lang``, LAB_LANG: each child gets
``LAB_LANG``), so the ``problems`` and ``flags`` columns and the Gradescope files are in it;
the column names stay English, for the LMSs and scripts that read them.

The ``deadline`` column says which deadline a row was graded as of: the student's own (the
roster's ``due``, an extension) or the class's (``--as-of``); empty when there was none.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath

from requests import RequestException

from classroom import inactive
from classroom.grading_user import CREDENTIALS_FILE
from classroom.isolation import CANNOT_GRADE, GRADED, Outcome, grade_isolated
from classroom.roster import Student
from classroom.server import ServerError, health, signed_in_user
from grader.deadline import shown
from grader.registry import todo_ids
from labkit.i18n import Domain, environment_for

_, N_, _n = Domain("classroom").functions()

TODO_IDS = todo_ids()
COLUMNS = ["student", *TODO_IDS, "total", "max", "status", "problems", "flags", "hints_used", "deadline"]
SOLUTIONS_FOLDER = "solutions"
NOT_GRADED = "not-graded"
CSV_NAME = "gradebook.csv"


def row_for(student: Student, outcome: Outcome) -> dict:
    row = {"student": student.username, "status": outcome.status}
    if outcome.status != GRADED:
        return {**row, "problems": outcome.error}
    report = outcome.report
    points = {r["id"]: r["points"] for r in report["results"]}
    row.update({todo: points.get(todo, 0) for todo in TODO_IDS})
    row.update(total=report["score"], max=report["max_score"], problems=problems(report),
               flags=flags(report), hints_used=hints_used(report))
    return row


def hints_used(report: dict) -> str:
    """The TODOs whose help the student asked for (``check.py --hint``), each with the level
    reached: ``3.2:2; 3.3:1``; empty when none."""
    return "; ".join(f"{r['id']}:{r['hint_level']}" for r in report["results"] if r.get("hint_level"))


def problems(report: dict) -> str:
    """The failed and skipped TODOs and why, in one cell: '3.3: logged with cloudpickle | 4.1: skipped ...'.
    As of a deadline, the grader's "found none" says what is true: none by the deadline."""
    missed = [r for r in report["results"] if r["status"] in ("fail", "skip")]
    deadline = report.get("as_of") is not None
    return " | ".join(f"{r['id']}: {_reason(r, deadline)}" for r in missed)


# The end of the grader's rationale when it found nothing (grader/task*.py, English and Spanish).
FOUND_NONE = re.compile(r"(found none(?: of them)?|no se encontró ningun[oa]|se encontró: ninguno de ellos)$")


def _reason(result: dict, deadline: bool) -> str:
    reason = result["rationale"] or result["status"]
    return FOUND_NONE.sub(lambda _found: str(_("none by the deadline")), reason) if deadline else reason


def solution_runs(report: dict) -> dict[str, list[str]]:
    """The solutions/ scripts that logged the runs passing TODOs stood on, each with those
    TODOs: ``{"solutions/task3_compare.py": ["3.1", "3.2", "3.3"]}``."""
    found: dict[str, list[str]] = {}
    for result in report["results"]:
        for evidence in result.get("evidence", []):
            script = solution_script(evidence.get("source"))
            if script and result["id"] not in found.setdefault(script, []):
                found[script].append(result["id"])
    return found


def solution_script(source: str | None) -> str | None:
    """``solutions/task3_compare.py`` when MLflow's source of a run (the script's path as it
    was typed, on the student's computer) is a script in a folder named solutions."""
    if not source:
        return None
    path = PureWindowsPath(source) if "\\" in source else PurePosixPath(source)
    if len(path.parts) >= 2 and path.parts[-2] == SOLUTIONS_FOLDER:
        return f"{SOLUTIONS_FOLDER}/{path.name}"
    return None


def flags(report: dict) -> str:
    """``ran solutions/task3_compare.py (3.1, 3.2, 3.3)``: what the instructor should look at."""
    return "; ".join(_("ran {script} ({todos})", script=script, todos=", ".join(todos))
                     for script, todos in solution_runs(report).items())


class Gradebook:
    def __init__(self, server_url: str, admin_env: dict[str, str], out: Path,
                 jobs: int = 2, timeout: float = 120.0, progress=sys.stderr,
                 as_of: datetime | None = None, state: Path | None = None) -> None:
        self.url = server_url
        self.state = state  # where deactivate and remove noted who left (classroom/inactive.py)
        self.admin_env = admin_env
        self.out = out
        self.jobs = jobs
        self.timeout = timeout
        self.progress = progress
        self.as_of = as_of  # the deadline: only what was made by then counts
        self.server_down = False
        # By workspace: what the last grade of that student read off their logged models (a model's
        # class, params, predictions on the test split; grader/context.py ``ModelFacts``), handed to
        # that student's next grading child only, so that a re-grade loads only the models that are
        # new. Keyed by model id and state: a new model, or the alias moved, is a new key.
        self.models: dict[str, dict] = {}
        self.first_row_s: float | None = None  # seconds grade_all took to its first row (bench/bench_board.py)

    def student_env(self, student: Student) -> dict[str, str]:
        """The grading child's settings: the server, the student's workspace, the grading
        user's credentials, and this process's language (the grader's verdicts come back in it)."""
        return {**self.admin_env, "MLFLOW_TRACKING_URI": self.url, "MLFLOW_WORKSPACE": student.workspace,
                **environment_for()}

    def deadline_of(self, student: Student) -> datetime | None:
        """The student's own deadline (the roster's ``due``, an extension), else the class's."""
        return student.due or self.as_of

    def grade_all(self, students: list[Student]) -> list[dict]:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "gradescope").mkdir(exist_ok=True)
        rows: dict[str, dict] = {}
        ran_solutions: set[str] = set()  # the summary's flagged: runs of solutions/, not a deactivation
        started = time.monotonic()
        with open(self.out / CSV_NAME, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            with ThreadPoolExecutor(max_workers=self.jobs) as pool:
                futures = {pool.submit(self.grade_student, s): s for s in students}
                for future in as_completed(futures):
                    student = futures[future]
                    row, outcome = future.result()
                    rows[student.username] = row
                    if outcome.report is not None and flags(outcome.report):
                        ran_solutions.add(student.username)
                    if self.first_row_s is None:
                        self.first_row_s = time.monotonic() - started
                    writer.writerow(row)
                    handle.flush()
                    self._show(len(rows), len(students), row)
        ordered = [rows[s.username] for s in students]
        self._write_sorted(ordered)
        self._summary(ordered, time.monotonic() - started,
                      [s.username for s in students if s.username in ran_solutions])
        return ordered

    def grade_student(self, student: Student) -> tuple[dict, Outcome]:
        """One student, graded now: their gradebook row, and the grader's report behind it
        (the board, classroom/board.py, grades through this too, so the two never disagree)."""
        note = inactive.read(self.state).get(student.username) if self.state is not None else None
        if note is not None and note["status"] == inactive.REMOVED:  # no workspace left to grade
            outcome = Outcome(inactive.REMOVED, error=_("{removed}: the work is in their backup "
                                                        "(`python -m classroom restore`)",
                                                        removed=inactive.describe(note)))
            return row_for(student, outcome), outcome
        outcome = self._grade_one(student)
        row = row_for(student, outcome)
        deadline = self.deadline_of(student)
        if deadline is not None:  # the one this row was graded as of: the class's, or the student's own `due`
            row["deadline"] = shown(deadline)
        if note is not None:  # deactivated: graded as before, and flagged
            row["flags"] = "; ".join(f for f in (inactive.describe(note), row.get("flags")) if f)
        return row, outcome

    def _grade_one(self, student: Student) -> Outcome:
        if self.server_down:
            return Outcome(NOT_GRADED, error=_("not graded: the server at {url} stopped answering", url=self.url))
        known = self.models.pop(student.workspace, None)
        outcome = grade_isolated(self.student_env(student), self.timeout, self.deadline_of(student), known)
        if outcome.status == GRADED and outcome.models:
            self.models[student.workspace] = outcome.models
        if outcome.status == CANNOT_GRADE:
            if not health(self.url):
                self.server_down = True
            elif self._refused():  # the student's words ("your connection file") would mislead here
                outcome = replace(outcome, error=_(
                    "the server did not accept the grading user '{user}' (a new database, or its password "
                    "changed): run `python -m classroom provision`, which makes it again with the password "
                    "in {file}; a running board grades again at its next refresh",
                    user=self.admin_env.get("MLFLOW_TRACKING_USERNAME"), file=self._credentials_file()))
        if outcome.gradescope is not None:
            path = self.out / "gradescope" / student.username / "results.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(outcome.gradescope, indent=2) + "\n", encoding="utf-8")
        return outcome

    def _refused(self) -> bool:
        """Does the server refuse the credentials this gradebook grades with?"""
        user = self.admin_env.get("MLFLOW_TRACKING_USERNAME")
        try:
            return bool(user) and signed_in_user(self.url, user, self.admin_env.get("MLFLOW_TRACKING_PASSWORD", "")) is None
        except (ServerError, RequestException):
            return False

    def _credentials_file(self) -> str:
        return str(self.state / CREDENTIALS_FILE) if self.state is not None else CREDENTIALS_FILE

    def _write_sorted(self, rows: list[dict]) -> None:
        path = self.out / CSV_NAME
        partial = path.with_suffix(".csv.tmp")
        with open(partial, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        partial.replace(path)

    def _show(self, done: int, total: int, row: dict) -> None:
        width = len(str(total))
        score = f"{row['total']}/{row['max']}" if row["status"] == GRADED else row["status"]
        flagged = " " + _("(flagged: {flags})", flags=row["flags"]) if row.get("flags") else ""
        print(f"[{done:>{width}}/{total}] {row['student']}: {score}{flagged}", file=self.progress, flush=True)

    def _summary(self, rows: list[dict], seconds: float, flagged: list[str]) -> None:
        """``flagged``: the students whose graded runs came from solutions/ (a deactivated
        student's flag is their row's, not this line's)."""
        graded = sum(1 for r in rows if r["status"] == GRADED)
        as_of = " " + _("as of {time}", time=shown(self.as_of)) if self.as_of is not None else ""
        flagged_text = "; " + _n("{count} flagged, their graded runs logged from {folder}/: {students} (column flags)",
                                 "{count} flagged, their graded runs logged from {folder}/: {students} (column flags)",
                                 len(flagged), count=len(flagged), folder=SOLUTIONS_FOLDER,
                                 students=", ".join(flagged)) if flagged else ""
        print(_n("Graded {graded} of {total} student{as_of} in {seconds:.1f} s{flagged}; "
                 "wrote {csv} and {gradescope}/<student>/results.json",
                 "Graded {graded} of {total} students{as_of} in {seconds:.1f} s{flagged}; "
                 "wrote {csv} and {gradescope}/<student>/results.json",
                 len(rows), graded=graded, total=len(rows), as_of=as_of, seconds=seconds, flagged=flagged_text,
                 csv=self.out / CSV_NAME, gradescope=self.out / "gradescope"), file=self.progress)
        if self.server_down:
            print(_("The tracking server at {url} stopped answering during grading; the rows "
                    "graded before are kept. Is it running? Start it and run the same command again.",
                    url=self.url), file=self.progress)

"""The live progress board (`python -m classroom board`, classroom/board*.py).

Unit level, on a real local SQLite store: what counts as a change in a workspace, which
TODO the class is stuck on most, what a cell shows. On the class server (real PostgreSQL,
real `mlflow server`, test/classroom_world.py) and in a real browser: the page's cells,
scores and rationale for students in different states, an on-demand refresh that grades
only the student who logged a new run, and Ctrl+C.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from classroom_world import ROOT, write_roster

from classroom.board import FAIL, NOT_STARTED, PASS, SKIP, cells, stuck_on_most
from classroom.board_changes import fingerprint, started_tasks
from labkit import lab
from grader.checks import task_of
from grader.registry import todo_ids

TODO_IDS = todo_ids()


# --- change detection ------------------------------------------------------------------

@pytest.fixture
def client(ready_store, monkeypatch):
    """A client of a store as a script's start leaves it (the lab's experiments, no run): a copy of
    the session's template, not MLflow's tables made again for each test."""
    from mlflow import MlflowClient

    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_WORKSPACE"):
        monkeypatch.delenv(key, raising=False)
    return MlflowClient(tracking_uri=ready_store.uri)


def a_finished_run(client, experiment: str, **metrics):
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    run = client.create_run(experiment_id, run_name="a-run")
    client.log_param(run.info.run_id, "model_type", "LinearRegression")
    for key, value in metrics.items():
        client.log_metric(run.info.run_id, key, value)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def test_the_same_workspace_gives_the_same_fingerprint(client):
    """Is a workspace nobody touched seen as unchanged (so a refresh grades nobody)?"""
    a_finished_run(client, lab.EXPERIMENT_TASK1, rmse=1.0)
    assert fingerprint(client) == fingerprint(client)


# In this order, each on top of the ones before (one store: a new store costs seconds).
CHANGES = {
    "a new run": lambda c, run: a_finished_run(c, lab.EXPERIMENT_TASK1, rmse=2.0),
    "a metric logged to a finished run": lambda c, run: c.log_metric(run, "r2", 0.5),
    "a metric's new value": lambda c, run: c.log_metric(run, "r2", 0.6),
    "a param logged to a finished run": lambda c, run: c.log_param(run, "test_size", "0.2"),
    "a tag": lambda c, run: c.set_tag(run, "task", "baseline"),
    "a run renamed": lambda c, run: c.update_run(run, name="renamed"),
    "a run that failed": lambda c, run: c.set_terminated(run, status="FAILED"),
    "a new experiment": lambda c, run: c.create_experiment("exploring"),
    "a run deleted": lambda c, run: c.delete_run(run),
}


def test_a_change_that_can_change_a_grade_changes_the_fingerprint(client):
    """Does every kind of change a TODO can see make the student's fingerprint differ?"""
    run = a_finished_run(client, lab.EXPERIMENT_TASK1, rmse=1.0)
    for change, make in CHANGES.items():
        before = fingerprint(client)
        make(client, run)
        assert fingerprint(client).digest != before.digest, change


def test_the_registry_counts_once_task_4_has_a_run(client):
    """Do the registry's changes (a model, a version, an alias set, an alias moved) count as
    changes once task 4 has a run (4.2 and 4.3 wait for 4.1, which grades that run), and
    only then (a look costs the server one search less for every student before task 4)?"""
    run = a_finished_run(client, lab.EXPERIMENT_TASK3, rmse=1.0)
    before = fingerprint(client).digest
    client.create_registered_model(lab.REGISTERED_MODEL)
    assert fingerprint(client).digest == before, "no task-4 run yet: the registry is not read"
    a_finished_run(client, lab.EXPERIMENT_TASK4)
    seen = [fingerprint(client).digest]
    for _ in range(2):
        client.create_model_version(lab.REGISTERED_MODEL, f"runs:/{run}/model", run_id=run)
        seen.append(fingerprint(client).digest)
    client.set_registered_model_alias(lab.REGISTERED_MODEL, lab.ALIAS, "1")
    seen.append(fingerprint(client).digest)
    client.set_registered_model_alias(lab.REGISTERED_MODEL, lab.ALIAS, "2")
    seen.append(fingerprint(client).digest)
    assert len(set(seen)) == len(seen), "each registry change gives a new fingerprint"


def test_started_tasks_are_the_tasks_with_a_run(client):
    """Is a task started exactly when its experiment holds a run (task 1: or Default)?"""
    assert client.get_experiment_by_name(lab.EXPERIMENT_TASK2), "the lab's experiments, without a run"
    assert fingerprint(client).started == frozenset()  # an experiment without a run starts nothing
    a_finished_run(client, lab.EXPERIMENT_TASK3)
    assert fingerprint(client).started == {"task3"}
    assert started_tasks({lab.DEFAULT_EXPERIMENT}) == {"task1"}, "a forgotten set_experiment"


def test_with_a_deadline_only_runs_that_ended_by_then_count(client):
    """With --as-of, is a run that ended after the deadline neither a change nor a started task
    (grader/deadline.py: a run counts when it ended by the deadline)?"""
    import time

    a_finished_run(client, lab.EXPERIMENT_TASK1, rmse=1.0)
    deadline = int(time.time() * 1000)
    time.sleep(0.01)
    at_deadline = fingerprint(client, as_of_ms=deadline)
    a_finished_run(client, lab.EXPERIMENT_TASK1, rmse=2.0)
    assert fingerprint(client, as_of_ms=deadline).digest == at_deadline.digest
    a_finished_run(client, lab.EXPERIMENT_TASK2, rmse=2.0)
    assert fingerprint(client, as_of_ms=deadline).started == {"task1"}
    assert fingerprint(client).started == {"task1", "task2"}, "without a deadline it counts"


def test_a_look_from_the_database_reads_again_only_a_workspace_whose_rows_changed(client, ready_store):
    """From the database (classroom/board_database.py), after a survey, is a workspace nobody touched
    given its last fingerprint without a search, and does every change a TODO can see (and the
    registry's) make the look read the workspace again, giving the fingerprint a fresh look gives?"""
    from classroom.board_database import DatabaseLooker, ReadOnlyStores

    run = a_finished_run(client, lab.EXPERIMENT_TASK4, rmse=1.0)
    stores = ReadOnlyStores(ready_store.uri)
    searches = []
    search = stores.search_experiments
    stores.search_experiments = lambda *args, **kwargs: searches.append(1) or search(*args, **kwargs)
    look = DatabaseLooker(stores)
    look.survey()
    first = look("default")
    assert first == fingerprint(stores, "default") and searches
    changes = {**CHANGES,
               "a registered model": lambda c, run: c.create_registered_model(lab.REGISTERED_MODEL),
               "a version": lambda c, run: c.create_model_version(lab.REGISTERED_MODEL, f"runs:/{run}/m", run_id=run),
               "an alias": lambda c, run: c.set_registered_model_alias(lab.REGISTERED_MODEL, lab.ALIAS, "1"),
               "an experiment's tag": lambda c, run: c.set_experiment_tag(
                   c.get_run(run).info.experiment_id, "hint.3.2", "1")}
    for change, make in changes.items():
        searches.clear()
        look.survey()
        assert look("default") == first and not searches, f"nothing changed before {change}"
        make(client, run)
        look.survey()
        seen = look("default")
        assert searches and seen == fingerprint(stores, "default"), change
        first = seen


def test_a_workspace_that_cannot_be_read_is_a_fingerprint_with_its_reason(monkeypatch):
    """Does an unreadable workspace give a fingerprint that says why, instead of raising?"""
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # as the board sets it

    seen = fingerprint(MlflowClient(tracking_uri="http://127.0.0.1:9"))
    assert seen.error and seen.digest.startswith("error: ")


# --- the stuck TODO and the cells ------------------------------------------------------

def row(student: str, **states: str) -> dict:
    return {"student": student, "cells": [{"id": t, "state": states.get(t, PASS)} for t in TODO_IDS]}


def test_stuck_on_most_counts_failing_students_not_skips_or_tasks_not_started():
    """Is the class stuck on the TODO most students fail, not the one most often skipped or unstarted?"""
    later = {t: SKIP for t in TODO_IDS[4:]}
    rows = [row("a", **{"1.4": FAIL}, **later), row("b", **{"1.4": FAIL}, **later),
            row("c", **{"2.3": FAIL}), row("d", **{"3.3": NOT_STARTED, "4.1": NOT_STARTED}),
            row("e", **{"3.3": NOT_STARTED})]
    stuck = stuck_on_most(rows)
    assert stuck["todo"] == "1.4" and stuck["students"] == ["a", "b"]
    assert stuck["description"]


def test_stuck_on_most_breaks_a_tie_with_the_earlier_todo():
    """With as many students failing two TODOs, is the earlier one (that holds the rest up) named?"""
    rows = [row("a", **{"3.2": FAIL}), row("b", **{"2.2": FAIL})]
    assert stuck_on_most(rows)["todo"] == "2.2"
    assert stuck_on_most([row("a"), row("b", **{"1.1": SKIP})]) is None, "nothing fails"


def test_a_cell_of_a_task_not_started_says_so_and_keeps_the_graders_words():
    """Is a TODO without its point 'not started' when its task has no run, else fail or skip?"""
    report = {"results": [{"id": t, "status": "skip", "rationale": f"skipped until 1.1 passes ({t})",
                           "hint": "finish 1.1 first", "note": None} for t in TODO_IDS]}
    report["results"][0].update(status="fail", rationale="expected a run in task1-baseline, found none")
    shown = {c["id"]: c for c in cells(report, frozenset({"task1"}))}
    assert shown["1.1"]["state"] == FAIL and shown["1.2"]["state"] == SKIP
    assert all(shown[t]["state"] == NOT_STARTED for t in todo_ids(["task2", "task3", "task4"]))
    assert shown["1.1"]["text"].startswith("expected a run in task1-baseline")
    assert "hint: finish 1.1 first" in shown["2.1"]["text"]


def test_a_student_who_could_not_be_graded_is_graded_again_with_the_last_good_grade_kept(tmp_path):
    """After a grading that could not grade a student (the grading user refused after a reset...),
    is the student graded again at the next refresh though their work did not change, their last good
    grade shown meanwhile with why it was not replaced; and once graded, left alone again?"""
    from classroom.board import Board
    from classroom.board_changes import Fingerprint
    from classroom.gradebook import Gradebook
    from classroom.isolation import CANNOT_GRADE, GRADED, Outcome
    from classroom.roster import Student

    student, newcomer = Student("kept"), Student("newcomer")
    board = Board(Gradebook("http://127.0.0.1:9", {}, tmp_path), [student, newcomer])
    seen = Fingerprint("unchanged", frozenset({"task1", "task2", "task3", "task4"}))
    report = {"results": [{"id": t, "status": "pass", "rationale": None} for t in TODO_IDS]}
    graded = {"student": "kept", "status": GRADED, "total": len(TODO_IDS), "max": len(TODO_IDS)}
    refused = {"student": "kept", "status": CANNOT_GRADE, "problems": "the server refused the grader"}

    board._keep(student, graded, Outcome(GRADED, report=report), seen)
    assert not board._changed(student, seen), "graded, unchanged: left alone"
    board._keep(student, refused, Outcome(CANNOT_GRADE, error=refused["problems"]), seen)
    row = board.rows["kept"]
    assert board._changed(student, seen), "could not be graded: graded again though unchanged"
    assert row["status"] == GRADED and row["total"] == len(TODO_IDS) and len(row["cells"]) == len(TODO_IDS)
    assert row["flags"] == {"not graded again": "the server refused the grader"}
    board._keep(student, graded, Outcome(GRADED, report=report), seen)
    assert not board._changed(student, seen) and board.rows["kept"]["flags"] == {}

    board._keep(newcomer, {**refused, "student": "newcomer"}, Outcome(CANNOT_GRADE), seen)
    assert board.rows["newcomer"]["status"] == CANNOT_GRADE and board._changed(newcomer, seen), \
        "never graded: no grade to keep, and tried again"


def test_the_board_takes_the_roster_again_when_it_changes(tmp_path):
    """Does a refresh pick up a student added to the roster (a waiting row) and drop one taken off
    it, keep the students when the changed roster cannot be read, and say why on the page?"""
    from classroom.board import WAITING, Board
    from classroom.gradebook import Gradebook
    from classroom.roster import read_roster

    roster = tmp_path / "roster.csv"
    write_roster(roster, ["alice", "bob"])
    board = Board(Gradebook("http://127.0.0.1:9", {}, tmp_path / "out"), read_roster(roster), roster=roster)
    board.rows["alice"] = {**board.rows["alice"], "status": "graded", "total": 3}
    write_roster(roster, ["alice", "carol", "dave"])
    board.reload_roster()
    rows = {r["student"]: r for r in board.snapshot()["rows"]}
    assert list(rows) == ["alice", "carol", "dave"] and rows["alice"]["total"] == 3, "alice keeps her grade"
    assert rows["carol"]["status"] == WAITING and not board.snapshot()["notice"]
    roster.write_text(roster.read_text() + "erin,Erin,alice@school.example\n")
    board.reload_roster()
    assert [s.username for s in board.students] == ["alice", "carol", "dave"]
    assert "line 5" in board.snapshot()["notice"] and "cannot be read" in board.snapshot()["notice"]


# --- the refresh loop --------------------------------------------------------------------

class CountingBoard:
    """Just enough of a Board for the Refresher: counts refreshes, each taking ``seconds``."""

    def __init__(self, seconds: float = 0.0) -> None:
        import threading

        self.seconds, self.refreshes, self.running = seconds, 0, None
        self.started: list[float] = []
        self.stopping = threading.Event()

    def refresh(self) -> None:
        import time

        self.started.append(time.monotonic())
        self.running = {"done": 0, "total": 0}
        time.sleep(self.seconds)
        self.running = None
        self.refreshes += 1


def test_the_board_refreshes_by_itself_and_on_demand():
    """Does the board refresh every `every` seconds, and does a click wait for a refresh
    that started after it (not one already running, whose look came before the click)?"""
    import threading
    import time

    from classroom.board_server import Refresher

    board = CountingBoard(seconds=0.3)
    refresher = Refresher(board, every=0.5)
    refresher.start()
    try:
        time.sleep(1.9)
        assert board.refreshes >= 2, "refreshes by itself"
        gaps = [b - a for a, b in zip(board.started, board.started[1:])]
        assert all(gap >= 0.5 + 0.3 - 0.05 for gap in gaps), "every 0.5 s counted from the end of the last"
        refresher.every = 60  # from now on, only a click refreshes
        time.sleep(1.0)
        first = threading.Thread(target=refresher.refresh_now)
        first.start()
        while board.running is None:  # click while the first click's refresh runs
            time.sleep(0.01)
        clicked = time.monotonic()
        refresher.refresh_now(timeout=10)
        assert board.started[-1] > clicked and board.running is None
        assert time.monotonic() - clicked < 5, "on demand, not at the next automatic refresh"
        first.join(5)
    finally:
        refresher.stop()
        refresher.thread.join(5)
    assert not refresher.thread.is_alive()


# --- on the class server, in a real browser --------------------------------------------

GUIDE = ROOT / "INSTRUCTORS.md"
# Students of the shared class in different states, one of the board's own who will start
# while it runs, and one on the roster without a workspace.
STATES = {
    "empty": {},  # nothing logged
    "typed": {"pass": set(todo_ids(["task1"])) - {"1.4"}, "fail": {"1.4"}, "started": {"task1"}},
    "partial": {"pass": set(todo_ids(["task1", "task2"])), "started": {"task1", "task2", "task3"}},
    "complete": {"pass": set(TODO_IDS), "started": {"task1", "task2", "task3", "task4"}},
    "board-late": {},  # logs task 1 while the board runs
}
GHOST = "board-ghost"


def guide_command() -> list[str]:
    """The guide's board command, as a list of arguments."""
    import re
    import shlex

    text = GUIDE.read_text(encoding="utf-8")
    lines = [line for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
             for line in block.splitlines() if line.startswith("python -m classroom board")]
    assert lines, "INSTRUCTORS.md shows no `python -m classroom board` command"
    return shlex.split(lines[0])[4:]


def classroom_command(capsys, *args: str) -> tuple[int, str, str]:
    """``python -m classroom ARGS`` in this process (no interpreter to start): its exit code, stdout
    and stderr. The command's private umask is put back after it."""
    from classroom.cli import main

    umask = os.umask(0o077)
    os.umask(umask)
    try:
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's --help
            code = exc.code
    finally:
        os.umask(umask)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_guide_names_only_options_the_board_has(capsys):
    """Does every option the guide's board section names exist in `python -m classroom board --help`?"""
    import re

    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("### Live, during the session: the progress board"):]
    section = section[:section.index("\n#", 1)]
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", section))
    assert {"--roster", "--server", "--port", "--host", "--every"} <= named
    code, shown, errors = classroom_command(capsys, "board", "--help")
    assert code == 0, errors
    assert named <= set(re.findall(r"--[a-z][a-z-]*", shown)), named


def test_a_port_in_use_is_one_line(tmp_path, capsys):
    """Does a board whose port is taken say so in one line that names --port, before signing in?"""
    import socket

    roster = tmp_path / "roster.csv"
    write_roster(roster, ["alice"])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _out, errors = classroom_command(capsys, "board", "--roster", str(roster),
                                               "--server", "http://127.0.0.1:9", "--port", str(port))
    assert code == 2
    assert errors.strip().count("\n") == 0 and "--port" in errors, errors


def test_the_start_up_line_says_how_the_board_looks_and_why():
    """Does the board's start-up line say it looks from the database when the read-only role is
    given, and otherwise over HTTP, naming the variable that would make it faster?"""
    from classroom.board_database import VARIABLE, DatabaseLooker
    from classroom.board_server import looking_way

    from_database, over_http = looking_way(DatabaseLooker(stores=None)), looking_way(None)
    assert "database" in from_database and "read-only" in from_database
    assert "HTTP" in over_http and VARIABLE in over_http and "INSTRUCTORS.md" in over_http


class RunningBoard:
    """`python -m classroom board`, started as the guide says, on the test class, its output in
    files. Forked warm (test/forked.py: the same command without a new interpreter's imports, and
    its grading fork server forked from the warm process, not a second new interpreter), but for
    the board whose Ctrl+C is tested (the process itself is the subject there): with ``fresh=True``,
    a new interpreter started with SIGINT ignored, as a shell without job control starts a
    background job (`... board ... &` in a script)."""

    def __init__(self, room, roster: Path, *extra: str, fresh: bool = False) -> None:
        import signal
        import subprocess
        import sys
        import tempfile
        import time

        from conftest import free_port
        from forked import Forked

        self.port = free_port()
        args = guide_command()
        args = [{"roster.csv": str(roster), "http://127.0.0.1:5000": room.url}.get(a, a) for a in args]
        args[args.index("--port") + 1] = str(self.port)
        self.url = f"http://127.0.0.1:{self.port}/"
        argv = ["-m", "classroom", "board", *args, "--state", str(room.state), *extra]
        folder = Path(tempfile.mkdtemp(prefix="board-"))
        self.stdout, self.stderr = folder / "stdout", folder / "stderr"
        if fresh:
            with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
                self.process = subprocess.Popen(
                    [sys.executable, *argv], cwd=ROOT, env=room.admin_env(), stdout=out, stderr=err,
                    start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        else:
            self.process = Forked(argv, room.admin_env(), ROOT, self.stdout, self.stderr)
        deadline = time.monotonic() + 300  # a guard against a hang, not a speed bound
        lines: list[str] = []
        while len(lines) < 2 and self.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            lines = self.output().splitlines(keepends=True) if self.stdout.exists() else []
        lines = self.output().splitlines(keepends=True)
        self.banner = lines[0] if lines else ""
        assert self.url in self.banner, self.output() + self.errors()
        self.way = lines[1] if len(lines) > 1 else ""  # how it looks for changed work (board_server.looking_way)
        self.banner += self.way

    def output(self) -> str:
        return self.stdout.read_text(encoding="utf-8", errors="replace") if self.stdout.exists() else ""

    def errors(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace") if self.stderr.exists() else ""

    def json(self, path: str = "board.json", method: str = "GET") -> dict:
        import json
        import urllib.request

        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=600) as answer:
            return json.loads(answer.read())

    def wait_for(self, done, timeout: float = 300) -> dict:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snapshot = self.json()
            if done(snapshot):
                return snapshot
            time.sleep(0.5)
        raise AssertionError(f"the board never got there: {snapshot}")

    def interrupt(self) -> tuple[int, str]:
        """Ctrl+C in its terminal (SIGINT to its process group): its exit code and all it printed."""
        import os
        import signal

        os.killpg(self.process.pid, signal.SIGINT)
        code = self.process.wait(timeout=600)  # a guard against a hang, not a speed bound
        return code, self.output() + self.errors()

    def stop(self) -> None:
        import os
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)


@pytest.fixture(scope="module")
def board(classroom):
    roster = classroom.folder / "roster_board.csv"
    write_roster(roster, [*STATES, GHOST])
    late = classroom.folder / "roster_board_late.csv"
    write_roster(late, ["board-late"])
    provisioned = classroom.classroom("provision", "--roster", str(late), "--server", classroom.url,
                                      "--out", str(classroom.connections))
    assert provisioned.returncode == 0, provisioned.stderr
    # Only the button refreshes here. The one board of the suite started in a new interpreter, with
    # SIGINT ignored, as an instructor's script starts it in the background: the last of its tests
    # stops it with Ctrl+C, and that process and everything it starts are the subject there.
    running = RunningBoard(classroom, roster, "--every", "600", fresh=True)
    try:
        yield running
    finally:
        running.stop()


def chromium():
    """Playwright's Chromium launched as the suite's screenshots are (tools/screenshots.py)."""
    import importlib.util
    import sys

    tool = sys.modules.get("screenshots")
    if tool is None:
        spec = importlib.util.spec_from_file_location("screenshots", ROOT / "tools" / "screenshots.py")
        tool = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = tool
        spec.loader.exec_module(tool)
    return tool.CHROMIUM, tool.CHROMIUM_ARGS


def page_cells(page) -> dict[str, dict[str, str]]:
    """student -> TODO -> the state the page shows (its cells' data-state)."""
    found: dict[str, dict[str, str]] = {}
    for student, todo, state in page.eval_on_selector_all(
            "td.cell", "tds => tds.map(td => [td.dataset.student, td.dataset.todo, td.dataset.state])"):
        found.setdefault(student, {})[todo] = state
    return found


def expected_cells(state: dict) -> dict[str, str | None]:
    """What the page should show for each TODO; None where a fail and a skip are both fair."""
    out: dict[str, str | None] = {}
    for todo in TODO_IDS:
        if todo in state.get("pass", ()):
            out[todo] = PASS
        elif task_of(todo) not in state.get("started", ()):
            out[todo] = NOT_STARTED
        else:
            out[todo] = FAIL if todo in state.get("fail", ()) else None
    return out


@pytest.mark.postgres
@pytest.mark.browser
@pytest.mark.xdist_group("classroom")
def test_the_board_shows_the_class_and_regrades_only_who_changed(classroom, board):
    """Does the page show each student's cells, score and a cell's rationale, the stuck TODO and
    who could not be graded; and after one student logs a run and the button is pressed, that
    student's new cells, with nobody else graded again but the one who could not be graded?"""
    from playwright.sync_api import sync_playwright

    assert "over HTTP" in board.way and "CLASS_BOARD_DATABASE_URI" in board.way, board.way  # not given here
    first = board.wait_for(lambda s: s["refreshes"] >= 1)
    assert {r["student"] for r in first["rows"] if r["status"] == "graded"} == set(STATES)
    graded_at = {r["student"]: r["graded_at"] for r in first["rows"]}
    executable, args = chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=args)
        try:
            page = browser.new_page()
            page.goto(board.url)
            page.wait_for_selector("td.cell[data-student='complete'][data-todo='4.4']")
            shown = page_cells(page)
            assert list(shown) == list(STATES), "rows in roster order; the ghost has no cells"
            assert page.text_content(f"td.why[data-student='{GHOST}']").startswith("could not be graded: ")
            for student, state in STATES.items():
                for todo, expected in expected_cells(state).items():
                    if expected is not None:
                        assert shown[student][todo] == expected, (student, todo, shown[student])
            assert set(shown["partial"][t] for t in todo_ids(["task3"])) <= {"fail", "skip"}
            assert "fail" in {shown["partial"][t] for t in todo_ids(["task3"])}
            scores = {s: page.text_content(f"td.score[data-student='{s}']") for s in STATES}
            assert scores == {s: f"{len(st.get('pass', ()))}/{len(TODO_IDS)}" for s, st in STATES.items()}
            assert page.text_content(f"#ungraded li[data-student='{GHOST}']").startswith(
                f"{GHOST} could not be graded: ")
            assert "stuck most on TODO 1.4" in page.text_content("#stuck")
            # The gradebook's flags, in its words: `complete` ran the shipped solutions.
            assert "ran solutions/task1_baseline.py" in page.text_content("td.flags[data-student='complete']")
            assert page.text_content("td.flags[data-student='typed']") == ""
            assert "Last refreshed at" in page.text_content("#refreshed")
            # A cell's rationale: the grader's words, on hover (title) and on click (#detail).
            cell = page.locator("td.cell[data-student='typed'][data-todo='1.4']")
            words = next(c["text"] for r in first["rows"] if r["student"] == "typed"
                         for c in r["cells"] if c["id"] == "1.4")
            assert words and words in cell.get_attribute("title")
            cell.click()
            assert words in page.text_content("#detail") and "TODO 1.4" in page.text_content("#detail")

            classroom.run_script("board-late", ROOT / "solutions" / "task1_baseline.py")
            page.click("#refresh")
            late = "td.cell[data-student='board-late'][data-todo='1.4'][data-state='pass']"
            page.wait_for_selector(late, timeout=120_000)
            shown = page_cells(page)
            assert all(shown["board-late"][t] == "pass" for t in todo_ids(["task1"]))
            assert all(shown["board-late"][t] == "not-started" for t in todo_ids(["task2", "task3", "task4"]))
            assert page.text_content("td.score[data-student='board-late']") == f"4/{len(TODO_IDS)}"
            # board-late changed; the ghost could not be graded, so each refresh tries it again
            refreshed = page.text_content("#refreshed")
            assert "re-graded 2: " in refreshed and "board-late" in refreshed and GHOST in refreshed, refreshed
        finally:
            browser.close()
    after = board.json()
    regraded = {r["student"] for r in after["rows"] if r["graded_at"] != graded_at[r["student"]]}
    assert regraded == {"board-late", GHOST} and set(after["last"]["regraded"]) == {"board-late", GHOST}


@pytest.mark.postgres
@pytest.mark.xdist_group("classroom")
def test_a_student_added_while_the_board_runs_is_graded_without_a_restart(classroom, board):
    """Is a student added to the roster and provisioned while the board runs graded at its next
    refresh (the roster read again; provisioning gave the grading user its access)?"""
    roster = Path(board.process.args[board.process.args.index("--roster") + 1])
    added = classroom.folder / "roster_board_added.csv"
    write_roster(added, ["board-added"])
    provisioned = classroom.classroom("provision", "--roster", str(added), "--server", classroom.url,
                                      "--out", str(classroom.connections))
    assert provisioned.returncode == 0, provisioned.stderr
    classroom.run_script("board-added", ROOT / "solutions" / "task1_baseline.py")
    write_roster(roster, [*STATES, GHOST, "board-added"])
    snapshot = board.json("refresh", method="POST")
    row = next(r for r in snapshot["rows"] if r["student"] == "board-added")
    assert row["status"] == "graded" and row["total"] == len(todo_ids(["task1"])), row


@pytest.mark.postgres
@pytest.mark.xdist_group("classroom")
def test_a_refresh_asked_by_another_site_is_refused(board):
    """Is `POST /refresh` from another site's page (its Origin) refused with 403, and one from the
    board's own page answered?"""
    import urllib.error
    import urllib.request

    def post(origin: str) -> int:
        request = urllib.request.Request(board.url + "refresh", method="POST", headers={"Origin": origin})
        try:
            with urllib.request.urlopen(request, timeout=600) as answer:
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post("http://evil.example") == 403
    assert post(f"http://localhost:{board.port}") == 403, "another origin, even on this machine"
    assert post(board.url.rstrip("/")) == 200


def group_members(group: int) -> list[str]:
    """The command lines of the live processes in a process group."""
    from procs import command_lines

    from labkit.net import process_group

    return [line[:200] for line in command_lines(process_group(group))]


@pytest.mark.postgres
@pytest.mark.xdist_group("classroom")
@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX's")
def test_ctrl_c_stops_the_board_and_its_grading(board, classroom):
    """Does Ctrl+C in the middle of a pass stop the board and every process it started (its grading
    children and their fork server gone, its port free), even when it was started with SIGINT
    ignored, as a background job of a script is (it used to go on)? The module's board, the one
    board of the suite started in a new interpreter, as the instructor starts it: the process and
    what it starts (a fork server of its own, a new interpreter) are the subject here; the other
    boards are forked warm. Last of the board's tests: it stops the board. (It had a board of its
    own, stopped in its first pass: a new interpreter and a fork server more.)"""
    import http.client
    import socket
    import threading
    import time

    running = board
    roster = Path(board.process.args[board.process.args.index("--roster") + 1])
    write_roster(roster, [*STATES, GHOST, "untouched", "evil"])  # two students to grade: a pass under way
    # The roster grew: `provision` again, as INSTRUCTORS.md says (it gives the board's grading user
    # read access to them; without it this test held only after a gradebook of the class had run).
    provisioned = classroom.classroom("provision", "--roster", str(roster), "--server", classroom.url,
                                      "--out", str(classroom.connections))
    assert provisioned.returncode == 0, provisioned.stderr

    def refresh() -> None:
        try:
            board.json("refresh", method="POST")
        except (OSError, ValueError, http.client.HTTPException):
            pass  # the board stopped while it answered: that is the test

    clicked = threading.Thread(target=refresh, daemon=True)
    clicked.start()
    try:
        board.wait_for(lambda s: s["running"] is not None, timeout=120)
        code, output = running.interrupt()
    finally:
        running.stop()
        clicked.join(60)
    assert code == 0 and "Board stopped." in output and "Traceback" not in output, output
    group = running.process.pid
    for _ in range(100):  # the killed children are reaped by then, or soon after
        if not group_members(group):
            break
        time.sleep(0.2)
    assert group_members(group) == [], "nothing of its process group is left"
    with socket.socket() as port:  # nothing listens on the board's port any more (as the board binds:
        port.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # its closed connections may linger)
        port.bind(("127.0.0.1", running.port))
        port.listen()
    with pytest.raises(OSError):
        running.json()


@pytest.mark.postgres
@pytest.mark.xdist_group("classroom")
def test_the_board_reads_the_database_with_a_role_that_cannot_write(classroom):
    """Does a look through the tracking database (MLflow's own SqlAlchemy stores, signed in as a
    read-only PostgreSQL role) give every student the fingerprint a look over HTTP gives; can that
    role change nothing, through MLflow or SQL; and is a role that could write refused in one line?"""
    import psycopg2
    from classroom_world import STUDENTS, environment
    from mlflow.exceptions import MlflowException
    from mlflow.utils.workspace_context import ServerWorkspaceContext
    from sqlalchemy.engine import make_url

    from classroom.board_changes import fingerprint_all
    from classroom.board_database import READER_ROLE, ReadOnlyStores, create_reader, database_looker
    from classroom.server import ServerError

    admin_uri = classroom.server.config.database_uri
    admin = make_url(admin_uri)

    def connect(user: str, password: str):
        connection = psycopg2.connect(host=admin.host, port=admin.port, dbname=admin.database,
                                      user=user, password=password)
        connection.autocommit = True
        return connection

    superuser = connect(admin.username, admin.password)
    try:
        password = create_reader(superuser, admin.database)
    finally:
        superuser.close()
    reader_uri = admin.set(username=READER_ROLE, password=password).render_as_string(hide_password=False)

    with environment(classroom.admin_env()):
        over_http = fingerprint_all(classroom.url, STUDENTS)
    from_database = fingerprint_all(classroom.url, STUDENTS, database_looker(reader_uri))
    assert {w: f.started for w, f in from_database.items()} == {w: f.started for w, f in over_http.items()}
    assert {w: f.digest for w, f in from_database.items()} == {w: f.digest for w, f in over_http.items()}
    assert from_database["complete"].started == {"task1", "task2", "task3", "task4"}

    with ServerWorkspaceContext("complete"), pytest.raises(MlflowException):
        ReadOnlyStores(reader_uri).tracking.create_experiment("written-by-the-board")
    reader = connect(READER_ROLE, password)
    try:
        with reader.cursor() as cursor, pytest.raises(psycopg2.Error):
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; "
                           "DELETE FROM experiments")  # even out of read-only mode: no grant
    finally:
        reader.close()
    with pytest.raises(ServerError, match="read-only role"):
        database_looker(admin_uri)

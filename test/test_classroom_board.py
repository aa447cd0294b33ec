"""The live progress board (`python -m classroom board`, classroom/board*.py).

Unit level, on a real local SQLite store: what counts as a change in a workspace, which
TODO the class is stuck on most, what a cell shows. On the class server (real PostgreSQL,
real `mlflow server`, test/classroom_world.py) and in a real browser: the page's cells,
scores and rationale for students in different states, an on-demand refresh that grades
only the student who logged a new run, and Ctrl+C.
"""

from __future__ import annotations

import pytest

from classroom.board import FAIL, NOT_STARTED, PASS, SKIP, cells, stuck_on_most
from classroom.board_changes import fingerprint, started_tasks
from grader import lab
from grader.registry import todo_ids

TODO_IDS = todo_ids()


# --- change detection ------------------------------------------------------------------

@pytest.fixture
def client(lab_store, monkeypatch):
    from mlflow import MlflowClient

    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_WORKSPACE"):
        monkeypatch.delenv(key, raising=False)
    return MlflowClient(tracking_uri=lab_store.uri)


def a_finished_run(client, experiment: str, **metrics):
    experiment_id = (client.get_experiment_by_name(experiment) or None)
    experiment_id = experiment_id.experiment_id if experiment_id else client.create_experiment(experiment)
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
    "a registered model": lambda c, run: c.create_registered_model(lab.REGISTERED_MODEL),
    "a run deleted": lambda c, run: c.delete_run(run),
}


def test_a_change_that_can_change_a_grade_changes_the_fingerprint(client):
    """Does every kind of change a TODO can see make the student's fingerprint differ?"""
    run = a_finished_run(client, lab.EXPERIMENT_TASK1, rmse=1.0)
    for change, make in CHANGES.items():
        before = fingerprint(client)
        make(client, run)
        assert fingerprint(client).digest != before.digest, change


def test_a_new_version_and_a_moved_alias_change_the_fingerprint(client):
    """Do the registry's changes (a version, an alias set, an alias moved) count as changes?"""
    run = a_finished_run(client, lab.EXPERIMENT_TASK3, rmse=1.0)
    client.create_registered_model(lab.REGISTERED_MODEL)
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
    assert fingerprint(client).started == frozenset()
    client.create_experiment(lab.EXPERIMENT_TASK2)  # an experiment without a run starts nothing
    assert fingerprint(client).started == frozenset()
    a_finished_run(client, lab.EXPERIMENT_TASK3)
    assert fingerprint(client).started == {"task3"}
    assert started_tasks({lab.DEFAULT_EXPERIMENT}) == {"task1"}, "a forgotten set_experiment"


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

"""Does `--as-of TIME` grade only what was made by the deadline, so that a grade is the same
whenever it is computed? (grader/deadline.py has the rules; the class server's gradebook is
tested in test_classroom.py.)"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import jsonschema
import pytest
from conftest import CODE_DIR
from test_grader_support import run_check, task3_copy, task3_store  # noqa: F401 - fixtures

from grader.deadline import BadDeadline, parse_deadline, shown
from labkit.lab import ALIAS, EXPERIMENT_TASK3, METRIC_R2, MODEL_NAME, REGISTERED_MODEL
from grader.registry import todo_ids
from test_grader import load_schema

TASK1 = todo_ids(["task1"])


def now() -> datetime:
    moment = datetime.now(timezone.utc)
    time.sleep(0.01)  # what is logged next is strictly after it (MLflow counts milliseconds)
    return moment


def graded(store, task: str, *args: str, **env: str) -> dict:
    result = run_check(store.env(**env), task, "--json", *args)  # forked warm, TZ read afresh (zygote)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def points(report: dict) -> dict[str, int]:
    return {r["id"]: r["points"] for r in report["results"]}


def test_a_run_after_the_deadline_does_not_count_one_before_it_does_and_a_deadline_without_an_offset_is_local_time(
        ready_store):
    """Untouched task 1, the deadline, then the solution: graded as of the deadline, the late
    run changes nothing; as of a later time, it counts. Then, on the same runs: is
    `2025-03-14T23:59` read in the computer's time zone (TZ), not in UTC?"""
    ready_store.run_task("task1", folder=CODE_DIR)
    deadline = now()
    as_of = ("--as-of", deadline.isoformat())
    before = graded(ready_store, "task1", *as_of)
    ready_store.run_task("task1")  # the solution, after the deadline
    after = graded(ready_store, "task1", *as_of)

    assert before["results"] == after["results"], "a run after the deadline changed the grade"
    assert after["score"] == 0 and after["as_of"] == shown(deadline)
    assert (before["late_runs"], after["late_runs"]) == (0, 1), "the report counts the run it left out"
    jsonschema.validate(after, load_schema("report.schema.json"))
    assert graded(ready_store, "task1")["score"] == len(TASK1), "without --as-of the late run counts"
    later = graded(ready_store, "task1", "--as-of", now().isoformat())
    assert later["score"] == len(TASK1), "a run before the deadline counts"
    assert all(r["evidence"] for r in later["results"]), "each pass names the runs it stood on"

    # A deadline without an offset, in Tokyo (UTC+9, POSIX TZ "JST-9"): the UTC wall clock names a
    # time 9 hours ago (before both runs); Tokyo's wall clock a second from now (after both).
    utc_wall = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")
    tokyo_wall = (datetime.now(timezone.utc) + timedelta(hours=9, seconds=1)).replace(tzinfo=None)
    assert graded(ready_store, "task1", "--as-of", utc_wall, TZ="JST-9")["score"] == 0
    report = graded(ready_store, "task1", "--as-of", tokyo_wall.isoformat(timespec="seconds"), TZ="JST-9")
    assert report["score"] == len(TASK1) and report["as_of"].endswith("+09:00")


@pytest.mark.parametrize("value", ["tomorrow", "2025-13-01", "14/03/2025 23:59", ""])
def test_a_bad_deadline_is_one_line_that_names_the_format(lab_store, value):
    """Does a value that is not ISO 8601 get one line that shows the format, and exit 2?"""
    result = run_check(lab_store.env(), "task1", "--as-of", value)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "ISO 8601" in result.stderr and "2025-03-14T23:59" in result.stderr


def test_iso_8601_forms_name_the_same_instant():
    """Do the ISO 8601 spellings of one instant (Z, z, an offset, a space) give the same deadline?"""
    assert parse_deadline("2025-03-14T22:59Z") == parse_deadline("2025-03-14T23:59:00+01:00")
    assert parse_deadline("2025-03-14 22:59:00+00:00") == parse_deadline("2025-03-14T22:59:00z")
    assert parse_deadline("2025-03-14").tzinfo is not None
    with pytest.raises(BadDeadline):
        parse_deadline("next friday")


@pytest.mark.slow
def test_a_registry_change_after_the_deadline_does_not_count(task3_copy):
    """Task 4 picks the best run but registers nothing before the deadline; the model is
    registered and aliased after it (by hand, no run). As of the deadline 4.2 and 4.3 fail;
    as of later, they pass."""
    lab_store = task3_copy  # task 3's runs, before the deadline
    lab_store.run_variant("task4", {"4.2", "4.3", "4.4"})
    deadline = now()
    as_of = ("--as-of", deadline.isoformat())
    before = graded(lab_store, "task4", *as_of)

    by_hand = lab_store.folder / "register_by_hand.py"  # what a student types after the deadline
    by_hand.write_text(f"""
import mlflow
runs = mlflow.search_runs(experiment_names=[{EXPERIMENT_TASK3!r}], order_by=["metrics.{METRIC_R2} DESC"])
version = mlflow.register_model(f"runs:/{{runs.iloc[0]['run_id']}}/{MODEL_NAME}", {REGISTERED_MODEL!r})
mlflow.MlflowClient().set_registered_model_alias({REGISTERED_MODEL!r}, {ALIAS!r}, version.version)
""", encoding="utf-8")
    lab_store.run(by_hand)

    after = graded(lab_store, "task4", *as_of)
    assert before["results"] == after["results"], "a registry change after the deadline changed the grade"
    assert points(after) == {"4.1": 1, "4.2": 0, "4.3": 0, "4.4": 0}
    later = points(graded(lab_store, "task4", "--as-of", now().isoformat()))
    assert later == {"4.1": 1, "4.2": 1, "4.3": 1, "4.4": 0}, "registry changes before the deadline count"

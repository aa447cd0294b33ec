"""Handing out credentials and reading denials back (issue 21, point 8).

- ``provision`` writes a message per student (a text file, and a CSV for a mail merge) next to
  the connection files, private, in English or Spanish;
- ``audit`` lists the requests the class server denied, per student, from its log.

Real PostgreSQL and a real `mlflow server` (the class of test/classroom_world.py).
"""

from __future__ import annotations

import csv
import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from classroom_world import STUDENTS, write_roster
from classroom.audit import MARKER, denial_line, read_denials
from classroom.connection import read_env_file

pytestmark = [pytest.mark.xdist_group("classroom"), pytest.mark.postgres]


def test_provisioning_writes_a_private_message_per_student(classroom):
    """Does each student get a message holding their connection settings and the two commands,
    and the CSV one row each, all readable by the instructor only?"""
    folder = classroom.connections / "messages"
    assert folder.stat().st_mode & 0o077 == 0, "the messages hold passwords: their folder must be private"
    rows = {row["username"]: row for row in csv.DictReader(open(folder / "messages.csv", encoding="utf-8"))}
    assert set(STUDENTS) <= set(rows)
    assert (folder / "messages.csv").stat().st_mode & 0o077 == 0
    for username in STUDENTS:
        settings = read_env_file(classroom.connections / f"{username}.env")
        path = folder / f"{username}.txt"
        assert path.stat().st_mode & 0o077 == 0, path
        text = path.read_text(encoding="utf-8")
        for key, value in settings.items():
            assert f"{key}={value}" in text, (username, key)
        assert f"set -a; . ./{username}.env; set +a" in text
        assert f"Get-Content {username}.env" in text and "LAB.md" in text
        row = rows[username]
        assert row["message"] == text and row["connection_file"] == f"{username}.env"
        assert row["email"] == ("" if username == "empty" else f"{username}@school.example")
        assert settings["MLFLOW_TRACKING_PASSWORD"] in row["connection"]
    assert "messages" in classroom.provision_first.stdout


def test_a_new_password_is_flagged_in_the_csv_and_the_message_speaks_spanish(classroom, tmp_path):
    """Does --reset-password mark only that student as new, and --lang es write Spanish messages?"""
    connections = tmp_path / "connections"
    roster = tmp_path / "roster.csv"
    write_roster(roster, ["msg-one", "msg-two"])
    first = classroom.classroom("provision", "--roster", str(roster), "--server", classroom.url,
                                "--out", str(connections))
    assert first.returncode == 0, first.stderr
    again = classroom.classroom("provision", "--roster", str(roster), "--server", classroom.url,
                                "--out", str(connections), "--reset-password", "msg-two", "--lang", "es",
                                "--lab-url", "https://lab.example.edu/LAB.es.md")
    assert again.returncode == 0, again.stderr
    rows = {r["username"]: r for r in csv.DictReader(open(connections / "messages" / "messages.csv",
                                                         encoding="utf-8"))}
    assert rows["msg-one"]["new"] == "no" and rows["msg-two"]["new"] == "yes"
    text = (connections / "messages" / "msg-two.txt").read_text(encoding="utf-8")
    assert "Hola" in text and "https://lab.example.edu/LAB.es.md" in text and "LAB_LANG=es" in text
    new_password = read_env_file(connections / "msg-two.env")["MLFLOW_TRACKING_PASSWORD"]
    assert new_password in text

    # Students added later with a roster of their own: the CSV keeps the others' rows, not new.
    later = tmp_path / "later.csv"
    write_roster(later, ["msg-three"])
    third = classroom.classroom("provision", "--roster", str(later), "--server", classroom.url,
                                "--out", str(connections))
    assert third.returncode == 0, third.stderr
    rows = {r["username"]: r for r in csv.DictReader(open(connections / "messages" / "messages.csv",
                                                         encoding="utf-8"))}
    assert {name: row["new"] for name, row in rows.items()} == {"msg-one": "no", "msg-two": "no", "msg-three": "yes"}
    assert rows["msg-two"]["message"] == text


def test_audit_lists_a_students_attempt_on_another_workspace(classroom):
    """A student asks for another's experiment and run: does `audit` name them, with the time,
    the method and path, and the workspace they tried?"""
    import requests

    student = read_env_file(classroom.connections / "evil.env")
    auth = (student["MLFLOW_TRACKING_USERNAME"], student["MLFLOW_TRACKING_PASSWORD"])
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    answer = requests.get(f"{classroom.url}/api/2.0/mlflow/experiments/get-by-name",
                          params={"experiment_name": "task1-baseline"}, auth=auth,
                          headers={"X-MLflow-Workspace": "complete"}, timeout=60)
    assert answer.status_code == 403
    run_id = "0123456789abcdef0123456789abcdef"
    logged = requests.post(f"{classroom.url}/api/2.0/mlflow/runs/log-metric", auth=auth, timeout=60,
                           json={"run_id": run_id, "key": "rmse", "value": 1.0, "timestamp": 0},
                           headers={"X-MLflow-Workspace": "complete"})
    assert logged.status_code == 403
    wrong = requests.get(f"{classroom.url}/api/2.0/mlflow/experiments/search", auth=("evil", "not-it"),
                         headers={"X-MLflow-Workspace": "complete"}, timeout=60)
    assert wrong.status_code == 401  # not signed in: not a denial of a student
    state = classroom.server.log_path.parent
    for _attempt in range(50):  # the worker writes the line after its answer
        if any(d.user == "evil" and d.time >= before.replace(microsecond=0)
               for d in read_denials(classroom.server.log_path)):
            break
        time.sleep(0.2)
    result = classroom.classroom("audit", "--state", str(state))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "evil:" in out
    block = out.split("evil:", 1)[1].split("\n\n", 1)[0]
    assert "GET /api/2.0/mlflow/experiments/get-by-name?experiment_name=task1-baseline" in block
    assert "(workspace complete)" in block
    assert f"POST /api/2.0/mlflow/runs/log-metric?run_id={run_id}" in block  # the run it aimed at
    assert "experiments/search" not in out  # the wrong password is a 401, not a denial
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat(timespec="seconds")
    none = classroom.classroom("audit", "--state", str(state), "--since", later)
    assert none.returncode == 0 and none.stdout.strip().startswith("No denied request in"), none.stdout


def test_audit_without_a_log_is_one_line(tmp_path, classroom):
    result = classroom.classroom("audit", "--state", str(tmp_path / "nowhere"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "No server log at" in result.stderr


def test_a_denial_line_survives_a_path_made_to_break_it(tmp_path):
    """Can a student's made-up path (a newline, a fake marker) forge or hide a denial?"""
    log = tmp_path / "server.log"
    forged = "/api/2.0/x\n" + MARKER + json.dumps({"time": "2020-01-01T00:00:00+00:00", "user": "alice"})
    log.write_text(denial_line("mallory", "alice", "GET", forged, "", 403) + "\n"
                   + denial_line("bob", "carol", "POST", "/api/2.0/mlflow/runs/log-metric", "", 403) + "\n",
                   encoding="utf-8")
    denials = read_denials(log)
    assert [d.user for d in denials] == ["mallory", "bob"]
    assert denials[0].path == forged
    since = read_denials(log, since=datetime.now(timezone.utc) + timedelta(minutes=1))
    assert since == []


def test_a_lookup_of_ones_own_model_not_made_yet_is_no_attempt(classroom):
    """MLflow answers 403 (not 404) to a student's lookup of a registered model their own workspace
    does not hold yet, as the grader's check of 4.2 makes before task 4: `audit` listed the
    student (and the gradebook's `grader`) among those who tried something. It leaves them out,
    in one line that counts them, and still lists the same lookup aimed at another workspace."""
    import requests

    student = read_env_file(classroom.connections / "partial.env")  # tasks 1-2: no registered model
    auth = (student["MLFLOW_TRACKING_USERNAME"], student["MLFLOW_TRACKING_PASSWORD"])
    before = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
    own = requests.get(f"{classroom.url}/api/2.0/mlflow/registered-models/get", auth=auth, timeout=60,
                       params={"name": "api-response-time"}, headers={"X-MLflow-Workspace": "partial"})
    assert own.status_code == 403  # MLflow's answer for a model that does not exist
    other = requests.get(f"{classroom.url}/api/2.0/mlflow/registered-models/get", auth=auth, timeout=60,
                         params={"name": "api-response-time"}, headers={"X-MLflow-Workspace": "complete"})
    assert other.status_code == 403
    for _attempt in range(50):  # the worker writes the lines after its answers
        if sum(d.user == "partial" and d.time >= before for d in read_denials(classroom.server.log_path)) >= 2:
            break
        time.sleep(0.2)
    result = classroom.classroom("audit", "--state", str(classroom.server.log_path.parent),
                                 "--since", before.isoformat())
    assert result.returncode == 0, result.stderr
    block = result.stdout.split("partial:", 1)[1].split("\n\n", 1)[0]
    assert "(workspace complete)" in block and "(workspace partial)" not in block
    assert "grader:" not in result.stdout
    assert "Not listed: " in result.stdout and "does not exist yet" in result.stdout


def test_audit_leaves_out_lookups_of_a_model_not_made_yet(tmp_path):
    log = tmp_path / "server.log"
    lookup = "/api/2.0/mlflow/registered-models/get"
    log.write_text("\n".join([
        denial_line("ben", "ben", "GET", lookup, "name=api-response-time", 403),
        denial_line("grader", "ben", "GET", lookup, "name=api-response-time", 403),
        denial_line("eve", "ana", "GET", lookup, "name=api-response-time", 403),
        denial_line("eve", "eve", "POST", "/api/2.0/mlflow/runs/log-metric", "run_id=abc", 403),
    ]) + "\n", encoding="utf-8")
    from classroom.audit import report

    out = report(log)
    assert "ben:" not in out and "grader:" not in out
    assert "eve: 2 denied requests" in out and "(workspace ana)" in out
    assert out.rstrip().endswith("because the model does not exist yet.") and "Not listed: 2 lookups" in out
    only = tmp_path / "only.log"
    only.write_text(denial_line("ben", "ben", "GET", lookup, "name=api-response-time", 403) + "\n", encoding="utf-8")
    assert report(only).count("\n") == 0 and report(only).startswith("No denied request in")

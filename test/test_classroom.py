"""A class on one tracking server: real PostgreSQL, real `mlflow server` with workspaces
and basic auth, students running the unchanged task scripts, and the instructor's gradebook
(the class itself: test/classroom_world.py).
"""

from __future__ import annotations

import csv
import json
import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import zygote

from classroom_world import EXPECTED_PASSES, ROOT, SCRIPTS, STUDENTS, TODO_IDS, WITHOUT_EMAIL, environment, write_roster

from classroom.connection import read_env_file  # noqa: E402
from grader.registry import todo_ids  # noqa: E402

pytestmark = [pytest.mark.xdist_group("classroom"), pytest.mark.postgres]

_environment = environment


def test_provisioning_writes_a_private_connection_file_per_student(classroom):
    """Does each student get a workspace, a user and a file with their four settings?"""
    for username in STUDENTS:
        path = classroom.connections / f"{username}.env"
        settings = read_env_file(path)
        assert settings["MLFLOW_TRACKING_URI"] == classroom.url
        assert settings["MLFLOW_WORKSPACE"] == settings["MLFLOW_TRACKING_USERNAME"] == username
        assert len(settings["MLFLOW_TRACKING_PASSWORD"]) >= 12
        assert path.stat().st_mode & 0o077 == 0, "a connection file must be private"
    assert (classroom.connections / ".gitignore").read_text().strip().endswith("*")
    assert f"{len(STUDENTS)} created" in classroom.provision_first.stdout


def test_provisioning_again_adds_new_students_and_changes_nothing_else(classroom):
    """Is provisioning idempotent: same passwords, and only the new student created?"""
    before = {u: (classroom.connections / f"{u}.env").read_bytes() for u in STUDENTS}
    roster = classroom.folder / "roster_plus.csv"
    write_roster(roster, [*STUDENTS, "latecomer"])
    result = classroom.classroom("provision", "--roster", str(roster), "--server", classroom.url,
                                 "--out", str(classroom.connections))
    assert result.returncode == 0, result.stderr
    assert "1 created" in result.stdout and f"{len(STUDENTS)} unchanged" in result.stdout
    assert {u: (classroom.connections / f"{u}.env").read_bytes() for u in STUDENTS} == before
    assert (classroom.connections / "latecomer.env").exists()


def test_same_names_live_apart_in_each_workspace(classroom):
    """Do two students' experiments and registered models with the same names stay separate?"""
    from mlflow import MlflowClient

    seen = {}
    for username in ("complete", "partial"):
        env = classroom.admin_env(MLFLOW_WORKSPACE=username)
        with _environment(env):
            client = MlflowClient(tracking_uri=classroom.url)
            seen[username] = client.get_experiment_by_name("task1-baseline").experiment_id
    assert seen["complete"] != seen["partial"]


def test_a_student_cannot_read_or_write_another_workspace(classroom):
    """Are another student's experiments, runs and models answered with 403?"""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    with _environment(classroom.admin_env(MLFLOW_WORKSPACE="complete")):
        client = MlflowClient(tracking_uri=classroom.url)
        run_id = client.search_runs([client.get_experiment_by_name("task1-baseline").experiment_id])[0].info.run_id
    intruder = classroom.student_env("partial")
    attempts = {
        "get_experiment_by_name": lambda c: c.get_experiment_by_name("task1-baseline"),
        "create_experiment": lambda c: c.create_experiment("intruder"),
        "get_registered_model": lambda c: c.get_registered_model("api-response-time"),
    }
    with _environment({**intruder, "MLFLOW_WORKSPACE": "complete"}):
        client = MlflowClient(tracking_uri=classroom.url)
        for name, attempt in attempts.items():
            with pytest.raises(MlflowException) as denied:
                attempt(client)
            assert denied.value.get_http_status_code() == 403, name
        assert client.search_experiments() == []  # a search shows nothing of theirs
    with _environment(intruder):  # from the intruder's own workspace, by run id
        client = MlflowClient(tracking_uri=classroom.url)
        for attempt in (lambda: client.get_run(run_id), lambda: client.log_metric(run_id, "rmse", 1.0)):
            with pytest.raises(MlflowException) as denied:
                attempt()
            assert denied.value.get_http_status_code() == 403


def test_the_gradebook_gives_each_student_their_exact_points(gradebook):
    """Does the CSV hold every student's points per TODO and total?"""
    _, rows, result = gradebook
    assert list(rows) == STUDENTS, "rows follow the roster"
    for username, passes in EXPECTED_PASSES.items():
        row = rows[username]
        assert row["status"] == "graded", row
        assert {todo: row[todo] for todo in TODO_IDS} == {
            todo: "1" if todo in passes else "0" for todo in TODO_IDS}, username
        assert (row["total"], row["max"]) == (str(len(passes)), str(len(TODO_IDS)))
    assert "1.4:" in rows["typed"]["problems"]
    assert f"[{len(STUDENTS)}/{len(STUDENTS)}]" in result.stderr, "progress is shown"


def test_as_of_a_deadline_nothing_found_is_none_by_the_deadline():
    """With --as-of, does the problems column say "none by the deadline" where the grader found none
    (and leave the grader's words as they are without a deadline)?"""
    from classroom.gradebook import problems

    report = {"as_of": None, "results": [
        {"id": "1.1", "status": "fail", "rationale": "expected a run in experiment 'task1-baseline', found none"},
        {"id": "1.2", "status": "skip", "rationale": "skipped until 1.1 passes"},
        {"id": "2.1", "status": "fail", "rationale": "expected runs a, b in 'task2-rf-sweep', found none of them"}]}
    assert problems(report).startswith("1.1: expected a run in experiment 'task1-baseline', found none | 1.2:")
    report["as_of"] = "2025-03-14T23:59:00+00:00"
    assert problems(report) == ("1.1: expected a run in experiment 'task1-baseline', none by the deadline | "
                                "1.2: skipped until 1.1 passes | "
                                "2.1: expected runs a, b in 'task2-rf-sweep', none by the deadline")


def test_the_problems_column_names_every_todo_without_its_point(gradebook):
    """Does `problems` list the skipped TODOs (and why) next to the failed ones?"""
    _, rows, _ = gradebook
    for username in EXPECTED_PASSES:
        row = rows[username]
        named = set(re.findall(r"(?:^| \| )(\d+\.\d+): ", row["problems"]))
        assert named == {todo for todo in TODO_IDS if row[todo] == "0"}, username
    assert "skipped until" in rows["untouched"]["problems"]


def test_the_gradebook_writes_a_gradescope_file_per_student(gradebook):
    """Is there a Gradescope results.json per student, with one test per TODO?"""
    out, rows, _ = gradebook
    for username in STUDENTS:
        results = json.loads((out / "gradescope" / username / "results.json").read_text(encoding="utf-8"))
        assert results["score"] == int(rows[username]["total"])
        assert [t["number"] for t in results["tests"]] == TODO_IDS


def check_canvas_import(path: Path, roster: dict[str, dict], rows: dict[str, dict]) -> None:
    """The file as Canvas's gradebook importer reads it (instructure/canvas-lms,
    app/models/gradebook_importer.rb): a header whose cells 0-1 match /Student/ and /ID/, 2-3
    /SIS User ID/ and /SIS Login ID/, then /Section/ ending the student columns; assignment
    columns after it; a row starting "Points Possible" gives their points; each other row is
    a student, found by SIS Login ID (the roster's e-mail), with a number or nothing."""
    table = list(csv.reader(open(path, newline="", encoding="utf-8")))
    header = table[0]
    assert len(header) > 3 and re.search("Student", header[0]) and re.search("ID", header[1])
    assert re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3])
    assert re.search("Section", header[4]), "the fifth column must end the student columns"
    assert header[5:] == ["MLflow tracking lab"]
    points = [row for row in table[1:] if re.search("Points Possible", row[0])]
    assert [row[5:] for row in points] == [[str(len(TODO_IDS))]]
    students = [row for row in table[1:] if row not in points]
    with_email = [u for u in roster if roster[u]["email"]]
    assert [row[3] for row in students] == [roster[u]["email"] for u in with_email]
    for username, row in zip(with_email, students):
        assert len(row) == len(header) and row[0] == roster[username]["name"]
        expected = rows[username]["total"] if rows[username]["status"] == "graded" else ""
        assert row[5] == expected


def check_moodle_import(path: Path, roster: dict[str, dict], rows: dict[str, dict]) -> None:
    """The file as Moodle's CSV grade import reads it (MoodleDocs "Grade import"; moodle/moodle
    grade/import/csv/classes/load_data.php): the teacher maps one column to `useremail`; a row
    whose user is not found stops the whole import; a grade is a number, or empty / "-" for
    none; a feedback column can be mapped to the item's feedback."""
    table = list(csv.DictReader(open(path, newline="", encoding="utf-8")))
    assert list(table[0]) == ["Email address", "MLflow tracking lab", "MLflow tracking lab (Feedback)"]
    by_email = {r["email"]: u for u, r in roster.items() if r["email"]}
    assert [row["Email address"] for row in table] == list(by_email), "one row per student with an e-mail"
    for row in table:
        username = by_email[row["Email address"]]
        grade = row["MLflow tracking lab"]
        if rows[username]["status"] == "graded":
            assert float(grade) == float(rows[username]["total"])
            assert row["MLflow tracking lab (Feedback)"] == (rows[username]["problems"] or "all TODOs pass")
        else:
            assert grade in ("", "-")


def test_the_gradebook_writes_canvas_and_moodle_import_files(classroom, gradebook):
    """Are there Canvas and Moodle files, in their documented formats, matched by e-mail?"""
    out, rows, result = gradebook
    roster = {r["username"]: r for r in csv.DictReader(open(classroom.roster, encoding="utf-8"))}
    assert {u for u in roster if not roster[u]["email"]} == WITHOUT_EMAIL
    check_canvas_import(out / "canvas.csv", roster, rows)
    check_moodle_import(out / "moodle.csv", roster, rows)
    assert f"no email in {classroom.roster}): {', '.join(sorted(WITHOUT_EMAIL))}" in result.stderr


def test_grading_uses_a_read_only_user_not_the_admin_and_shows_the_hints_a_student_asked_for(
        classroom, gradebook):
    """Do the grading children sign in as a user who reads every workspace and changes nothing?
    And does a row that could not be graded (no read permission; no such workspace on the server)
    make the gradebook exit 1, naming each such student? In the same gradebook (one gradebook run
    for both: each costs a grading fork server and its warm-up), a student who asked twice for
    task 1's hints: the tags land in their workspace, and the gradebook (its read-only grading
    user) reports the levels in the hints_used column (this was test_grader_hints.py's
    test_the_gradebook_shows_the_hints_a_student_asked_for_on_the_class_server)."""
    from conftest import CODE_DIR, TASK_SCRIPTS, run_python
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from grader.hints import LAST_LEVEL

    hinted = classroom.folder / "roster_hints.csv"
    write_roster(hinted, ["hinted"])
    made = classroom.classroom("provision", "--roster", str(hinted), "--server", classroom.url,
                               "--out", str(classroom.connections))
    assert made.returncode == 0, made.stderr
    classroom.run_script("hinted", CODE_DIR / TASK_SCRIPTS["task1"])
    student = classroom.student_env("hinted")
    for _ask in range(2):
        asked = run_python([str(ROOT / "grader" / "check.py"), "task1", "--hint"], student, classroom.folder)
        assert asked.returncode == 1 and "Could not record" not in asked.stderr, asked.stderr

    grader = read_env_file(classroom.state / "grading.env")
    assert grader["MLFLOW_TRACKING_USERNAME"] == "grader"
    env = {**grader, "MLFLOW_TRACKING_URI": classroom.url, "MLFLOW_WORKSPACE": "complete"}
    with environment(env):
        client = MlflowClient(tracking_uri=classroom.url)
        experiment = client.get_experiment_by_name("task1-baseline")
        run_id = client.search_runs([experiment.experiment_id])[0].info.run_id
        for write in (lambda: client.create_experiment("graders-own"),
                      lambda: client.log_metric(run_id, "rmse", 1.0),
                      lambda: client.delete_registered_model("api-response-time")):
            with pytest.raises(MlflowException) as denied:
                write()
            assert denied.value.get_http_status_code() == 403
    # It is the user grading signs in as: without its read permission in one workspace,
    # that student cannot be graded (the admin could have read it).
    with environment(classroom.admin_env()):
        from mlflow.server import get_app_client

        auth = get_app_client("basic-auth", tracking_uri=classroom.url)
        role = next(r for r in auth.list_roles("typed") if r.name == "grader")
        permissions = auth.list_role_permissions(role.id)
        for permission in permissions:
            auth.remove_role_permission(permission.id)
        try:
            roster = classroom.folder / "roster_typed.csv"
            write_roster(roster, ["typed", "ghost", "hinted"])  # ghost: a student missing from the server
            book = classroom.classroom("gradebook", "--roster", str(roster), "--server", classroom.url,
                                       "--out", str(classroom.folder / "no-read"), "--state", str(classroom.state))
        finally:
            for permission in permissions:
                auth.add_role_permission(role.id, permission.resource_type, permission.resource_pattern,
                                         permission.permission)
    rows = {row["student"]: row for row in csv.DictReader(open(classroom.folder / "no-read" / "gradebook.csv",
                                                                  encoding="utf-8"))}
    assert list(rows) == ["typed", "ghost", "hinted"]
    assert rows["typed"]["status"] == rows["ghost"]["status"] == "cannot-grade", rows
    assert book.returncode == 1, "a row that could not be graded makes the gradebook exit 1"
    assert "Could not grade 2 of 3 students: typed, ghost" in book.stderr, book.stderr
    assert rows["hinted"]["status"] == "graded", rows["hinted"]
    assert rows["hinted"]["hints_used"] == "; ".join(f"{i}:{LAST_LEVEL}" for i in todo_ids(["task1"]))
    report = json.loads((classroom.folder / "no-read" / "gradescope" / "hinted" / "results.json").read_text(
        encoding="utf-8"))
    assert {t["number"]: t["extra_data"]["hint_level"] for t in report["tests"]
            if t["number"].startswith("2.")} == dict.fromkeys(todo_ids(["task2"]), 0)


def test_the_gradebook_refuses_a_students_credentials(classroom):
    """Does the gradebook, run with a student's credentials, refuse in one line instead of grading?"""
    env = {**classroom.admin_env(), **classroom.student_env("complete")}
    book = classroom.classroom("gradebook", "--roster", str(classroom.roster), "--server", classroom.url,
                               "--out", str(classroom.folder / "as-student"), "--state", str(classroom.state),
                               env=env)
    assert book.returncode == 2
    assert book.stderr.strip().count("\n") == 0 and "not the server's admin" in book.stderr
    assert not (classroom.folder / "as-student" / "gradebook.csv").exists()


def test_the_list_of_users_is_for_the_admin_only(classroom):
    """Is `GET /api/2.0/mlflow/users/list` refused to a student, who would see every classmate?"""
    from labkit.net import request

    def users_list(username: str, password: str):
        answer = request("GET", classroom.url + "/api/2.0/mlflow/users/list", auth=(username, password),
                         headers={"X-MLflow-Workspace": "complete"}, timeout=30)
        return answer.status_code, answer.json() if answer.ok else None

    student = classroom.student_env("complete")
    assert users_list("complete", student["MLFLOW_TRACKING_PASSWORD"])[0] == 403
    code, answer = users_list("admin", classroom.admin_password)
    assert code == 200 and {"complete", "partial"} <= {u["username"] for u in answer["users"]}


def test_a_model_that_runs_code_on_load_is_refused(classroom, gradebook):
    """Is an unpickling model refused, and does its code never run while the class is graded?"""
    _, rows, _ = gradebook
    assert not classroom.marker.exists(), "grading ran the student's code"
    evil = rows["evil"]
    assert evil["status"] == "graded" and evil["3.2"] == "0" and evil["3.1"] == "1"
    assert "cloudpickle" in evil["problems"]
    # The model is really hostile: MLflow's own loader runs its code.
    load = classroom.folder / "load_evil.py"
    load.write_text("import mlflow.sklearn; mlflow.sklearn.load_model('models:/api-response-time@staging')\n",
                    encoding="utf-8")
    zygote.run([str(load)], classroom.student_env("evil"), classroom.folder, timeout=300)
    assert classroom.marker.exists()


def test_a_wrong_password_is_one_line(classroom):
    """Does a wrong password give one line that names the fix, for the grader and the gradebook?"""
    env = {**classroom.student_env("complete"), "MLFLOW_TRACKING_PASSWORD": "not-the-password"}
    graded = zygote.run([str(ROOT / "grader" / "check.py"), "task1"], env, classroom.folder, timeout=120)
    assert graded.returncode == 2
    assert "MLFLOW_TRACKING_PASSWORD" in graded.stderr and "Traceback" not in graded.stderr
    book = classroom.classroom("gradebook", "--roster", str(classroom.roster), "--server", classroom.url,
                               "--out", str(classroom.folder / "refused"),
                               env={**classroom.admin_env(), "MLFLOW_TRACKING_PASSWORD": "not-the-password"})
    assert book.returncode == 2
    assert book.stderr.strip().count("\n") == 0 and "refused user 'admin'" in book.stderr
    script = zygote.run([str(ROOT / "code" / "task1_baseline.py")], env, classroom.folder, timeout=120)
    assert script.returncode == 1 and "Traceback" not in script.stderr
    assert "did not accept user 'complete'" in script.stderr


def test_a_task_in_someone_elses_workspace_is_one_line(classroom):
    """Does a student pointed at another student's workspace get one line, not a 403 traceback?"""
    env = {**classroom.student_env("complete"), "MLFLOW_WORKSPACE": "partial"}
    script = zygote.run([str(ROOT / "code" / "task1_baseline.py")], env, classroom.folder, timeout=120)
    assert script.returncode == 1 and "Traceback" not in script.stderr
    assert "may not use workspace 'partial'" in script.stderr


def test_a_student_serves_their_staged_model_in_class_mode(classroom):
    """Does the guide's bonus command, run with a student's file loaded, serve that student's
    staged model from the class server (with their credentials and workspace)? (The command forked
    warm, test/forked.py: its start is not the subject; `mlflow models serve` is MLflow's own.)"""
    import signal
    import tempfile

    from forked import Forked

    from labkit.net import answers, free_port, request, wait_until

    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="serve-model-"))
    stdout, stderr = folder / "stdout", folder / "stderr"
    server = Forked([ROOT / "test" / "serve_model.py", "--port", port], classroom.student_env("complete"),
                    ROOT, stdout, stderr)

    def output() -> str:
        return "".join(f.read_text(encoding="utf-8", errors="replace") for f in (stdout, stderr) if f.exists())

    url = f"http://127.0.0.1:{port}"
    try:
        started = wait_until(lambda: answers(url + "/ping"), 180, every=0.5, unless=lambda: server.poll() is not None)
        assert started, output()
        row = {"cpu_usage_pct": 25.0, "memory_usage_pct": 60.0, "disk_io_mbps": 35.0,
               "network_latency_ms": 25.0, "concurrent_users": 400}
        response = request("POST", url + "/invocations", json={"dataframe_records": [row]}, timeout=30)
        assert response.status_code == 200, response.text
        predictions = response.json()["predictions"]
        assert len(predictions) == 1 and predictions[0] > 0
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)
    assert "version 1" in output(), output()


SOLVED_BY_SOLUTIONS = {"complete": SCRIPTS, "partial": SCRIPTS[:2]}  # what classroom_world runs


def test_students_whose_graded_runs_came_from_solutions_are_flagged_not_docked(gradebook):
    """Is a student whose points stand on runs of solutions/ flagged (points unchanged, the summary
    says so), and one who ran code/ (or their own script) not?"""
    _, rows, result = gradebook
    for username in STUDENTS:
        flagged = set(re.findall(r"ran (solutions/\S+) \(", rows[username]["flags"]))
        assert flagged == {f"solutions/{s}" for s in SOLVED_BY_SOLUTIONS.get(username, [])}, username
    assert rows["complete"]["total"] == str(len(TODO_IDS)), "a flag changes no points"
    assert "(3.1, 3.2, 3.3)" in rows["complete"]["flags"], "the flag names the TODOs it concerns"
    summary = next(line for line in result.stderr.splitlines() if line.startswith("Graded "))
    assert "2 flagged" in summary and "complete, partial" in summary, summary


def test_the_gradebook_as_of_a_deadline_ignores_runs_after_it(classroom):
    """On the class server: untouched task 1, the deadline, then the solution. Graded as of the
    deadline, after the late run, the row is as it was (0 points); as of a later time, the late
    run counts; and a roster's ``due`` (a student's own deadline, here `partial`'s, before their
    work) is graded over the class's --as-of. (Two gradebooks: the later time's is the ``due``'s.)"""
    roster = classroom.folder / "roster_deadline.csv"
    write_roster(roster, ["late"])
    made = classroom.classroom("provision", "--roster", str(roster), "--server", classroom.url,
                               "--out", str(classroom.connections))
    assert made.returncode == 0, made.stderr
    classroom.run_script("late", ROOT / "code" / SCRIPTS[0])
    deadline = datetime.now(timezone.utc).isoformat()
    time.sleep(0.01)

    def rows_as_of(moment: str, name: str) -> dict:
        out = classroom.folder / f"deadline-{name}"
        book = classroom.classroom("gradebook", "--roster", str(roster), "--server", classroom.url,
                                   "--out", str(out), "--state", str(classroom.state), "--as-of", moment)
        assert book.returncode == 0, book.stderr
        assert f"as of {moment[:19]}" in book.stderr, "the summary names the deadline"
        return {row["student"]: row for row in csv.DictReader(open(out / "gradebook.csv", encoding="utf-8"))}

    classroom.run_script("late", ROOT / "solutions" / SCRIPTS[0])
    after = rows_as_of(deadline, "after")["late"]  # the row as it was at the deadline (only the untouched run)
    assert after["total"] == "0", "a run after the deadline changed the grade"
    assert "none by the deadline" in after["problems"] and "found none" not in after["problems"]
    assert after["deadline"] == datetime.fromisoformat(deadline).isoformat(timespec="seconds")
    assert "solutions/" not in after["flags"], "the late run's script was seen"
    # The roster's `due`: partial's own deadline, before the class's work, over the class's --as-of.
    due = "2000-01-01T00:00:00+00:00"
    roster.write_text(f"username,name,email,due\nlate,Late,late@school.example,\n"
                      f"partial,Partial,partial@school.example,{due}\n", encoding="utf-8")
    moment = datetime.now(timezone.utc).isoformat()
    rows = rows_as_of(moment, "due")
    later, extended = rows["late"], rows["partial"]
    assert later["deadline"] == datetime.fromisoformat(moment).isoformat(timespec="seconds"), "the class's"
    assert later["total"] == str(len(todo_ids(["task1"]))), "a run before the deadline counts"
    assert "ran solutions/task1_baseline.py" in later["flags"]
    assert extended["total"] == "0" and "none by the deadline" in extended["problems"], extended
    assert extended["deadline"] == datetime.fromisoformat(due).isoformat(timespec="seconds"), \
        "the row says it was graded as of the student's own deadline"
    moodle = (classroom.folder / "deadline-due" / "moodle.csv").read_text(encoding="utf-8").splitlines()
    assert moodle[2].startswith("partial@school.example,0,"), "the LMS files grade as of the student's due"

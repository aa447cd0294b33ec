"""Two class servers behind one address: real PostgreSQL, two `mlflow server`s (each `ServerProcess`,
as `python -m classroom serve` starts it) sharing its two databases and one bucket of moto's S3
server, and a real nginx running the site the lab ships (deploy/nginx-class.conf).

It is the class of the xdist group "classroom-s3" (test/classroom_world.py builds it: its students,
gradebook and board use nginx's address only; server A is stopped in the middle of the students'
work). Here: the students' next runs and the gradebook went on through the other server, and
nothing is lost (every score exact; the board's, with server A down: test_classroom_secrets.py; every
model loads from the bucket: test_classroom_s3.py's test_every_logged_model_is_in_the_bucket_and_nothing_on_disk).
"""

from __future__ import annotations

import csv
import secrets

import pytest

from classroom_world import EXPECTED_PASSES, S3_ARTIFACTS, TODO_IDS

pytestmark = [pytest.mark.xdist_group("classroom-s3"), pytest.mark.postgres, pytest.mark.slow]

BUCKET, PREFIX = S3_ARTIFACTS[len("s3://"):].split("/", 1)


def test_a_class_goes_on_when_one_of_two_servers_stops(classroom, gradebook):
    """Through nginx's one address: provision, the students' first runs on both servers; then one
    server stopped while they worked; their next runs (the class's build) and the gradebook went on,
    with every score exact. (The board's exact scores with server A down: test_classroom_secrets.py,
    whose board, run before this module starts A again, checks them.)"""
    room = classroom
    seen = room.two_servers
    a, b = seen["addresses"]
    assert all(seen["task1"].get(address, 0) > 0 for address in (a, b)), f"both servers answered: {seen}"
    assert seen["a_down"], "server A was down when the students' work ended"
    assert seen["after_work"].get(b, 0) > seen["at_stop"].get(b, 0), "server B answered after A stopped"
    for username, script, line in seen["retried"]:  # a request under way on A when it stopped
        assert "run this script again" in line and "Traceback" not in line, (username, script, line)

    _, rows, _ = gradebook  # graded through nginx, server A down
    for username, passes in EXPECTED_PASSES.items():
        assert {todo: rows[username][todo] for todo in TODO_IDS} == {
            todo: "1" if todo in passes else "0" for todo in TODO_IDS}, (username, rows[username])



def test_status_and_audit_see_both_servers(classroom):
    """Run on the folder that holds both servers' `--state` (INSTRUCTORS.md, "Two servers"), does
    `status` describe both running servers, and `audit` list the denied requests each one answered?"""
    import time
    from datetime import datetime, timedelta, timezone

    import requests

    from classroom.audit import read_denials

    room = classroom
    if room.servers[0].process.poll() is not None:  # stopped mid-class: started again, as the guide says
        room.servers[0].config.workers = 1  # (with one uvicorn worker: what is checked here is not the workers)
        room.servers[0].start()
    student = room.student_env("complete")
    auth = (student["MLFLOW_TRACKING_USERNAME"], student["MLFLOW_TRACKING_PASSWORD"])
    before = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
    for server in room.servers:  # one attempt on partial's workspace, straight to each server
        answer = requests.get(f"{server.config.url}/api/2.0/mlflow/experiments/get-by-name", auth=auth, timeout=60,
                              params={"experiment_name": "Default"}, headers={"X-MLflow-Workspace": "partial"})
        assert answer.status_code == 403, answer.text
    for _attempt in range(50):  # a worker writes its line after its answer
        if all(any(d.user == "complete" and d.time >= before for d in read_denials(s.log_path)) for s in room.servers):
            break
        time.sleep(0.2)
    folder = room.servers[0].config.state.parent
    status = room.classroom("status", "--state", str(folder))
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.startswith(f"2 of 2 class servers recorded in {folder} are running."), status.stdout
    for server in room.servers:
        assert f"{server.config.state}:\n  Class server running at {server.config.url}" in status.stdout
    audit = room.classroom("audit", "--state", str(folder), "--since", before.isoformat())
    assert audit.returncode == 0, audit.stderr
    assert "complete: 2 denied requests" in audit.stdout, audit.stdout
    assert all(str(server.log_path) in audit.stdout for server in room.servers), audit.stdout


def test_a_new_class_on_the_same_bucket_folder_is_refused(classroom, tmp_path):
    """A server of another database (a new class, or this one's database made again) pointed at the
    class's bucket folder: is it refused in one line that names a folder of its own, and stopped,
    while the class's record in the folder still names the class's database?"""
    import json

    import psycopg2
    from sqlalchemy.engine import make_url

    from classroom.bucket_owner import RECORD, database_identity
    from classroom.object_store import StorageError
    from classroom.postgres import free_port
    from classroom.server import ServerConfig
    from classroom_world import WarmServer

    room = classroom
    url = make_url(room.servers[1].config.database_uri)
    connection = psycopg2.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                                  dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        for name in ("next_term", "next_term_auth"):
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    config = ServerConfig(database_uri=str(url.set(database="next_term").render_as_string(hide_password=False)),
                          auth_database_uri=str(url.set(database="next_term_auth").render_as_string(hide_password=False)),
                          artifacts=f"s3://{BUCKET}/{PREFIX}", admin_password=room.admin_password,
                          secret_key=secrets.token_hex(16), port=free_port(), state=tmp_path / "next-term",
                          storage=room.s3.storage, workers=1)  # refused once it answers: one worker is enough
    server = WarmServer(config)
    with pytest.raises(StorageError) as refused:
        server.start()
    line = str(refused.value)
    assert "\n" not in line and f"s3://{BUCKET}/{PREFIX} holds the artifacts of another class" in line, line
    assert f"--artifacts s3://{BUCKET}/{PREFIX}-" in line, line
    assert server.process.poll() is not None and not (tmp_path / "next-term" / "serve.json").exists()
    record = json.loads(room.s3.client().get_object(Bucket=BUCKET, Key=f"{PREFIX}/{RECORD}")["Body"].read())
    assert record["database_created"] == database_identity(room.servers[1].config.database_uri)[0]
    assert record["database_created"] != database_identity(config.database_uri)[0]


class _StopServerAfterFirstRow:
    """A progress stream that pulls the plug on the server once the first student is graded."""

    def __init__(self, server) -> None:
        self.server, self.lines = server, []

    def write(self, text: str) -> None:
        self.lines.append(text)
        if text.startswith("[1/"):
            self.server.stop()

    def flush(self) -> None:
        pass


def test_a_server_that_goes_down_keeps_the_rows_graded_before(classroom, gradebook):
    """When the server dies mid-grading, are earlier rows kept and the reason said once? (Graded
    straight from server A, not through nginx, which would send the rest to server B. Last of the
    module: A stays down, the group's other tests use B, the one `room.server` is.)"""
    from classroom.connection import read_env_file
    from classroom.gradebook import Gradebook
    from classroom.roster import Student

    server = classroom.servers[0]
    assert server is not classroom.server
    if server.process.poll() is not None:  # stopped mid-class: started again
        server.start()
    url = server.config.url
    out = classroom.folder / "outage"
    progress = _StopServerAfterFirstRow(server)
    grader = read_env_file(classroom.state / "grading.env")
    book = Gradebook(url, {**grader, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}, out,
                     jobs=1, progress=progress)
    students = [Student(u) for u in ["complete", "partial", "untouched", "typed"]]
    rows = {row["student"]: row for row in book.grade_all(students)}
    assert book.server_down
    assert rows["complete"]["status"] == "graded" and str(rows["complete"]["total"]) == str(len(TODO_IDS))
    assert all(rows[u]["status"] in ("cannot-grade", "not-graded") for u in ["partial", "untouched", "typed"])
    assert any(f"{url} stopped answering" in line for line in progress.lines)
    stopped = [rows[u]["problems"] for u in ["partial", "untouched", "typed"] if "stopped answering" in rows[u]["problems"]]
    assert stopped and all(url in problem for problem in stopped), "every such message names the server"
    on_disk = list(csv.DictReader(open(out / "gradebook.csv", encoding="utf-8")))
    assert [r["student"] for r in on_disk] == [s.username for s in students]
    assert on_disk[0]["total"] == str(len(TODO_IDS))

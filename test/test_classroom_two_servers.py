"""Two class servers behind one address: real PostgreSQL, two `mlflow server`s (each `ServerProcess`,
as `python -m classroom serve` starts it) sharing its two databases and one bucket of moto's S3
server, and a real nginx running the site the lab ships (deploy/nginx-class.conf).

Students, the gradebook and the board use nginx's address only. One server is stopped in the
middle of the class: the students' next runs, the board and the gradebook go on through the
other, and nothing is lost (every score exact, every model loads from the bucket).
"""

from __future__ import annotations

import csv
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from classroom_world import CODE_DIR, SCRIPTS, SOLUTIONS_DIR, Classroom, environment, typed_task1, write_roster
from grader.registry import todo_ids
from nginx_proxy import Nginx
from s3_storage import MotoS3

pytestmark = [pytest.mark.xdist_group("two-servers"), pytest.mark.postgres, pytest.mark.slow]

BUCKET, PREFIX = "class-artifacts", "two-servers"
TODO_IDS = todo_ids()
# Each student's scripts, and the TODOs that then pass (as on one server: test_classroom.py).
# Three students, two at a time: the stop falls while one works and another waits its turn.
PLANS = {
    "ana": ([SOLUTIONS_DIR / s for s in SCRIPTS], set(TODO_IDS)),
    "cy": ([SOLUTIONS_DIR / SCRIPTS[0], SOLUTIONS_DIR / SCRIPTS[1], CODE_DIR / SCRIPTS[2], CODE_DIR / SCRIPTS[3]],
           set(todo_ids(["task1", "task2"]))),
    "dee": (["typed", SOLUTIONS_DIR / SCRIPTS[1], SOLUTIONS_DIR / SCRIPTS[2], SOLUTIONS_DIR / SCRIPTS[3]],
            set(TODO_IDS) - {"1.4"}),  # rmse typed by hand in task 1
}


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    from classroom.postgres import Cluster, free_port
    from classroom.server import ServerConfig, ServerProcess

    folder = tmp_path_factory.mktemp("two-servers")
    admin_password = secrets.token_urlsafe(16)
    secret_key = secrets.token_hex(16)  # the same on both: INSTRUCTORS.md, "Two servers"
    with Cluster() as postgres, MotoS3() as s3:
        configs = [ServerConfig(
            database_uri=postgres.uri("mlflow"), auth_database_uri=postgres.uri("mlflow_auth"),
            artifacts=f"s3://{BUCKET}/{PREFIX}", admin_password=admin_password, secret_key=secret_key,
            port=free_port(), state=folder / f"server-{name}", storage=s3.storage) for name in "ab"]
        servers = [ServerProcess(config) for config in configs]
        try:
            for server in servers:  # one after the other: the first creates the databases' tables
                server.start()
            with Nginx(folder / "nginx", [f"127.0.0.1:{c.port}" for c in configs]) as nginx:
                room = Classroom(folder, servers[0], admin_password)
                room.url = nginx.url  # everyone uses the one address
                room.servers, room.nginx, room.s3 = servers, nginx, s3
                yield room
        finally:
            for server in servers:
                server.stop()


def test_a_class_goes_on_when_one_of_two_servers_stops(two_servers, tmp_path):
    """Through nginx's one address: provision, the students' first runs on both servers; then one
    server stops while they work; their next runs, the gradebook and the board all go on, with
    every score exact and every model loading from the bucket."""
    room = two_servers
    write_roster(room.roster, PLANS)
    provision = room.classroom("provision", "--roster", str(room.roster), "--server", room.url,
                               "--out", str(room.connections), "--state", str(room.state))
    assert provision.returncode == 0, provision.stderr
    typed = typed_task1(room.folder)

    def run(username: str, steps) -> None:
        for script in steps:
            try:
                room.run_script(username, typed if script == "typed" else script)
            except AssertionError as failed:
                log = room.nginx.folder / "error.log"
                raise AssertionError(f"{failed}\n--- nginx's error log\n{log.read_text()[-3000:]}") from None

    with ThreadPoolExecutor(max_workers=2) as pool:  # task 1, on both servers
        list(pool.map(lambda u: run(u, PLANS[u][0][:1]), PLANS))
    served = room.nginx.upstreams()
    addresses = [f"127.0.0.1:{s.config.port}" for s in room.servers]
    assert all(served.get(a, 0) > 0 for a in addresses), f"both servers answered: {served}"

    # Tasks 2-4; server A stops once the first student's task 2 is done, while the others work.
    first_done = threading.Event()

    def rest(username: str) -> None:
        run(username, PLANS[username][0][1:2])
        first_done.set()
        run(username, PLANS[username][0][2:])

    with ThreadPoolExecutor(max_workers=2) as pool:
        work = [pool.submit(rest, u) for u in PLANS]
        assert first_done.wait(timeout=900), "no student finished task 2"
        room.servers[0].stop()
        for done in work:
            done.result()
    assert room.servers[0].process.poll() is not None, "server A is down"
    before_stop = served.get(addresses[1], 0)
    assert room.nginx.upstreams().get(addresses[1], 0) > before_stop, "server B answered after A stopped"

    book = room.classroom("gradebook", "--roster", str(room.roster), "--server", room.url,
                          "--out", str(tmp_path / "grades"), "--jobs", "2", "--state", str(room.state))
    assert book.returncode == 0, book.stderr
    rows = {row["student"]: row for row in csv.DictReader(open(tmp_path / "grades" / "gradebook.csv",
                                                               encoding="utf-8"))}
    for username, (_steps, passes) in PLANS.items():
        assert {todo: rows[username][todo] for todo in TODO_IDS} == {
            todo: "1" if todo in passes else "0" for todo in TODO_IDS}, (username, rows[username])

    from test_classroom_board import RunningBoard

    board = RunningBoard(room, room.roster, "--every", "600", "--jobs", "2")
    try:
        snapshot = board.wait_for(lambda s: s["refreshes"] >= 1 and not s["running"])
    finally:
        board.stop()
    totals = {row["student"]: row["total"] for row in snapshot["rows"]}
    assert totals == {u: len(passes) for u, (_steps, passes) in PLANS.items()}, snapshot

    _every_model_loads_from_the_bucket(room)


def _every_model_loads_from_the_bucket(room) -> None:
    """Each logged model of every student loads through the one address and predicts; its files are
    objects of the bucket (the stopped server held none of them)."""
    from mlflow import MlflowClient

    from labkit import lab
    from grader.models import ModelFiles

    keys = room.s3.keys(BUCKET, PREFIX + "/")
    rows = lab.split_data().X_test.head(3)
    loaded = 0
    for username in PLANS:
        with environment(room.student_env(username)):
            client = MlflowClient(tracking_uri=room.url)
            experiments = [e.experiment_id for e in client.search_experiments()]
            for model in client.search_logged_models(experiments):
                assert any(k.endswith(f"/models/{model.model_id}/artifacts/MLmodel") for k in keys), model.model_id
                if model.name == lab.MODEL_NAME:  # loaded as the grader does (skops, trusted types)
                    files = ModelFiles(model, tracking_uri=room.url)
                    try:
                        assert len(files.load().predict(rows)) == 3
                    finally:
                        files.close()
                    loaded += 1
    complete = sum(1 for _u, (steps, _p) in PLANS.items() if SOLUTIONS_DIR / SCRIPTS[2] in steps)
    assert loaded >= 3 * complete, f"{loaded} models loaded"


def test_status_and_audit_see_both_servers(two_servers):
    """Run on the folder that holds both servers' `--state` (INSTRUCTORS.md, "Two servers"), does
    `status` describe both running servers, and `audit` list the denied requests each one answered?"""
    import time
    from datetime import datetime, timedelta, timezone

    import requests

    from classroom.audit import read_denials

    room = two_servers
    if room.servers[0].process.poll() is not None:  # stopped mid-class above: started again, as the guide says
        room.servers[0].start()
    write_roster(room.roster, PLANS)
    provision = room.classroom("provision", "--roster", str(room.roster), "--server", room.url,
                               "--out", str(room.connections), "--state", str(room.state))  # idempotent
    assert provision.returncode == 0, provision.stderr
    student = room.student_env("ana")
    auth = (student["MLFLOW_TRACKING_USERNAME"], student["MLFLOW_TRACKING_PASSWORD"])
    before = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
    for server in room.servers:  # one attempt on cy's workspace, straight to each server
        answer = requests.get(f"{server.config.url}/api/2.0/mlflow/experiments/get-by-name", auth=auth, timeout=60,
                              params={"experiment_name": "Default"}, headers={"X-MLflow-Workspace": "cy"})
        assert answer.status_code == 403, answer.text
    for _attempt in range(50):  # a worker writes its line after its answer
        if all(any(d.user == "ana" and d.time >= before for d in read_denials(s.log_path)) for s in room.servers):
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
    assert "ana: 2 denied requests" in audit.stdout, audit.stdout
    assert all(str(server.log_path) in audit.stdout for server in room.servers), audit.stdout


def test_a_new_class_on_the_same_bucket_folder_is_refused(two_servers, tmp_path):
    """A server of another database (a new class, or this one's database made again) pointed at the
    class's bucket folder: is it refused in one line that names a folder of its own, and stopped,
    while the class's record in the folder still names the class's database?"""
    import json

    import psycopg2
    from sqlalchemy.engine import make_url

    from classroom.bucket_owner import RECORD, database_identity
    from classroom.object_store import StorageError
    from classroom.postgres import free_port
    from classroom.server import ServerConfig, ServerProcess

    room = two_servers
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
                          storage=room.s3.storage)
    server = ServerProcess(config)
    with pytest.raises(StorageError) as refused:
        server.start()
    line = str(refused.value)
    assert "\n" not in line and f"s3://{BUCKET}/{PREFIX} holds the artifacts of another class" in line, line
    assert f"--artifacts s3://{BUCKET}/{PREFIX}-" in line, line
    assert server.process.poll() is not None and not (tmp_path / "next-term" / "serve.json").exists()
    record = json.loads(room.s3.client().get_object(Bucket=BUCKET, Key=f"{PREFIX}/{RECORD}")["Body"].read())
    assert record["database_created"] == database_identity(room.servers[1].config.database_uri)[0]
    assert record["database_created"] != database_identity(config.database_uri)[0]

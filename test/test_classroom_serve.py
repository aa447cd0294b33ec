"""The class server's life as the instructor lives it: `python -m classroom serve` started from
the guide's commands, asked for its status, stopped with Ctrl-C at any point, crashing, or
refused by its database. Real PostgreSQL (Debian's binaries), real `mlflow server`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest
import zygote

from classroom_world import ROOT, clean_env
from procs import command_lines

from classroom.postgres import Cluster, free_port, pg_binary  # noqa: E402
from classroom.server import health  # noqa: E402
from labkit.net import process_group, request, wait_until  # noqa: E402

pytestmark = [pytest.mark.xdist_group("classroom-serve"), pytest.mark.postgres]

GUIDE = ROOT / "INSTRUCTORS.md"


@pytest.fixture
def pg_tmp(tmp_path):
    """TMPDIR for `serve`: where its throwaway cluster goes. PostgreSQL runs as the `postgres`
    user when the tests run as root, so the folder must be one that user can reach."""
    folder = Path(tempfile.mkdtemp(prefix="classroom-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def start_serve(tmp_path: Path, *args: str, tmpdir: Path | None = None, sigint_ignored: bool = False,
                artifacts: bool = True, **env: str) -> subprocess.Popen:
    """`python -m classroom serve` in its own process group, as in a terminal (Ctrl-C reaches
    the group; the MLflow server runs in a session of its own). ``sigint_ignored``: started
    the way a shell starts a background job, with SIGINT ignored. With one uvicorn worker (no
    test here depends on two; a worker costs ~5 CPU s to start)."""
    environment = clean_env(TMPDIR=str(tmpdir or tmp_path), **env)
    return subprocess.Popen(
        [sys.executable, "-m", "classroom", "serve", "--state", str(tmp_path / "state"), "--workers", "1",
         *(["--artifacts", str(tmp_path / "artifacts")] if artifacts else []), *args],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None)


def wait_for(condition, what: str, limit: float = 180) -> None:
    if not wait_until(condition, limit, every=0.1):
        raise AssertionError(f"gave up waiting for {what}")


def ctrl_c(serve: subprocess.Popen) -> tuple[str, str]:
    os.killpg(serve.pid, signal.SIGINT)
    return serve.communicate(timeout=120)


def status_file(tmp_path: Path) -> dict | None:
    try:
        return json.loads((tmp_path / "state" / "serve.json").read_text())
    except (OSError, ValueError):
        return None


def group_alive(pgid: int) -> bool:
    return bool(process_group(pgid))


def postgres_under(folder: Path) -> list[str]:
    """Command lines of running processes that mention ``folder`` (a throwaway cluster's)."""
    found = []
    for process in psutil.process_iter():
        try:
            command = " ".join(process.cmdline())
        except psutil.Error:
            continue
        if str(folder) in command and "postgres" in command:
            found.append(command)
    return found


def clusters(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("classroom-pg-*"))


def secrets_env() -> dict[str, str]:
    return {"MLFLOW_AUTH_ADMIN_PASSWORD": secrets.token_urlsafe(16),
            "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16)}


def guide_block(pattern: str) -> str:
    blocks = re.findall(r"```[a-z]*\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    found = [b for b in blocks if re.search(pattern, b)]
    assert found, f"INSTRUCTORS.md has no code block with {pattern!r}"
    return found[0]


@pytest.fixture(scope="module")
def guides_databases():
    """The two databases as the guide's commands make them, without Docker, on a cluster of this
    module (a cluster costs ~3 CPU s: its tests share one): the guide's URIs on that cluster's port,
    and the database password the guide's SQL sets."""
    block = guide_block(r"<<'SQL'")
    sql = re.search(r"<<'SQL'\n(.*?)\nSQL\n", block, re.S).group(1)
    exports = dict(re.findall(r"^export (CLASS_\w+)=(\S+)$", guide_block(r"export CLASS_DATABASE_URI"), re.M))
    db_password = re.search(r"PASSWORD '([^']+)'", sql).group(1)
    with Cluster(superuser="postgres", databases=()) as postgres:
        created = subprocess.run(
            [pg_binary("psql"), "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(postgres.port),
             "-U", "postgres", "-d", "postgres"], input=sql, text=True, capture_output=True,
            env={**os.environ, "PGPASSWORD": postgres.password})
        assert created.returncode == 0, created.stderr
        uris = {name: value.replace("127.0.0.1:5432", f"127.0.0.1:{postgres.port}")
                for name, value in exports.items()}
        yield uris, db_password


def status(tmp_path: Path) -> subprocess.CompletedProcess:
    """`python -m classroom status` on ``tmp_path``'s state folder (forked warm: test/zygote.py)."""
    return zygote.run(["-m", "classroom", "status", "--state", str(tmp_path / "state")], clean_env(), ROOT, 60)


def test_the_guides_commands_create_the_databases_and_serve_the_class(tmp_path, guides_databases):
    """Do the guide's commands make the two databases without Docker, and does `serve` run on them,
    say what runs in `status`, keep the password off its command line, and stop on Ctrl-C?"""
    uris, db_password = guides_databases
    assert set(uris) == {"CLASS_DATABASE_URI", "CLASS_AUTH_DATABASE_URI"}
    assert all(f"mlflow:{db_password}@" in uri for uri in uris.values()), "the guide's two passwords agree"
    port = free_port()
    serve = start_serve(tmp_path, "--port", str(port), **uris, **secrets_env())
    try:
        wait_for(lambda: health(f"http://127.0.0.1:{port}") or serve.poll() is not None, "the server")
        assert serve.poll() is None, serve.communicate()
        shown = status(tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert f"running at http://127.0.0.1:{port} since " in shown.stdout
        assert "answering:  yes" in shown.stdout and "mlflow:***@" in shown.stdout
        assert db_password not in shown.stdout
        server_pid = status_file(tmp_path)["server_pid"]
        commands = command_lines(process_group(server_pid))
        assert commands and not any(db_password in c for c in commands)
    finally:
        out, err = ctrl_c(serve)
    assert serve.returncode == 130, err
    assert not group_alive(server_pid), "Ctrl-C left the MLflow server running"
    after = status(tmp_path)
    assert after.returncode == 1 and "No class server is running" in after.stdout


def test_ctrl_c_while_the_mlflow_server_starts_stops_everything(tmp_path, pg_tmp):
    """Does Ctrl-C during the MLflow server's start leave no server, no throwaway cluster and no
    throwaway artifacts folder (even when `serve` was started with SIGINT ignored, as a shell starts
    a background job)? (A throwaway server without --artifacts keeps them in a temporary folder.)"""
    serve = start_serve(tmp_path, "--throwaway-postgres", "--port", str(free_port()), tmpdir=pg_tmp,
                        sigint_ignored=True, artifacts=False, **secrets_env())
    wait_for(lambda: status_file(tmp_path) is not None or serve.poll() is not None, "the MLflow server to start")
    assert serve.poll() is None, serve.communicate()
    record = status_file(tmp_path)
    server_pid, artifacts = record["server_pid"], Path(record["artifacts"])
    assert artifacts.is_dir() and ROOT not in artifacts.parents, "not the real class's class-artifacts/"
    folders = clusters(pg_tmp)
    assert postgres_under(pg_tmp), "the throwaway cluster runs"
    out, err = ctrl_c(serve)
    assert serve.returncode == 130, err
    assert not group_alive(server_pid), "Ctrl-C left the MLflow server running"
    assert folders and not any(f.exists() for f in folders) and not postgres_under(pg_tmp)
    assert not artifacts.exists(), "a throwaway server's artifacts go with its database"


def test_ctrl_c_while_the_throwaway_cluster_starts_stops_everything(tmp_path, pg_tmp):
    """Does Ctrl-C while PostgreSQL is being set up leave no cluster (files or processes) behind?"""
    serve = start_serve(tmp_path, "--throwaway-postgres", "--port", str(free_port()), tmpdir=pg_tmp,
                        **secrets_env())
    wait_for(lambda: clusters(pg_tmp) or serve.poll() is not None, "the cluster's folder")
    out, err = ctrl_c(serve)
    assert serve.returncode == 130, err
    assert status_file(tmp_path) is None
    assert not clusters(pg_tmp) and not postgres_under(pg_tmp)


def test_a_database_that_refuses_is_reported_with_its_reason(tmp_path, guides_databases):
    """Does a wrong database password stop `serve` in one line with PostgreSQL's reason, not after 180 s?
    (On the guide's databases: the module's cluster.)"""
    uris, db_password = guides_databases
    wrong = uris["CLASS_DATABASE_URI"].replace(f"mlflow:{db_password}@", "mlflow:not-the-password@")
    assert wrong != uris["CLASS_DATABASE_URI"]
    serve = start_serve(tmp_path, "--port", str(free_port()), CLASS_DATABASE_URI=wrong,
                        CLASS_AUTH_DATABASE_URI=uris["CLASS_AUTH_DATABASE_URI"], **secrets_env())
    out, err = serve.communicate(timeout=120)
    assert serve.returncode == 2, err
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert 'password authentication failed for user "mlflow"' in err and "CLASS_DATABASE_URI" in err
    assert status_file(tmp_path) is None, "the MLflow server it started is stopped"


def _named_files_exist(message: str, variable: str) -> None:
    for name in re.findall(r"[\w./-]+\.(?:md|example|env|ini|py)\b", message):
        path = ROOT / name
        if name == "deploy/class.env":  # made by the instructor from the example
            path = ROOT / "deploy/class.env.example"
        assert path.exists(), f"the message names {name}, which does not exist"
        if path.suffix in (".env", ".example"):
            assert variable in path.read_text(encoding="utf-8"), f"{name} has no {variable}"
    assert variable in GUIDE.read_text(encoding="utf-8"), f"INSTRUCTORS.md does not mention {variable}"


@pytest.mark.parametrize("env, args, variable", [
    ({}, [], "CLASS_DATABASE_URI"),
    ({"CLASS_DATABASE_URI": "postgresql+psycopg2://mlflow:pw@127.0.0.1:5432/mlflow"}, [], "CLASS_AUTH_DATABASE_URI"),
    ({}, ["--throwaway-postgres"], "MLFLOW_AUTH_ADMIN_PASSWORD"),
    ({"CLASS_DATABASE_URI": "postgresql+psycopg2://mlflow:pw@127.0.0.1:5432/mlflow",
      "CLASS_AUTH_DATABASE_URI": "postgresql+psycopg2://mlflow:pw@127.0.0.1:5432/mlflow_auth",
      "MLFLOW_AUTH_ADMIN_PASSWORD": "long-enough-password"}, [], "MLFLOW_FLASK_SERVER_SECRET_KEY"),
])
def test_each_setup_message_names_a_variable_and_file_that_exist(tmp_path, env, args, variable):
    """Does each message for a missing setting name the variable, and only files that hold it?"""
    serve = zygote.run(["-m", "classroom", "serve", "--state", str(tmp_path / "state"), "--artifacts",
                        str(tmp_path / "artifacts"), *args], clean_env(TMPDIR=str(tmp_path), **env), ROOT, 120)
    err = serve.stderr
    assert serve.returncode == 2 and err.strip().count("\n") == 0, err
    assert variable in err
    _named_files_exist(err, variable)
    assert not clusters(tmp_path), "no cluster is started for a setting that is missing"


def test_the_guide_gives_the_throwaway_server_its_admin_password():
    """Does the guide's --throwaway-postgres command come with the admin password it needs?"""
    block = guide_block(r"--throwaway-postgres")
    assert "MLFLOW_AUTH_ADMIN_PASSWORD" in block


def test_git_ignores_rosters_grades_and_connection_files():
    """Are the class's private files (rosters, grades, connection files, the state) kept out of git?"""
    private = ["roster.csv", "roster-fall.csv", "grades/gradebook.csv", "grades/canvas.csv", "alice.env",
               "grades-asof/gradebook.csv", "grades-2025-fall/moodle.csv",
               ".classroom/connections/alice.env", ".classroom/grading.env", "deploy/class.env",
               "class-artifacts/1/model.skops"]
    public = ["deploy/class.env.example", "INSTRUCTORS.md", "classroom/roster.py"]
    check = subprocess.run(["git", "check-ignore", "--no-index", "--verbose", "--non-matching", *private, *public],
                           cwd=ROOT, capture_output=True, text=True)
    verdicts = {line.split("\t")[-1]: not line.startswith("::") for line in check.stdout.splitlines()}
    assert {p for p in private if not verdicts[p]} == set(), "not ignored"
    assert {p for p in public if verdicts[p]} == set(), "ignored by mistake"


def test_a_second_serve_is_refused_and_a_crash_keeps_a_dump_of_the_class(tmp_path, pg_tmp):
    """On a throwaway server that runs: is a second `serve` (same state folder, or another one, on
    the same port) refused in one line that names the running server, with the running server's
    serve.json untouched? Then, when its MLflow server dies, is the class's data dumped, and said
    where, before the cluster is deleted?"""
    port = free_port()
    settings = secrets_env()
    first = start_serve(tmp_path, "--throwaway-postgres", "--port", str(port), tmpdir=pg_tmp, **settings)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: health(url) or first.poll() is not None, "the first server")
        assert first.poll() is None, first.communicate()
        record = (tmp_path / "state" / "serve.json").read_bytes()
        pid = json.loads(record)["server_pid"]
        again = start_serve(tmp_path, "--throwaway-postgres", "--port", str(port), tmpdir=pg_tmp, **settings)
        out, err = again.communicate(timeout=120)
        assert again.returncode == 2 and err.strip().count("\n") == 0, err
        assert "already runs" in err and url in err and str(pid) in err, err
        assert "ready" not in out
        elsewhere = tmp_path / "elsewhere"
        other = start_serve(elsewhere, "--throwaway-postgres", "--port", str(port), tmpdir=pg_tmp, **settings)
        out, err = other.communicate(timeout=120)
        assert other.returncode == 2 and err.strip().count("\n") == 0, err
        assert f"already answers at {url}" in err and "--port" in err, err
        assert (tmp_path / "state" / "serve.json").read_bytes() == record, "the running server's record"
        assert health(url) and first.poll() is None

        request("POST", url + "/api/2.0/mlflow/experiments/create", json={"name": "work-worth-keeping"},
                auth=("admin", settings["MLFLOW_AUTH_ADMIN_PASSWORD"]), timeout=30).raise_for_status()
        os.killpg(pid, signal.SIGKILL)  # the server crashes
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            ctrl_c(first)
    assert first.returncode == 1, err
    assert "stopped by itself" in err
    dumps = sorted((tmp_path / "state" / "throwaway-dumps").glob("*/mlflow.sql"))
    assert len(dumps) == 1 and str(dumps[0]) in err
    assert "work-worth-keeping" in dumps[0].read_text(encoding="utf-8")
    assert not clusters(pg_tmp) and not postgres_under(pg_tmp)


def test_a_port_held_by_another_program_is_named_as_the_cause(tmp_path):
    """Does `serve` on a port a non-HTTP program holds say the port is taken (Address already in use),
    naming --port, in one line, and start nothing?"""
    import socket

    uri = "postgresql+psycopg2://mlflow:pw@127.0.0.1:9/mlflow"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        serve = start_serve(tmp_path, "--port", str(port), CLASS_DATABASE_URI=uri,
                            CLASS_AUTH_DATABASE_URI=uri + "_auth", **secrets_env())
        out, err = serve.communicate(timeout=120)
    assert serve.returncode == 2 and err.strip().count("\n") == 0, err
    assert f"Port {port} on 127.0.0.1 is taken by another program (Address already in use)" in err, err
    assert "--port" in err and "Traceback" not in err
    assert status_file(tmp_path) is None and not (tmp_path / "state" / "server.log").exists()

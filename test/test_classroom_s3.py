"""The class with its artifacts in S3-compatible storage: `python -m classroom serve --artifacts
s3://BUCKET/FOLDER`, proxied by the server, on moto's standalone S3 server (test/s3_storage.py).

The class of the xdist group "classroom-s3" (test/classroom_world.py: real PostgreSQL, the real
server, six students running the task scripts) has its artifacts in a bucket. The class tests
where the storage matters run on it: test_classroom_students.py (backups, reset, restore and
remove download and upload every artifact), test_classroom_secrets.py (no key in any file) and
this module: the objects land in the bucket, its keys stay with the server, `status` says where
artifacts go; and, with no class, a storage that does not answer or refuses the keys is one line.
The rest of the class tests run on the folder's class: through the server's proxy they are the
same on either. This class is also the two servers' class (test_classroom_two_servers.py): its
students worked through nginx, and one server stopped half-way.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from pathlib import Path

import psutil
import pytest
import zygote

from classroom_world import ROOT, S3_ARTIFACTS, clean_env
from s3_storage import MotoS3

from labkit.net import process_group

pytestmark = [pytest.mark.slow]

BUCKET, PREFIX = S3_ARTIFACTS[len("s3://"):].split("/", 1)


@pytest.mark.xdist_group("classroom-s3")
@pytest.mark.postgres
def test_every_logged_model_is_in_the_bucket_and_nothing_on_disk(classroom, gradebook):
    """Do the students' models land in the bucket, under the folder given, with no local artifacts;
    and does each one load through the one address and predict (the class worked through two
    servers, one stopped half-way: test_classroom_two_servers.py)?"""
    from mlflow import MlflowClient

    from classroom_world import environment
    from grader.models import ModelFiles
    from labkit import lab

    keys = classroom.s3.keys(BUCKET, PREFIX + "/")
    assert keys, "the bucket holds the class's artifacts"
    assert not (classroom.folder / "artifacts").exists()
    rows = lab.split_data().X_test.head(3)
    found = {}
    for username in classroom.students:
        with environment(classroom.student_env(username)):
            client = MlflowClient(tracking_uri=classroom.url)
            experiments = [e.experiment_id for e in client.search_experiments()]
            models = client.search_logged_models(experiments) if experiments else []
            for model in models:  # mlflow-artifacts:/… on the server is s3://BUCKET/PREFIX/… in the storage
                assert model.artifact_location.startswith("mlflow-artifacts:/"), model.artifact_location
                assert any(key.endswith(f"/models/{model.model_id}/artifacts/MLmodel") for key in keys), model.model_id
                if model.name == lab.MODEL_NAME:  # loaded as the grader does (skops, trusted types)
                    files = ModelFiles(model, tracking_uri=classroom.url)
                    try:
                        assert len(files.load().predict(rows)) == 3
                    finally:
                        files.close()
                    found[username] = found.get(username, 0) + 1
    assert found.get("complete", 0) >= 3, f"models loaded: {found}"  # task 3's solution logs one per type


@pytest.mark.xdist_group("classroom-s3")
@pytest.mark.postgres
def test_only_the_server_holds_the_storage_keys(classroom, gradebook):
    """Are the storage's keys kept out of every file the class wrote, every command line, and the
    students' and instructor's environments, while the server has them? And is the database's
    password on no command line of the server's (`mlflow server` and its uvicorn workers), which `ps`
    shows? (Server B: started as `serve` starts it, a new interpreter: classroom_world.py.)"""
    secret = classroom.s3.storage["AWS_SECRET_ACCESS_KEY"]
    for path in classroom.folder.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    for username in classroom.students:
        assert not any(key.startswith("AWS_") for key in classroom.student_env(username)), username
    commands, environments = [], []
    for process in process_group(classroom.server.process.pid):
        with contextlib.suppress(psutil.Error):
            commands.append(" ".join(process.cmdline()))
            environments.append(process.environ())
    assert len(commands) >= 2, "the server and its workers"
    assert all(secret not in command for command in commands)
    assert any(command.split()[1:4] == ["-m", "mlflow", "server"] for command in commands), commands
    assert all(classroom.database_password not in command for command in commands)
    assert all(secret in environ.values() for environ in environments), "the server reads them from its environment"


@pytest.mark.xdist_group("classroom-s3")
@pytest.mark.postgres
def test_status_says_where_the_artifacts_go(classroom):
    """Does `status` name the bucket and the storage's address, and no key?"""
    result = classroom.classroom("status", "--state", str(classroom.server.config.state))
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "artifacts:" in line)
    assert S3_ARTIFACTS in line and classroom.s3.url in line, result.stdout
    assert classroom.s3.storage["AWS_ACCESS_KEY_ID"] not in result.stdout


def _serve(tmp_path: Path, storage: dict[str, str], artifacts: str = "s3://class-artifacts/mlflow"):
    """`python -m classroom serve --artifacts ARTIFACTS` with a database that is never reached."""
    env = clean_env(**storage, CLASS_DATABASE_URI="postgresql+psycopg2://mlflow:x@127.0.0.1:9/mlflow",
                    CLASS_AUTH_DATABASE_URI="postgresql+psycopg2://mlflow:x@127.0.0.1:9/mlflow_auth",
                    MLFLOW_AUTH_ADMIN_PASSWORD=secrets.token_urlsafe(16),
                    MLFLOW_FLASK_SERVER_SECRET_KEY=secrets.token_hex(8),
                    AWS_EC2_METADATA_DISABLED="true",  # no keys: never ask a cloud's metadata address
                    AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    from labkit.net import free_port

    return zygote.run(["-m", "classroom", "serve", "--artifacts", artifacts, "--port", str(free_port()),
                       "--state", str(tmp_path / "state")], env, ROOT, timeout=300)


def _one_line(result) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_storage_that_does_not_answer_is_one_line(tmp_path):
    """Does `serve` stop in one line naming MLFLOW_S3_ENDPOINT_URL when the storage is down?"""
    from labkit.net import free_port

    storage = {"MLFLOW_S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "AWS_ACCESS_KEY_ID": "class",
               "AWS_SECRET_ACCESS_KEY": "storage-secret-" + secrets.token_hex(8)}
    line = _one_line(_serve(tmp_path, storage))
    assert "does not answer" in line and "MLFLOW_S3_ENDPOINT_URL" in line, line
    assert storage["AWS_SECRET_ACCESS_KEY"] not in line
    assert not (tmp_path / "state" / "serve.json").exists()


@pytest.fixture(scope="module")
def storage_checking_keys():
    """One moto S3 server that refuses every key it does not know, for the module's tests of a
    `serve` refused before it starts (none of them changes it)."""
    with MotoS3(check_keys=True) as s3:
        yield s3


def test_a_storage_that_refuses_the_keys_is_one_line(tmp_path, storage_checking_keys):
    """Does `serve` stop in one line naming the keys when the storage refuses them?"""
    s3 = storage_checking_keys
    line = _one_line(_serve(tmp_path, s3.storage))
    assert "refused the keys" in line and "AWS_SECRET_ACCESS_KEY" in line, line
    assert s3.storage["AWS_SECRET_ACCESS_KEY"] not in line


def test_missing_keys_and_a_uri_without_bucket_are_one_line(tmp_path, storage_checking_keys):
    """No keys at all, or s3:// without a bucket: one line each, naming what to set or write (both
    found before the storage is asked)."""
    s3 = storage_checking_keys
    line = _one_line(_serve(tmp_path, {"MLFLOW_S3_ENDPOINT_URL": s3.url}))
    assert re.search(r"export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", line), line
    line = _one_line(_serve(tmp_path, s3.storage, artifacts="s3://"))
    assert "names no bucket" in line, line

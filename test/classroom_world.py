"""The class the classroom tests share: real PostgreSQL, a real `mlflow server` with workspaces
and basic auth, students running the task scripts, and the instructor's commands.

test/conftest.py defines these fixtures for every module (a module that imported them would
build a class of its own). The class:
`complete` (solutions), `partial` (tasks 1-2 done, task 3 untouched), `untouched` (code/),
`typed` (task 1 with rmse typed by hand), `empty` (no runs, and no e-mail on the roster) and
`evil` (a model that runs code when it is unpickled; not on the bucket's class).

Two such classes, one per xdist group that asks for ``classroom`` (WORLDS), so that under
``-n 2 --dist loadgroup`` they are built and used on both workers at once (one group of class
tests was a floor of 7 minutes under `make test`): "classroom", its artifacts in a folder (or
with ``CLASS_TEST_ARTIFACTS=s3`` in a bucket), and "classroom-s3", its artifacts in a bucket of
moto's S3 server (test/s3_storage.py), for the tests where the storage matters (backups,
restores, the storage's keys). A module's group chooses its class; each worker builds only the
classes of the groups it runs, the first time one of their tests asks, and stops them when the
session ends. A test that changes a student restores them or makes a student of its own.
"""

from __future__ import annotations

import csv
import os
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import zygote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # classroom/ is run from the repository

from classroom.connection import read_env_file  # noqa: E402
from classroom.postgres import Cluster, free_port  # noqa: E402
from classroom.server import ServerConfig, ServerProcess  # noqa: E402
from labkit.lab import SCRIPT_FILES  # noqa: E402

CODE_DIR, SOLUTIONS_DIR = ROOT / "code", ROOT / "solutions"
SCRIPTS = list(SCRIPT_FILES.values())
STUDENTS = ["complete", "partial", "untouched", "typed", "empty", "evil"]
WITHOUT_EMAIL = {"empty"}


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CLASS_", "AWS_"))}
    env.update(PYTHONUTF8="1", **extra)
    return env


class Classroom:
    def __init__(self, folder: Path, server: ServerProcess, admin_password: str) -> None:
        self.folder = folder
        self.server = server
        self.url = server.config.url
        self.admin_password = admin_password
        self.connections = folder / "connections"
        self.state = folder / "instructor"  # the instructor's --state: grading.env, backups
        self.roster = folder / "roster.csv"

    def admin_env(self, **extra: str) -> dict[str, str]:
        return clean_env(MLFLOW_TRACKING_USERNAME="admin",
                         MLFLOW_TRACKING_PASSWORD=self.admin_password, **extra)

    def student_env(self, username: str) -> dict[str, str]:
        return clean_env(**read_env_file(self.connections / f"{username}.env"))

    def classroom(self, *args: str, env=None, cwd: Path | None = None) -> subprocess.CompletedProcess:
        """``python -m classroom ARGS`` as the instructor (forked warm), from the repository or ``cwd``."""
        return zygote.run(["-m", "classroom", *args], env or self.admin_env(), cwd or ROOT, timeout=600)

    def run_script(self, username: str, script: Path) -> None:
        """``python SCRIPT`` as the student (forked warm: test/zygote.py; the class tests run dozens)."""
        result = zygote.run([str(script)], self.student_env(username), self.folder, timeout=300)
        assert result.returncode == 0, f"{username}: {script.name}\n{result.stdout}\n{result.stderr[-3000:]}"

    def grade(self, username: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return zygote.run([str(ROOT / "grader" / "check.py"), "all"], env or self.student_env(username),
                          self.folder, timeout=300)


def write_roster(path: Path, usernames) -> None:
    lines = ["username,name,email"]
    for username in usernames:
        email = "" if username in WITHOUT_EMAIL else f"{username}@school.example"
        lines.append(f"{username},Student {username},{email}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def typed_task1(folder: Path) -> Path:
    """Task 1 as a student who typed the rmse by hand instead of logging the computed one."""
    source = (SOLUTIONS_DIR / SCRIPTS[0]).read_text(encoding="utf-8")
    typed = source.replace('mlflow.log_metric("rmse", rmse)', 'mlflow.log_metric("rmse", 25.0)')
    assert typed != source, "the solution's task-1 rmse line changed: update typed_task1"
    path = folder / "typed_task1_baseline.py"
    path.write_text(typed, encoding="utf-8")
    return path


def log_evil_student(env: dict[str, str], marker: Path) -> None:
    """Task-3 runs with honest metrics (a fit of the lab's model of each type) whose logged
    models, written with cloudpickle, write ``marker`` when they are unpickled."""
    code = f"""
import mlflow
from sklearn.linear_model import LinearRegression
from mlflow.models import infer_signature
from labkit import lab

split = lab.split_data()
signature = infer_signature(split.X_test.head(5), [0.0] * 5)

class Evil(LinearRegression):
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path({str(marker)!r}).write_text('ran')",))

mlflow.set_experiment(lab.EXPERIMENT_TASK3)
for model_type in lab.MODEL_TYPES:
    model = lab.make_model(model_type, **lab.DEFAULT_HYPERPARAMS[model_type]).fit(split.X_train, split.y_train)
    with mlflow.start_run(run_name=model_type) as run:
        mlflow.log_param(lab.PARAM_MODEL_TYPE, model_type)
        mlflow.log_metrics(lab.regression_metrics(split.y_test, model.predict(split.X_test)))
        info = mlflow.sklearn.log_model(Evil(), name=lab.MODEL_NAME, serialization_format="cloudpickle",
                                        signature=signature, pip_requirements=["scikit-learn"])
version = mlflow.register_model(info.model_uri, lab.REGISTERED_MODEL)
mlflow.MlflowClient().set_registered_model_alias(lab.REGISTERED_MODEL, lab.ALIAS, version.version)
print(info.model_uri)
"""
    script = marker.parent / "evil_task3.py"
    script.write_text(code, encoding="utf-8")
    result = zygote.run([str(script)], env, marker.parent, timeout=300)  # forked warm, as the scripts
    assert result.returncode == 0, result.stderr[-3000:]


S3_ARTIFACTS = "s3://class-artifacts/mlflow"


# The class of each xdist group: where its artifacts go (None: a folder), and its students (the
# bucket's class needs no `evil`: refusing a hostile model does not depend on the storage).
WORLDS = {
    "classroom": (S3_ARTIFACTS if os.environ.get("CLASS_TEST_ARTIFACTS") == "s3" else None, STUDENTS),
    "classroom-s3": (S3_ARTIFACTS, [s for s in STUDENTS if s != "evil"]),
}
_built: dict[str, object] = {}  # group -> its Classroom, or the exception its build raised
_gradebooks: dict[str, object] = {}


def world_of(request) -> str:
    """The class of the module asking: its tests' xdist group's ("classroom" for a test of no
    class group). A module's class tests are of one group."""
    groups = set()
    for item in request.session.items:
        if item.module is request.module and "classroom" in item.fixturenames:
            marker = item.get_closest_marker("xdist_group")
            groups.add(marker.args[0] if marker and marker.args[0] in WORLDS else "classroom")
    assert len(groups) <= 1, f"{request.module.__name__}: class tests of several groups {sorted(groups)}"
    return groups.pop() if groups else "classroom"


@pytest.fixture(scope="module")
def classroom(request, tmp_path_factory) -> Classroom:
    """The class of this module's group, built the first time a test of the group asks (once per
    session and worker; stopped when the session ends)."""
    group = world_of(request)
    if group not in _built:
        stack = ExitStack()
        request.config.add_cleanup(stack.close)
        try:
            _built[group] = stack.enter_context(
                contextmanager(class_world)(tmp_path_factory.mktemp(group), *WORLDS[group]))
        except Exception as failed:  # noqa: BLE001 - the group's other tests fail with it, not build again
            _built[group] = failed
    if isinstance(_built[group], Exception):
        raise _built[group]
    return _built[group]


def class_world(folder: Path, artifacts: str | None = None, students=STUDENTS):
    """The class of ``students`` (``room.students``), their work done; artifacts in
    ``folder/artifacts``, or in ``artifacts`` (s3://) on a moto S3 server started for it (``room.s3``)."""
    admin_password = secrets.token_urlsafe(16)
    with ExitStack() as stack:
        postgres = stack.enter_context(Cluster())
        s3 = None
        if artifacts is not None:
            from s3_storage import MotoS3

            s3 = stack.enter_context(MotoS3())
        config = ServerConfig(
            database_uri=postgres.uri("mlflow"), auth_database_uri=postgres.uri("mlflow_auth"),
            artifacts=artifacts or folder / "artifacts", admin_password=admin_password,
            secret_key=secrets.token_hex(16), port=free_port(), state=folder / "state",
            storage=s3.storage if s3 else {},
        )
        with ServerProcess(config) as server:
            room = Classroom(folder, server, admin_password)
            room.database_password = postgres.password
            room.s3 = s3
            room.students = list(students)
            write_roster(room.roster, room.students)
            room.provision_first = room.classroom("provision", "--roster", str(room.roster),
                                                  "--server", room.url, "--out", str(room.connections))
            assert room.provision_first.returncode == 0, room.provision_first.stderr
            room.marker = folder / "evil-code-ran"
            _run_class_work(room)
            yield room


def _run_class_work(room: Classroom) -> None:
    """Each student's scripts in order; the students in parallel."""
    plans = {
        "complete": [SOLUTIONS_DIR / s for s in SCRIPTS],
        "partial": [SOLUTIONS_DIR / SCRIPTS[0], SOLUTIONS_DIR / SCRIPTS[1], CODE_DIR / SCRIPTS[2]],
        "untouched": [CODE_DIR / s for s in SCRIPTS],
        "typed": [typed_task1(room.folder)],
    }

    def work(username: str) -> None:
        if username == "evil":
            log_evil_student(room.student_env("evil"), room.marker)
        for script in plans.get(username, []):
            room.run_script(username, script)

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(work, [u for u in ["complete", "untouched", "partial", "typed", "evil"] if u in room.students]))


@pytest.fixture(scope="module")
def gradebook(request, classroom):
    """The instructor's gradebook of the class of this module's group (once per class)."""
    group = world_of(request)
    if group not in _gradebooks:
        _gradebooks[group] = class_gradebook(classroom)
    return _gradebooks[group]


def class_gradebook(classroom):
    """The instructor's command, as they type it."""
    out = classroom.folder / "gradebook"
    result = classroom.classroom("gradebook", "--roster", str(classroom.roster), "--server",
                                 classroom.url, "--out", str(out), "--jobs", "2",
                                 "--state", str(classroom.state))
    assert result.returncode == 0, result.stderr
    rows = {row["student"]: row for row in csv.DictReader(open(out / "gradebook.csv", encoding="utf-8"))}
    return out, rows, result


class environment:
    """Temporarily replace the MLFLOW_ variables of this process (MLflow reads them per request)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = {k: v for k, v in env.items() if k.startswith("MLFLOW_")}

    def __enter__(self):
        self.saved = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")}
        for key in self.saved:
            del os.environ[key]
        os.environ.update(self.env, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0")

    def __exit__(self, *exc):
        for key in [k for k in os.environ if k.startswith("MLFLOW_")]:
            del os.environ[key]
        os.environ.update(self.saved)

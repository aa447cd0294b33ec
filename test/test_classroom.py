"""A class on one tracking server: real PostgreSQL, real `mlflow server` with workspaces
and basic auth, students running the unchanged task scripts, and the instructor's gradebook.

One server for the module. Its class: `complete` (solutions), `partial` (tasks 1-2 done,
task 3 untouched), `untouched` (code/), `typed` (task 1 with rmse typed by hand),
`empty` (no runs) and `evil` (a model that runs code when it is unpickled).
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from labkit.paths import CODE_DIR, ROOT, SOLUTIONS_DIR

sys.path.insert(0, str(ROOT))  # classroom/ is run from the repository, not installed

from classroom.connection import read_env_file  # noqa: E402
from classroom.gradebook import TODO_IDS, Gradebook  # noqa: E402
from classroom.postgres import Cluster  # noqa: E402
from classroom.roster import Student  # noqa: E402
from classroom.server import ServerConfig, ServerProcess  # noqa: E402
from grader.registry import todo_ids  # noqa: E402

pytestmark = pytest.mark.xdist_group("classroom")

SCRIPTS = ["task1_baseline.py", "task2_sweep.py", "task3_compare.py", "task4_registry.py"]
STUDENTS = ["complete", "partial", "untouched", "typed", "empty", "evil"]
EXPECTED_PASSES = {
    "complete": set(TODO_IDS),
    "partial": set(todo_ids(["task1", "task2"])),
    "untouched": set(),
    "typed": set(todo_ids(["task1"])) - {"1.4"},  # the typed rmse fails 1.4 only
    "empty": set(),
}


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CLASS_"))}
    env.update(PYTHONUTF8="1", **extra)
    return env


class Classroom:
    def __init__(self, folder: Path, server: ServerProcess, admin_password: str) -> None:
        self.folder = folder
        self.server = server
        self.url = server.config.url
        self.admin_password = admin_password
        self.connections = folder / "connections"
        self.roster = folder / "roster.csv"

    def admin_env(self, **extra: str) -> dict[str, str]:
        return clean_env(MLFLOW_TRACKING_USERNAME="admin",
                         MLFLOW_TRACKING_PASSWORD=self.admin_password, **extra)

    def student_env(self, username: str) -> dict[str, str]:
        return clean_env(**read_env_file(self.connections / f"{username}.env"))

    def classroom(self, *args: str, env=None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "classroom", *args], cwd=ROOT,
                              env=env or self.admin_env(), capture_output=True, text=True, timeout=600)

    def run_script(self, username: str, script: Path) -> None:
        result = subprocess.run([sys.executable, str(script)], cwd=self.folder, capture_output=True,
                                text=True, env=self.student_env(username), timeout=300)
        assert result.returncode == 0, f"{username}: {script.name}\n{result.stdout}\n{result.stderr[-3000:]}"


def write_roster(path: Path, usernames) -> None:
    path.write_text("username,name\n" + "".join(f"{u},Student {u}\n" for u in usernames), encoding="utf-8")


def typed_task1(folder: Path) -> Path:
    """Task 1 as a student who typed the rmse by hand instead of logging the computed one."""
    source = (SOLUTIONS_DIR / SCRIPTS[0]).read_text(encoding="utf-8")
    typed = source.replace('mlflow.log_metric("rmse", rmse)', 'mlflow.log_metric("rmse", 25.0)')
    assert typed != source
    path = folder / "typed_task1_baseline.py"
    path.write_text(typed, encoding="utf-8")
    return path


def log_evil_student(env: dict[str, str], marker: Path) -> None:
    """Task-3 runs whose models, logged with cloudpickle, write ``marker`` when unpickled."""
    code = f"""
import os, mlflow
from sklearn.linear_model import LinearRegression
from mlflow.models import infer_signature
from grader import lab as names
from grader.lab import split_data

X = split_data().X_test.head(5)
signature = infer_signature(X, [0.0] * len(X))

class Evil(LinearRegression):
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path({str(marker)!r}).write_text('ran')",))

mlflow.set_experiment(names.EXPERIMENT_TASK3)
for model_type in names.MODEL_TYPES:
    with mlflow.start_run(run_name=model_type) as run:
        mlflow.log_param(names.PARAM_MODEL_TYPE, model_type)
        mlflow.log_metrics({{names.METRIC_RMSE: 20.0, names.METRIC_MAE: 15.0, names.METRIC_R2: 0.8}})
        info = mlflow.sklearn.log_model(Evil(), name=names.MODEL_NAME, serialization_format="cloudpickle",
                                        signature=signature, pip_requirements=["scikit-learn"])
version = mlflow.register_model(info.model_uri, names.REGISTERED_MODEL)
mlflow.MlflowClient().set_registered_model_alias(names.REGISTERED_MODEL, names.ALIAS, version.version)
print(info.model_uri)
"""
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    folder = tmp_path_factory.mktemp("classroom")
    admin_password = secrets.token_urlsafe(16)
    with Cluster() as postgres:
        config = ServerConfig(
            database_uri=postgres.uri("mlflow"), auth_database_uri=postgres.uri("mlflow_auth"),
            artifacts=folder / "artifacts", admin_password=admin_password,
            secret_key=secrets.token_hex(16), port=_free_port(), state=folder / "state",
        )
        with ServerProcess(config) as server:
            room = Classroom(folder, server, admin_password)
            write_roster(room.roster, STUDENTS)
            room.provision_first = room.classroom("provision", "--roster", str(room.roster),
                                                  "--server", room.url, "--out", str(room.connections))
            assert room.provision_first.returncode == 0, room.provision_first.stderr
            room.marker = folder / "evil-code-ran"
            _run_class_work(room)
            yield room


def _free_port() -> int:
    from classroom.postgres import free_port

    return free_port()


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
        list(pool.map(work, ["complete", "untouched", "partial", "typed", "evil"]))


@pytest.fixture(scope="module")
def gradebook(classroom):
    """The instructor's command, as they type it."""
    out = classroom.folder / "gradebook"
    result = classroom.classroom("gradebook", "--roster", str(classroom.roster), "--server",
                                 classroom.url, "--out", str(out), "--jobs", "2")
    assert result.returncode == 0, result.stderr
    rows = {row["student"]: row for row in csv.DictReader(open(out / "gradebook.csv", encoding="utf-8"))}
    return out, rows, result


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


def test_the_gradebook_writes_a_gradescope_file_per_student(gradebook):
    """Is there a Gradescope results.json per student, with one test per TODO?"""
    out, rows, _ = gradebook
    for username in STUDENTS:
        results = json.loads((out / "gradescope" / username / "results.json").read_text(encoding="utf-8"))
        assert results["score"] == int(rows[username]["total"])
        assert [t["number"] for t in results["tests"]] == TODO_IDS


def test_a_model_that_runs_code_on_load_is_refused(classroom, gradebook):
    """Is an unpickling model refused, and does its code never run while the class is graded?"""
    _, rows, _ = gradebook
    assert not classroom.marker.exists(), "grading ran the student's code"
    evil = rows["evil"]
    assert evil["status"] == "graded" and evil["3.3"] == "0" and evil["3.1"] == "1"
    assert "cloudpickle" in evil["problems"]
    # The model is really hostile: MLflow's own loader runs its code.
    load = "import mlflow.sklearn; mlflow.sklearn.load_model('models:/api-response-time@staging')"
    subprocess.run([sys.executable, "-c", load], env=classroom.student_env("evil"),
                   capture_output=True, timeout=300)
    assert classroom.marker.exists()


def test_a_wrong_password_is_one_line(classroom):
    """Does a wrong password give one line that names the fix, for the grader and the gradebook?"""
    env = {**classroom.student_env("complete"), "MLFLOW_TRACKING_PASSWORD": "not-the-password"}
    graded = subprocess.run([sys.executable, str(ROOT / "grader" / "check.py"), "task1"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert graded.returncode == 2
    assert "MLFLOW_TRACKING_PASSWORD" in graded.stderr and "Traceback" not in graded.stderr
    book = classroom.classroom("gradebook", "--roster", str(classroom.roster), "--server", classroom.url,
                               "--out", str(classroom.folder / "refused"),
                               env={**classroom.admin_env(), "MLFLOW_TRACKING_PASSWORD": "not-the-password"})
    assert book.returncode == 2
    assert book.stderr.strip().count("\n") == 0 and "refused user 'admin'" in book.stderr
    script = subprocess.run([sys.executable, str(ROOT / "code" / "task1_baseline.py")], env=env,
                            capture_output=True, text=True, timeout=120)
    assert script.returncode == 1 and "Traceback" not in script.stderr
    assert "did not accept user 'complete'" in script.stderr


def test_a_task_in_someone_elses_workspace_is_one_line(classroom):
    """Does a student pointed at another student's workspace get one line, not a 403 traceback?"""
    env = {**classroom.student_env("complete"), "MLFLOW_WORKSPACE": "partial"}
    script = subprocess.run([sys.executable, str(ROOT / "code" / "task1_baseline.py")], env=env,
                            capture_output=True, text=True, timeout=120)
    assert script.returncode == 1 and "Traceback" not in script.stderr
    assert "may not use workspace 'partial'" in script.stderr


class _StopServerAfterFirstRow:
    """A progress stream that pulls the plug on the server once the first student is graded."""

    def __init__(self, server: ServerProcess) -> None:
        self.server, self.lines = server, []

    def write(self, text: str) -> None:
        self.lines.append(text)
        if text.startswith("[1/"):
            self.server.stop()

    def flush(self) -> None:
        pass


def test_a_server_that_goes_down_keeps_the_rows_graded_before(classroom):
    """When the server dies mid-grading, are earlier rows kept and the reason said once? (runs last)"""
    out = classroom.folder / "outage"
    progress = _StopServerAfterFirstRow(classroom.server)
    admin = {k: v for k, v in classroom.admin_env().items() if k.startswith("MLFLOW_")}
    book = Gradebook(classroom.url, {**admin, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}, out,
                     jobs=1, progress=progress)
    students = [Student(u) for u in ["complete", "partial", "untouched", "typed"]]
    rows = {row["student"]: row for row in book.grade_all(students)}
    assert book.server_down
    assert rows["complete"]["status"] == "graded" and str(rows["complete"]["total"]) == str(len(TODO_IDS))
    assert all(rows[u]["status"] in ("cannot-grade", "not-graded") for u in ["partial", "untouched", "typed"])
    assert any("stopped answering" in line for line in progress.lines)
    on_disk = list(csv.DictReader(open(out / "gradebook.csv", encoding="utf-8")))
    assert [r["student"] for r in on_disk] == [s.username for s in students]
    assert on_disk[0]["total"] == str(len(TODO_IDS))


class _environment:
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

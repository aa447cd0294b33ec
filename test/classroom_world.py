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
restores, the storage's keys).

The bucket's class is also the class of two servers behind one address (INSTRUCTORS.md, "Two
servers"): two `mlflow server`s on its databases and bucket, and a real nginx running the site
the lab ships (deploy/nginx-class.conf; test/nginx_proxy.py). Its students, gradebook and board
use nginx's address only (``room.url``). Every student's task 1 runs first (on both servers);
then server A (``room.servers[0]``) stops once the first student's task 2 is done, while the
others work; the rest of the class's work, and every test of the group, goes through server B
(``room.server``) until a test starts A again. What nginx saw is kept in ``room.two_servers``
for test_classroom_two_servers.py. (That module built a class of its own, 2.5 minutes of a quiet
machine's `make test`, for what this class does in its build.)

A module's group chooses its class; each worker builds only the classes of the groups it runs,
the first time one of their tests asks, and stops them when the session ends. A test that
changes a student restores them or makes a student of its own.
"""

from __future__ import annotations

import csv
import os
import secrets
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import zygote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # classroom/ is run from the repository

from classroom.connection import read_env_file  # noqa: E402
from classroom.postgres import Cluster, free_port  # noqa: E402
from classroom.private import PRIVATE_UMASK  # noqa: E402
from classroom.server import ServerConfig, ServerProcess  # noqa: E402
from labkit.lab import SCRIPT_FILES  # noqa: E402

CODE_DIR, SOLUTIONS_DIR = ROOT / "code", ROOT / "solutions"
SCRIPTS = list(SCRIPT_FILES.values())
STUDENTS = ["complete", "partial", "untouched", "typed", "empty", "evil"]
WITHOUT_EMAIL = {"empty"}


def __getattr__(name: str):
    """TODO_IDS and EXPECTED_PASSES (the TODOs each student's work passes; every class: `evil` is
    graded in test_classroom.py), made at their first use: grader.registry imports MLflow, and
    conftest imports this module in every pytest process, collecting or not."""
    if name not in ("TODO_IDS", "EXPECTED_PASSES"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from grader.registry import todo_ids

    globals()["TODO_IDS"] = todo_ids()
    globals()["EXPECTED_PASSES"] = {
        "complete": set(todo_ids()),
        "partial": set(todo_ids(["task1", "task2"])),
        "untouched": set(),
        "typed": set(todo_ids(["task1"])) - {"1.4"},  # the typed rmse fails 1.4 only
        "empty": set(),
    }
    return globals()[name]


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


# MLflow's basic-auth module, imported by test/zygote.py's server (the class commands' client needs
# it), reads its configuration (MLFLOW_AUTH_CONFIG_PATH: the server's basic_auth.ini) when it is
# imported: a forked `python -m mlflow` reads it again, in the server's environment, as a new
# interpreter's import reads it. The command uses nothing else of it.
REREAD_AUTH_CONFIG = "import mlflow.server.auth as auth; auth.auth_config = auth.read_auth_config(); "


class WarmServer(ServerProcess):
    """A class server whose `mlflow server` command line is forked warm (test/forked.py: the same
    CLI code without its ~4 CPU s of imports; REREAD_AUTH_CONFIG), with the umask, session and
    appended log of the real start; the uvicorn workers it starts are new interpreters, as always.
    Every other step of the start and stop is ServerProcess's own. (`python -m classroom serve`
    starts one fresh: test_classroom_serve.py.)"""

    def launch(self, command: list[str], env: dict[str, str], log):
        from forked import Forked, as_main

        assert command[:3] == [sys.executable, "-m", "mlflow"], command
        argv = [*as_main("mlflow", module=True, first=REREAD_AUTH_CONFIG), *command[3:]]
        return Forked(argv, env, Path.cwd(), self.log_path, self.log_path,
                      append=True, umask=PRIVATE_UMASK)


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


def log_one_model(room: "Classroom", username: str) -> None:
    """A student's work past task 3 in a second: one run of task 3's experiment with a fitted
    linear model logged (skops, as the solution logs it), its metrics attached, and a text artifact.
    For the tests that need logged models to back up, not the task's own checks (its script
    takes ten seconds of a quiet machine: three fits, three models)."""
    script = room.folder / f"one_model_{username}.py"
    script.write_text("""
import mlflow
from sklearn.linear_model import LinearRegression
from labkit import lab

split = lab.split_data()
model = LinearRegression().fit(split.X_train, split.y_train)
mlflow.set_experiment(lab.EXPERIMENT_TASK3)
with mlflow.start_run(run_name=lab.LINEAR_REGRESSION):
    mlflow.log_param(lab.PARAM_MODEL_TYPE, lab.LINEAR_REGRESSION)
    info = mlflow.sklearn.log_model(model, name=lab.MODEL_NAME, input_example=split.X_test.head(5),
                                    serialization_format="skops", pip_requirements=["scikit-learn"])
    mlflow.log_metrics(lab.regression_metrics(split.y_test, model.predict(split.X_test)), model_id=info.model_id)
    mlflow.log_text("a note", "notes/one.txt")
""", encoding="utf-8")
    room.run_script(username, script)


S3_ARTIFACTS = "s3://class-artifacts/mlflow"


# The class of each xdist group: where its artifacts go (None: a folder), its students (the
# bucket's class needs no `evil`: refusing a hostile model does not depend on the storage), its
# number of servers (two: behind nginx, one stopped mid-class), how many of the untouched code/
# scripts `untouched` runs, and each server's uvicorn workers (a worker costs ~5 CPU s to start).
# `untouched` runs task 1 only on both classes: the tests that read them need a student with no
# point and a run (no test reads what code/'s later scripts log; `partial` runs code/'s task 3 on
# each class server, untouched_store in conftest all of code/). Workers: one on the folder's class
# (no test of its group depends on two) and on the bucket's server A (stopped mid-class); the
# default two (`serve --workers`) on server B, the one the bucket's group uses after A stops:
# test_classroom_students.py's grading-user test holds what a worker that still holds a deleted
# user's sign-in answers, which only a server of several workers shows.
WORLDS = {
    "classroom": (S3_ARTIFACTS if os.environ.get("CLASS_TEST_ARTIFACTS") == "s3" else None, STUDENTS, 1, 1, (1,)),
    "classroom-s3": (S3_ARTIFACTS, [s for s in STUDENTS if s != "evil"], 2, 1, (1, 2)),
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


def class_world(folder: Path, artifacts: str | None = None, students=STUDENTS, servers: int = 1,
                untouched: int = len(SCRIPTS), workers: tuple[int, ...] = (2, 2)):
    """The class of ``students`` (``room.students``), their work done; artifacts in
    ``folder/artifacts``, or in ``artifacts`` (s3://) on a moto S3 server started for it (``room.s3``);
    with ``servers=2``, two servers behind nginx (``room.servers``, ``room.nginx``; the module's docstring);
    ``untouched``: how many code/ scripts, from task 1, the untouched student runs; ``workers``: the
    uvicorn workers of each server, in order."""
    admin_password = secrets.token_urlsafe(16)
    secret_key = secrets.token_hex(16)  # the same on both servers: INSTRUCTORS.md, "Two servers"
    with ExitStack() as stack:
        postgres = stack.enter_context(Cluster())
        s3 = None
        if artifacts is not None:
            from s3_storage import MotoS3

            s3 = stack.enter_context(MotoS3())
        states = [folder / "state"] if servers == 1 else [folder / f"server-{n}" for n in "ab"[:servers]]
        # Forked warm (WarmServer) but the bucket class's server B, a new interpreter as `serve` starts
        # it: test_classroom_s3.py reads its processes' command lines and environment.
        processes = [(ServerProcess if servers > 1 and n == servers - 1 else WarmServer)(ServerConfig(
            database_uri=postgres.uri("mlflow"), auth_database_uri=postgres.uri("mlflow_auth"),
            artifacts=artifacts or folder / "artifacts", admin_password=admin_password,
            secret_key=secret_key, port=free_port(), state=state,
            storage=s3.storage if s3 else {}, workers=count,
        )) for n, (state, count) in enumerate(zip(states, workers, strict=False))]
        for server in processes:  # one after the other: the first creates the databases' tables
            stack.callback(server.stop)
            server.start()
        room = Classroom(folder, processes[-1], admin_password)  # the one that keeps running
        room.servers, room.nginx = processes, None
        if servers > 1:
            from nginx_proxy import Nginx

            room.nginx = stack.enter_context(Nginx(folder / "nginx", [f"127.0.0.1:{p.config.port}" for p in processes]))
            room.url = room.nginx.url  # everyone uses the one address
        room.database_password = postgres.password
        room.s3 = s3
        room.students = list(students)
        write_roster(room.roster, room.students)
        room.provision_first = room.classroom("provision", "--roster", str(room.roster),
                                              "--server", room.url, "--out", str(room.connections))
        assert room.provision_first.returncode == 0, room.provision_first.stderr
        room.marker = folder / "evil-code-ran"
        _run_class_work(room, untouched)
        yield room


def _run_class_work(room: Classroom, untouched: int = len(SCRIPTS)) -> None:
    """Each student's scripts in order; the students in parallel. With two servers: every task 1
    first, then server A stops once the first student's task 2 is done, while the others work."""
    plans = {
        "complete": [SOLUTIONS_DIR / s for s in SCRIPTS],
        "partial": [SOLUTIONS_DIR / SCRIPTS[0], SOLUTIONS_DIR / SCRIPTS[1], CODE_DIR / SCRIPTS[2]],
        "untouched": [CODE_DIR / s for s in SCRIPTS[:untouched]],
        "typed": [typed_task1(room.folder)],
    }
    order = [u for u in ["complete", "untouched", "partial", "typed", "evil"] if u in room.students]

    stopping = threading.Event()  # set when server A is told to stop
    retried: list[tuple[str, str, str]] = []  # (student, script, the one line they got)

    def run(username: str, scripts) -> None:
        for script in scripts:
            try:
                room.run_script(username, script)
            except AssertionError as failed:
                if room.nginx is None:
                    raise
                # A request under way on A when it stops fails (nginx resends no POST): the student
                # gets one line that says so and to run the script again (labkit/store.py), and does.
                said = [line for line in str(failed).splitlines() if "stopped answering during this run" in line]
                if stopping.is_set() and said and len(said) == 1 and not retried_already(username, script):
                    retried.append((username, script.name, said[0]))
                    run(username, [script])
                    continue
                log = room.nginx.folder / "error.log"
                raise AssertionError(f"{failed}\n--- nginx's error log\n{log.read_text()[-3000:]}") from None

    def retried_already(username: str, script: Path) -> bool:
        return any(who == username and name == script.name for who, name, _ in retried)

    def work(username: str) -> None:
        if username == "evil":
            log_evil_student(room.student_env("evil"), room.marker)
        run(username, plans.get(username, []))

    if room.nginx is None:
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(work, order))
        return
    assert "evil" not in order, "the two servers' class has no hostile model"
    addresses = [f"127.0.0.1:{s.config.port}" for s in room.servers]
    with ThreadPoolExecutor(max_workers=3) as pool:  # task 1, on both servers
        list(pool.map(lambda u: run(u, plans[u][:1]), order))
    served = room.nginx.upstreams()
    first_done = threading.Event()

    def rest(username: str) -> None:
        run(username, plans[username][1:2])
        if len(plans[username]) > 1:
            first_done.set()
        run(username, plans[username][2:])

    # Two at a time, as in the guide's two-server class test before it: the stop falls while one
    # student works and another waits. A request under way on A when it stops can fail (nginx
    # resends no POST; the students' scripts fail fast, MLflow's retries off: labkit/net.py): that
    # student gets one line and runs the script again, as it tells them (``two_servers["retried"]``).
    with ThreadPoolExecutor(max_workers=2) as pool:
        work_left = [pool.submit(rest, u) for u in order]
        while not first_done.wait(timeout=0.5) and not all(w.done() for w in work_left):
            pass
        if not first_done.is_set():
            for done in work_left:
                done.result()  # a student's script failed: its error
            raise AssertionError("no student finished task 2")
        at_stop = room.nginx.upstreams()
        stopping.set()
        room.servers[0].stop()
        for done in work_left:
            done.result()
    room.two_servers = {"addresses": addresses, "task1": served, "at_stop": at_stop,
                        "after_work": room.nginx.upstreams(), "a_down": room.servers[0].process.poll() is not None,
                        "retried": retried}


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

"""Shared fixtures: real SQLite tracking stores in temporary folders, real task scripts.

Every test that runs a task script runs it as a subprocess, pointed at its own store
through MLFLOW_TRACKING_URI, exactly as a student's shell would.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
import zygote

from labkit.maintainers.markers import render
from labkit.net import free_port  # noqa: F401 - the one free_port, for the tests too
from labkit.lab import SCRIPT_FILES
from labkit.paths import CODE_DIR, ROOT, SOLUTIONS_DIR

# The class world (a real PostgreSQL and `mlflow server` with six students' work) is built
# once per session and worker. Its fixtures are defined here, not imported by each test module:
# an imported fixture is a new fixture of that module, and each module built its own class.
from classroom_world import classroom, gradebook  # noqa: E402,F401

# The suite reads the lab's English messages unless a test asks for Spanish (LAB_LANG=es in
# its child's environment), whatever the language of the machine that runs it.
os.environ["LAB_LANG"] = "en"
# And its Pythons keep compiled modules (__pycache__/, ignored by git and by the release), as
# Python does unless told not to, whatever the machine says (PYTHONDONTWRITEBYTECODE): otherwise
# each of the suite's new interpreters compiles the lab's modules again (~0.8 CPU s) and each
# xdist worker rewrites every test module's assertions again.
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
    sys.dont_write_bytecode = False

TASK_SCRIPTS = SCRIPT_FILES


def run_python(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 180,
               fresh: bool = False) -> subprocess.CompletedProcess:
    """``python ARGV`` with this env and folder: in a fresh interpreter, or forked warm."""
    if fresh or not hasattr(os, "fork"):
        return subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout)
    return zygote.run([str(a) for a in argv], env, cwd, timeout)


class LabStore:
    """A fresh local tracking store in a temporary folder, and how to run scripts on it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = folder / "mlflow.db"
        self.uri = "sqlite:///" + self.db.as_posix()

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env.update({"MLFLOW_TRACKING_URI": self.uri, "PYTHONUTF8": "1"}, **extra)
        return env

    def run(self, script: Path, cwd: Path | None = None, check: bool = True,
            timeout: float = 180, fresh: bool = False,
            **extra_env: str) -> subprocess.CompletedProcess:
        """Run a script on this store; ``fresh`` starts a new interpreter, as a student does."""
        result = run_python([str(script)], self.env(**extra_env), cwd or self.folder,
                            timeout, fresh)
        if check and result.returncode != 0:
            raise AssertionError(
                f"{script.name} exited {result.returncode}\n--- stdout\n{result.stdout}"
                f"\n--- stderr\n{result.stderr[-4000:]}"
            )
        return result

    def run_task(self, task: str, folder: Path = SOLUTIONS_DIR, **kwargs):
        return self.run(folder / TASK_SCRIPTS[task], **kwargs)

    def run_variant(self, task: str, revert: set[str], **kwargs):
        """Run the solution of ``task`` with the TODOs in ``revert`` turned back into stubs."""
        source = (SOLUTIONS_DIR / TASK_SCRIPTS[task]).read_text(encoding="utf-8")
        variant = self.folder / f"variant_{TASK_SCRIPTS[task]}"
        variant.write_text(render(source, revert), encoding="utf-8")
        return self.run(variant, **kwargs)

    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri)

    # Where a store's database names its artifacts' folder: each experiment's, each run's and logged
    # model's, each model version's (MLflow writes into a model's folder when it registers it:
    # registered_model_meta).
    LOCATIONS = (("experiments", "artifact_location"), ("runs", "artifact_uri"),
                 ("logged_models", "artifact_location"), ("model_versions", "storage_location"),
                 ("model_versions", "source"))

    def copy_to(self, folder: Path) -> "LabStore":
        """This store copied whole into ``folder``: its database, and its mlartifacts/ (where labkit
        puts the artifacts beside a database) with every location the database names moved there.
        The copy shares no file with this store: a test writes to its copy (a new version registered,
        a model logged) and no other test's store changes under it."""
        folder.mkdir(parents=True, exist_ok=True)
        copy = LabStore(folder)
        old, new = (self.folder / "mlartifacts").as_uri(), (folder / "mlartifacts").as_uri()
        if (self.folder / "mlartifacts").is_dir():
            shutil.copytree(self.folder / "mlartifacts", folder / "mlartifacts", dirs_exist_ok=True)
        with closing(sqlite3.connect(self.db)) as source, closing(sqlite3.connect(copy.db)) as target:
            source.backup(target)
            with target:  # one transaction, committed
                for table, column in self.LOCATIONS:
                    target.execute(f"UPDATE {table} SET {column} = ? || substr({column}, ?) "  # noqa: S608
                                   f"WHERE substr({column}, 1, ?) = ?", (new, len(old) + 1, len(old), old))
                outside = target.execute("SELECT count(*) FROM experiments WHERE substr(artifact_location, 1, ?) != ?",
                                         (len(new), new)).fetchone()[0]
        assert outside == 0, f"an experiment of {self.db} keeps its artifacts elsewhere"
        (folder / "mlartifacts").mkdir(exist_ok=True)
        return copy


# The tier of whole files (see pyproject.toml's markers; `make test-fast` leaves these out).
FILE_MARKS = {
    "test_classroom.py": ("postgres", "slow"),
    "test_ui_screenshots.py": ("browser", "slow"),
    "test_notebooks.py": ("slow",),
    "test_model_deployment.py": ("slow",),
    "test_docs_commands.py": ("slow",),
    "test_ui_command.py": ("slow",),
}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        for mark in FILE_MARKS.get(item.path.name, ()):
            item.add_marker(mark)


def pytest_collection_finish(session) -> None:
    """A session that runs class tests forks its class commands from a process that has their
    imports and the grading warm-up already (test/zygote.py ``CLASS_PRELOAD``)."""
    if any(item.get_closest_marker("postgres") for item in session.items):
        zygote.for_class_commands()


# The suite's rules for every test (groups kept whole; no skips in CI; shared stores left as built):
# test/suite_rules.py.
from suite_rules import (  # noqa: E402,F401
    pytest_runtest_makereport, pytest_runtest_setup, pytest_sessionfinish, shared_folder)


@pytest.fixture
def lab_store(tmp_path) -> LabStore:
    """A folder with no store yet: the first script run on it makes the database, as a student's does."""
    return LabStore(tmp_path)


@pytest.fixture
def ready_store(store_template, tmp_path) -> LabStore:
    """A store whose database a script's start has made (the lab's experiments, artifacts beside
    it) and nothing ran in: a copy of ``store_template``. Making MLflow's tables costs a
    script's seconds; tests about what happens after that ask for this one (lab_store: none yet)."""
    return store_template.copy_to(tmp_path)


def built_once(tmp_path_factory, name: str, build) -> LabStore:
    """The store ``name``, built by ``build(store) -> {name: CompletedProcess}`` once per test
    run whatever the number of xdist workers (suite_rules.shared_folder), their ``outputs`` and
    ``errors`` kept (stdout, stderr). Read-only: copy it (LabStore.copy_to) before writing; the
    run fails at its end if a file of it changed."""
    def make(folder: Path) -> None:
        ran = build(LabStore(folder))
        (folder / "outputs.json").write_text(json.dumps({"outputs": {k: r.stdout for k, r in ran.items()},
                                                         "errors": {k: r.stderr for k, r in ran.items()}}),
                                             encoding="utf-8")

    store = LabStore(shared_folder(tmp_path_factory, name, make))
    saved = json.loads((store.folder / "outputs.json").read_text(encoding="utf-8"))
    store.outputs, store.errors = saved["outputs"], saved["errors"]
    return store


@pytest.fixture(scope="session")
def store_template(tmp_path_factory) -> LabStore:
    """The database `labkit.start` makes on a new store (MLflow's tables, the lab's experiments),
    made once per session (built_once); ready_store copies it."""
    make = "from labkit.store import prepare_lab_store; prepare_lab_store()"
    return built_once(tmp_path_factory, "store_template", lambda store: {
        "made": run_python(["-c", make], store.env(), store.folder)})


def checked(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr[-4000:]
    return result


@pytest.fixture(scope="session")
def server_db_template(tmp_path_factory) -> LabStore:
    """The database a new `mlflow server --artifacts-destination DIR` makes at its first start
    (MLflow's tables, its Default experiment under mlflow-artifacts:/), made once per session by
    the function the server itself calls (built_once): a test's server starts on a copy and skips
    the migrations (test_dead_server's sqlite_server)."""
    make = ("import os; from mlflow.server.handlers import initialize_backend_stores; "
            "uri = os.environ['MLFLOW_TRACKING_URI']; initialize_backend_stores(uri, uri, 'mlflow-artifacts:/')")
    return built_once(tmp_path_factory, "server_db_template", lambda store: {
        "made": checked(run_python(["-c", make], store.env(), store.folder))})


def from_template(template: LabStore, store: LabStore) -> LabStore:
    """``store``'s folder made a copy of ``template`` (for ``built_once``'s builds: a script that
    starts on it skips MLflow's migrations, seconds that the untouched store's first run keeps)."""
    template.copy_to(store.folder)
    return store


@pytest.fixture(scope="session")
def solutions_store(store_template, tmp_path_factory) -> LabStore:
    """A store in which all four solutions ran once, in order (``outputs``, ``errors``: what each printed),
    on a copy of ``store_template``. One for the session, shared by the workers: read-only."""
    def build(store: LabStore) -> dict:
        from_template(store_template, store)
        return {task: store.run_task(task) for task in TASK_SCRIPTS}

    return built_once(tmp_path_factory, "solutions_store", build)


@pytest.fixture(scope="session")
def untouched_store(tmp_path_factory) -> LabStore:
    """A store in which the untouched code/ scripts ran once, in order, task 1 in a brand-new
    interpreter as a student runs it (``outputs``, ``errors``: what each printed). One for the session,
    shared by the workers: read-only."""
    return built_once(tmp_path_factory, "untouched_store",
                      lambda store: {task: store.run_task(task, folder=CODE_DIR, fresh=task == "task1")
                                     for task in TASK_SCRIPTS})


__all__ = ["CODE_DIR", "ROOT", "SOLUTIONS_DIR", "TASK_SCRIPTS", "LabStore"]

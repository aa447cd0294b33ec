"""Open the lab's tracking store for reading, and the few queries the checks make.

The grader never writes to the store. A local SQLite store is opened read-only and
copied (SQLite's backup API gives a consistent snapshot) into a temporary folder, and
the copy is read with sqlite3 (``grader.sqlite_store``, no MLflow import: grading a
task takes under a second). A tracking server, or another database, is read through
MlflowClient (``Store``); a server is asked /health first, with a short timeout, so a
dead or hung server is reported in seconds.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from labkit import names
from labkit.store import StoreError, check_server, is_remote, sqlite_path, tracking_uri

SERVER_HEALTH_TIMEOUT_S = 3.0  # a hung server is reported within 5 s
SERVER_REQUEST_TIMEOUT_S = "10"
SQLITE_HEADER = b"SQLite format 3\x00"
MLFLOW_TABLES = {"experiments", "runs", "alembic_version"}
FIRST_TASK = "code/task1_baseline.py"
# Set (to anything) to read a local SQLite store through MlflowClient, as for a server:
# the tests compare both readers on the same stores.
GRADE_THROUGH_MLFLOW_ENV = "LAB_GRADER_THROUGH_MLFLOW"


@contextmanager
def open_store(uri: str | None = None):
    """Yield a read-only ``Store`` for ``uri`` (default: the lab's store), or raise CannotGrade."""
    from grader.core import CannotGrade

    uri = uri or tracking_uri()
    if is_remote(uri):
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", SERVER_REQUEST_TIMEOUT_S)
        try:
            check_server(uri, timeout=SERVER_HEALTH_TIMEOUT_S)
        except StoreError as exc:
            raise CannotGrade(str(exc)) from None
        yield _client_store(uri, uri)
        return
    db = sqlite_path(uri)
    if db is None:  # another database (e.g. PostgreSQL): MLflow opens it as is
        yield _client_store(uri, uri)
        return
    db = Path(os.path.abspath(db))
    with tempfile.TemporaryDirectory(prefix="lab-grader-", ignore_cleanup_errors=True) as tmp:
        copy = Path(tmp) / "snapshot.db"
        snapshot_sqlite(db, copy)
        if os.environ.get(GRADE_THROUGH_MLFLOW_ENV):
            yield _client_store(uri, "sqlite:///" + copy.as_posix())
            return
        store = _sqlite_store(uri, copy)
        try:
            yield store
        finally:
            store.close()


def _sqlite_store(shown_uri: str, copy: Path):
    """The snapshot read with sqlite3 (no MLflow import); CannotGrade if its tables are not MLflow's."""
    from grader.core import CannotGrade
    from grader.sqlite_store import SqliteStore

    store = SqliteStore(shown_uri, copy)
    try:
        store.experiment(names.DEFAULT_EXPERIMENT)  # the first query: fail here, not in a check
        store.versions(names.REGISTERED_MODEL)
        store.logged_model("")
        store.run("")
    except sqlite3.Error as exc:
        store.close()
        raise CannotGrade(
            f"Cannot read the tracking store {shown_uri} ({exc}). "
            "Was it made by another MLflow version?"
        ) from None
    return store


def snapshot_sqlite(db: Path, copy: Path) -> None:
    """Copy the lab's database into ``copy``, reading it only; CannotGrade if it is unusable."""
    from grader.core import CannotGrade

    _check_file(db)
    try:
        source = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(copy)
            source.backup(target)
            target.close()
        finally:
            source.close()
        tables = _tables(copy)
    except sqlite3.DatabaseError as exc:
        raise CannotGrade(
            f"{db} cannot be read as a database ({exc}). "
            "Is it corrupt? `python -m labkit reset` backs it up and starts a fresh store."
        ) from None
    if not MLFLOW_TABLES <= tables:
        raise CannotGrade(f"The tracking store {db} is empty. Did you run {FIRST_TASK} yet?")


def _check_file(db: Path) -> None:
    from grader.core import CannotGrade

    try:
        info = db.stat()
        with open(db, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        raise CannotGrade(f"No tracking store at {db}. Did you run {FIRST_TASK} yet?") from None
    except NotADirectoryError:
        parent = next((p for p in db.parents if p.is_file()), db.parent)
        raise CannotGrade(
            f"Cannot read {db}: {parent} is a file, not a folder. Is MLFLOW_TRACKING_URI right?"
        ) from None
    except IsADirectoryError:
        raise CannotGrade(f"{db} is a folder, not a database. Is MLFLOW_TRACKING_URI right?") from None
    except PermissionError:
        raise CannotGrade(f"Cannot read {db}. Do you have permission to read that folder?") from None
    if info.st_size == 0:
        raise CannotGrade(f"The tracking store {db} is empty. Did you run {FIRST_TASK} yet?")
    if header != SQLITE_HEADER:
        raise CannotGrade(
            f"{db} is not an SQLite database (corrupt?). "
            "`python -m labkit reset` backs it up and starts a fresh store."
        )


def _tables(db: Path) -> set[str]:
    connection = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        rows = connection.execute("select name from sqlite_master where type = 'table'").fetchall()
    finally:
        connection.close()
    return {name for (name,) in rows}


def _client_store(shown_uri: str, read_uri: str) -> "Store":
    from grader.core import CannotGrade

    try:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=read_uri, registry_uri=read_uri)
        store = Store(shown_uri, client)
        store.experiment(names.DEFAULT_EXPERIMENT)  # the first query: fail here, not in a check
        return store
    except CannotGrade:
        raise
    except Exception as exc:  # noqa: BLE001 - turned into one line that names the fix
        raise cannot_grade_from(exc, shown_uri, always=True) from exc


def cannot_grade_from(exc: Exception, uri: str = "", always: bool = False):
    """A CannotGrade when ``exc`` means the store as a whole is unusable, else None."""
    from grader.core import CannotGrade

    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    lowered = text.lower()
    code = getattr(exc, "error_code", "")
    if code in ("UNAUTHENTICATED", "PERMISSION_DENIED") or " 401" in text or " 403" in text:
        return CannotGrade(
            f"The tracking server refused the grader ({text}). "
            "Are MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD set?"
        )
    network = ("connection", "timed out", "read timeout", "max retries", "remote end closed")
    if _is_request_error(exc) or (code and any(word in lowered for word in network)):
        return CannotGrade(f"The tracking server {uri} stopped answering ({text}). Is it still running?")
    if always:
        hint = "Was it made by another MLflow version?" if "schema" in lowered else (
            "Is MLFLOW_TRACKING_URI right?")
        return CannotGrade(f"Cannot read the tracking store {uri} ({text}). {hint}")
    return None


def _is_request_error(exc: Exception) -> bool:
    try:
        from requests.exceptions import RequestException
    except ImportError:
        return False
    return isinstance(exc, (RequestException, ConnectionError, TimeoutError))


class Store:
    """The queries the checks need, each made once per grading."""

    def __init__(self, uri: str, client) -> None:
        self.uri = uri
        self.client = client
        self.runs = lru_cache(maxsize=None)(self._runs)
        self.experiment = lru_cache(maxsize=None)(self._experiment)
        self.logged_model = lru_cache(maxsize=None)(self._logged_model)
        self.run = lru_cache(maxsize=None)(self._run)

    def _experiment(self, name: str):
        return self.client.get_experiment_by_name(name)

    def experiment_name(self, experiment_id: str) -> str:
        return self.client.get_experiment(experiment_id).name

    def _runs(self, experiment_name: str) -> list:
        """Every run of an experiment (any status), newest first."""
        experiment = self.experiment(experiment_name)
        if experiment is None:
            return []
        runs = self.client.search_runs(
            [experiment.experiment_id], max_results=1000,
            order_by=["attributes.start_time DESC"],
        )
        return sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.end_time or 0), reverse=True)

    def _run(self, run_id: str):
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_run(run_id)
        except MlflowException:
            return None

    def _logged_model(self, model_id: str):
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_logged_model(model_id)
        except MlflowException:
            return None

    def logged_models(self, run) -> list:
        """The models a run logged, newest first."""
        outputs = run.outputs.model_outputs if run.outputs else []
        models = [self.logged_model(o.model_id) for o in outputs]
        models = [m for m in models if m is not None]
        return sorted(models, key=lambda m: m.creation_timestamp or 0, reverse=True)

    def versions(self, model_name: str) -> list:
        """The versions of a registered model, newest first (none if it does not exist)."""
        versions = self.client.search_model_versions(f"name = '{model_name}'")
        return sorted(versions, key=lambda v: int(v.version), reverse=True)

    def aliases(self, model_name: str) -> dict[str, str]:
        from mlflow.exceptions import MlflowException

        try:
            model = self.client.get_registered_model(model_name)
        except MlflowException:
            return {}
        return {alias: str(version) for alias, version in (model.aliases or {}).items()}

    def registered_model_names(self) -> list[str]:
        return [m.name for m in self.client.search_registered_models(max_results=100)]

    def close(self) -> None:
        pass

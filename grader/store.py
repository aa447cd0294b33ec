"""Open the lab's tracking store for reading, and the few queries the checks make.

Every store is read through ``MlflowClient``. The grader never writes to it: a local
SQLite store is first copied with SQLite's backup API (a consistent snapshot, taken
through a read-only connection) into a temporary folder, and the client reads the
copy. A tracking server is asked /health first, with a short timeout, so a dead or
hung server is reported in seconds.

With a deadline (``as_of``, milliseconds), the Store hides what was made after it:
runs, the models they logged, registered versions, their stages and aliases, by the
rules of grader/deadline.py. Every check reads the store through it, so every check
sees the same world.
"""

from __future__ import annotations

import copy
import os
import sqlite3
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from requests.exceptions import RequestException

from grader.errors import CannotGrade
from grader.lab import DEFAULT_EXPERIMENT, SCRIPTS
from labkit.i18n import Domain
from labkit.net import fail_fast
from labkit.store import StoreError, check_server, is_remote, sqlite_path, tracking_uri

_, N_, _n = Domain("grader").functions()

SERVER_HEALTH_TIMEOUT_S = 3.0  # a hung server is reported within 5 s
SQLITE_HEADER = b"SQLite format 3\x00"
FIRST_TASK = SCRIPTS["task1"]
MAX_RESULTS = 1000


class Snapshot:
    """A local store's snapshot file and the client that reads it, kept from one grade to the next
    (``check.py --watch``): each grade copies the store into the same file, so MLflow opens its
    database (engine, schema check) once. A store whose schema changed is opened afresh."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="lab-grader-", ignore_cleanup_errors=True)
        self.path = Path(self._folder.name) / "snapshot.db"
        self.client: MlflowClient | None = None
        self.opened: tuple | None = None  # (the store's path, its schema revision) the client was made for

    def close(self) -> None:
        self.client = None
        self._folder.cleanup()


@contextmanager
def open_store(uri: str | None = None, as_of: int | None = None, snapshot: Snapshot | None = None):
    """Yield a read-only ``Store`` for ``uri`` (default: the lab's store), or raise CannotGrade.

    ``as_of`` (milliseconds since the epoch) hides what was made after it. With ``snapshot``,
    a local store is copied into its file and read by its client (kept between grades)."""
    uri = uri or tracking_uri()
    if is_remote(uri):
        fail_fast()
        try:
            check_server(uri, timeout=SERVER_HEALTH_TIMEOUT_S)
        except StoreError as exc:
            raise CannotGrade(str(exc)) from None
        yield connect(uri, uri, as_of=as_of)
        return
    db = sqlite_path(uri)
    if db is None:  # another database (e.g. PostgreSQL): MLflow opens it as is
        yield connect(uri, uri, as_of=as_of)
        return
    db = Path(os.path.abspath(db))
    if snapshot is not None:
        yield reopen(uri, db, snapshot, as_of)
        return
    with tempfile.TemporaryDirectory(prefix="lab-grader-", ignore_cleanup_errors=True) as tmp:
        copy = Path(tmp) / "snapshot.db"
        snapshot_sqlite(db, copy)
        store = connect(uri, "sqlite:///" + copy.as_posix(), store_folder=db.parent, as_of=as_of)
        try:
            yield store
        finally:
            store.close()


def reopen(uri: str, db: Path, snapshot: Snapshot, as_of: int | None) -> "Store":
    """The store ``db`` copied into ``snapshot``'s file, read by its kept client (made on first use,
    and again when the store's path or schema revision changed)."""
    snapshot_sqlite(db, snapshot.path)
    opened = (db, schema_revision(snapshot.path))
    if snapshot.client is None or snapshot.opened != opened:
        snapshot.client = None
        store = connect(uri, "sqlite:///" + snapshot.path.as_posix(), store_folder=db.parent, as_of=as_of)
        snapshot.client, snapshot.opened = store.client, opened
        return store
    try:
        store = Store(uri, snapshot.client, db.parent, as_of)
        store.experiment(DEFAULT_EXPERIMENT)  # the first query: fail here, not in a check
        return store
    except Exception as exc:  # noqa: BLE001 - turned into one line that names the fix
        snapshot.client = None
        raise cannot_grade_from(exc, uri, always=True) from exc


def schema_revision(db: Path) -> str | None:
    """The MLflow schema revision (alembic's) a snapshot holds, None when it holds none."""
    connection = sqlite3.connect(db)
    try:
        return connection.execute("select version_num from alembic_version").fetchone()[0]
    except (sqlite3.DatabaseError, TypeError):
        return None
    finally:
        connection.close()


def snapshot_sqlite(db: Path, copy: Path) -> None:
    """Copy the lab's database into ``copy``, reading it only; CannotGrade if it is unusable."""
    check_file(db)
    try:
        source = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(copy)
            source.backup(target)
            empty = target.execute("select count(*) from sqlite_master").fetchone()[0] == 0
            target.close()
        finally:
            source.close()
    except sqlite3.DatabaseError as exc:
        raise CannotGrade(_(
            "{db} cannot be read as a database ({error}). "
            "Is it corrupt? `python -m labkit reset` backs it up and starts a fresh store.", db=db, error=exc,
        )) from None
    if empty:
        raise CannotGrade(_("The tracking store {db} is empty. Did you run {script} yet?", db=db,
                            script=FIRST_TASK))


def check_file(db: Path) -> None:
    """CannotGrade, with the fix, unless ``db`` is a readable SQLite file with something in it."""
    try:
        size = db.stat().st_size
        with open(db, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        raise CannotGrade(_("No tracking store at {db}. Did you run {script} yet?", db=db,
                            script=FIRST_TASK)) from None
    except NotADirectoryError:
        parent = next((p for p in db.parents if p.is_file()), db.parent)
        raise CannotGrade(_(
            "Cannot read {db}: {parent} is a file, not a folder. Is MLFLOW_TRACKING_URI right?",
            db=db, parent=parent,
        )) from None
    except IsADirectoryError:
        raise CannotGrade(_("{db} is a folder, not a database. Is MLFLOW_TRACKING_URI right?", db=db)) from None
    except PermissionError:
        raise CannotGrade(_("Cannot read {db}. Do you have permission to read that folder?", db=db)) from None
    if size == 0:
        raise CannotGrade(_("The tracking store {db} is empty. Did you run {script} yet?", db=db,
                            script=FIRST_TASK))
    if header != SQLITE_HEADER:
        raise CannotGrade(_(
            "{db} is not an SQLite database (corrupt?). "
            "`python -m labkit reset` backs it up and starts a fresh store.", db=db,
        ))


def connect(shown_uri: str, read_uri: str, store_folder: Path | None = None,
            as_of: int | None = None) -> "Store":
    """A Store whose first query has answered; CannotGrade with the reason otherwise."""
    try:
        store = Store(shown_uri, MlflowClient(tracking_uri=read_uri, registry_uri=read_uri),
                      store_folder, as_of)
        store.experiment(DEFAULT_EXPERIMENT)  # the first query: fail here, not in a check
        return store
    except CannotGrade:
        raise
    except Exception as exc:  # noqa: BLE001 - turned into one line that names the fix
        raise cannot_grade_from(exc, shown_uri, always=True) from exc


def cannot_grade_from(exc: Exception, uri: str = "", always: bool = False) -> CannotGrade | None:
    """A CannotGrade when ``exc`` means the store as a whole is unusable, else None."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    lowered = text.lower()
    code = getattr(exc, "error_code", "")
    if code in ("UNAUTHENTICATED", "PERMISSION_DENIED") or " 401" in text or " 403" in text:
        return CannotGrade(_(
            "The tracking server refused the grader ({error}). "
            "Are MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD set?", error=text,
        ))
    network = ("connection", "timed out", "read timeout", "max retries", "remote end closed")
    if isinstance(exc, (RequestException, ConnectionError, TimeoutError)) or (
            code and any(word in lowered for word in network)):
        return CannotGrade(_("The tracking server {uri} stopped answering ({error}). Is it still running?",
                             uri=uri, error=text))
    if always:
        hint = _("Was it made by another MLflow version?") if "schema" in lowered else (
            _("Is MLFLOW_TRACKING_URI right?"))
        return CannotGrade(_("Cannot read the tracking store {uri} ({error}). {hint}", uri=uri, error=text,
                             hint=hint))
    return None


class Store:
    """The queries the checks need, each made once per grading.

    ``folder`` is the local store's folder: artifacts whose stored absolute path no
    longer exists (the lab folder was moved or copied) are looked for beside it.
    ``as_of`` (milliseconds) hides what was made after that deadline (grader/deadline.py).
    """

    def __init__(self, uri: str, client: MlflowClient, folder: Path | None = None,
                 as_of: int | None = None) -> None:
        self.uri = uri
        self.client = client
        self.folder = folder
        self.as_of = as_of
        self.late: set[str] = set()  # the ids of runs seen that the deadline left out
        self.experiment = lru_cache(maxsize=None)(self._experiment)
        self.runs = lru_cache(maxsize=None)(self._runs)
        self.run = lru_cache(maxsize=None)(self._run)
        self.models_of_experiment = lru_cache(maxsize=None)(self._models_of_experiment)
        self.logged_model = lru_cache(maxsize=None)(self._logged_model)

    # What a deadline lets through (the rules: grader/deadline.py).

    def counts(self, run) -> bool:
        """A run counts when it ended by the deadline (always, without one)."""
        if self.as_of is None:
            return True
        if run.info.end_time is not None and run.info.end_time <= self.as_of:
            return True
        self.late.add(run.info.run_id)
        return False

    def _model_counts(self, model) -> bool:
        """A logged model counts with the run that logged it."""
        if self.as_of is None:
            return True
        if model.source_run_id:
            run = self.run(model.source_run_id)
            return run is not None
        return (model.creation_timestamp or 0) <= self.as_of

    def _as_of_deadline(self, version):
        """The version as the deadline saw it, or None if it was made after it."""
        if self.as_of is None:
            return version
        if (version.creation_timestamp or 0) > self.as_of:
            return None
        if (version.last_updated_timestamp or 0) > self.as_of and version.current_stage not in (None, "None"):
            version = copy.copy(version)
            version.current_stage = "None"  # changed after the deadline: its stage then is unknown
        return version

    # The queries.

    def _experiment(self, name: str):
        return self.client.get_experiment_by_name(name)

    def experiment_names(self) -> list[str]:
        return [e.name for e in self.client.search_experiments(max_results=MAX_RESULTS)]

    def experiment_name(self, experiment_id: str) -> str:
        return self.client.get_experiment(experiment_id).name

    def _runs(self, experiment_name: str) -> list:
        """Every run of an experiment (any status), newest first."""
        experiment = self.experiment(experiment_name)
        if experiment is None:
            return []
        runs = self.client.search_runs([experiment.experiment_id], max_results=MAX_RESULTS,
                                       order_by=["attributes.start_time DESC"])
        runs = [r for r in runs if self.counts(r)]
        return sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.end_time or 0), reverse=True)

    def _run(self, run_id: str):
        try:
            run = self.client.get_run(run_id)
        except MlflowException:
            return None
        return run if self.counts(run) else None

    def _models_of_experiment(self, experiment_id: str) -> tuple:
        """Every model logged in an experiment, newest first."""
        models, token = [], None
        while True:
            page = self.client.search_logged_models(experiment_ids=[experiment_id],
                                                    max_results=100, page_token=token)
            models.extend(page)
            token = page.token
            if not token:
                break
        models = [m for m in models if self._model_counts(m)]
        return tuple(sorted(models, key=lambda m: m.creation_timestamp or 0, reverse=True))

    def logged_models(self, run) -> list:
        """The models a run logged, newest first."""
        return [m for m in self.models_of_experiment(run.info.experiment_id)
                if m.source_run_id == run.info.run_id]

    def _logged_model(self, model_id: str):
        try:
            model = self.client.get_logged_model(model_id)
        except MlflowException:
            return None
        return model if self._model_counts(model) else None

    def versions(self, model_name: str) -> list:
        """The versions of a registered model, newest first (none if it does not exist)."""
        versions = self.client.search_model_versions(f"name = '{model_name}'")
        versions = [v for v in map(self._as_of_deadline, versions) if v is not None]
        return sorted(versions, key=lambda v: int(v.version), reverse=True)

    def aliases(self, model_name: str) -> dict[str, str]:
        """Alias -> version number; with a deadline, only aliases on versions made by then."""
        try:
            model = self.client.get_registered_model(model_name)
        except MlflowException:
            return {}
        aliases = {alias: str(version) for alias, version in (model.aliases or {}).items()}
        if self.as_of is not None:
            counted = {str(v.version) for v in self.versions(model_name)}
            aliases = {alias: number for alias, number in aliases.items() if number in counted}
        return aliases

    def registered_model_names(self) -> list[str]:
        models = self.client.search_registered_models(max_results=100)
        return [m.name for m in models
                if self.as_of is None or (m.creation_timestamp or 0) <= self.as_of]

    def close(self) -> None:
        self.client = None

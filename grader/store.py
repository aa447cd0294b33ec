"""Open the lab's tracking store for reading, and the few queries the checks make.

Every store is read through ``MlflowClient``. The grader never writes to it: labkit/store.py
(``open_store``, asked once, as the task scripts ask it) checks the store and copies a local
SQLite store with SQLite's backup API (a consistent snapshot, taken through a read-only
connection) into a temporary folder, and the client reads the copy. A tracking server is
asked /health first, with a short timeout, so a dead or hung server is reported in seconds.

With a deadline (``as_of``, milliseconds), the Store hides what was made after it:
runs, the models they logged, registered versions, their stages and aliases, by the
rules of grader/deadline.py. Every check reads the store through it, so every check
sees the same world.
"""

from __future__ import annotations

import copy
import sqlite3
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException
from requests.exceptions import RequestException

from grader.errors import CannotGrade
from labkit import store as lab_store
from labkit.lab import DEFAULT_EXPERIMENT
from labkit.i18n import Domain

_, N_, _n = Domain("grader").functions()

SERVER_HEALTH_TIMEOUT_S = 3.0  # a hung server is reported within 5 s
PAGE = 1000  # results per page of a search (every search reads every page)
LOGGED_MODELS_PAGE = 100
REGISTRY_PAGE = 100  # the registry's searches answer at most 1,000 (SQLAlchemy) or 10,000 at once


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
    with tempfile.TemporaryDirectory(prefix="lab-grader-", ignore_cleanup_errors=True) as tmp:
        copy = snapshot.path if snapshot is not None else Path(tmp) / "snapshot.db"
        try:
            location = lab_store.open_store(uri, timeout=SERVER_HEALTH_TIMEOUT_S, snapshot=copy)
        except lab_store.StoreError as exc:
            raise CannotGrade(str(exc)) from None
        if location.database is None:  # a server, or another database (e.g. PostgreSQL) as it is
            yield connect(location.uri, location.read_uri, as_of=as_of)
            return
        if snapshot is not None:
            yield reopen(location, snapshot, as_of)
            return
        store = connect(location.uri, location.read_uri, store_folder=location.folder, as_of=as_of)
        try:
            yield store
        finally:
            store.close()


def reopen(location: lab_store.Location, snapshot: Snapshot, as_of: int | None) -> "Store":
    """The store copied into ``snapshot``'s file, read by its kept client (made on first use, and
    again when the store's path or schema revision changed)."""
    opened = (location.database, schema_revision(snapshot.path))
    if snapshot.client is None or snapshot.opened != opened:
        snapshot.client = None
        store = connect(location.uri, location.read_uri, store_folder=location.folder, as_of=as_of)
        snapshot.client, snapshot.opened = store.client, opened
        return store
    try:
        store = Store(location.uri, snapshot.client, location.folder, as_of)
        store.experiment(DEFAULT_EXPERIMENT)  # the first query: fail here, not in a check
        return store
    except Exception as exc:  # noqa: BLE001 - turned into one line that names the fix
        snapshot.client = None
        raise cannot_grade_from(exc, location.uri, always=True) from exc


def schema_revision(db: Path) -> str | None:
    """The MLflow schema revision (alembic's) a snapshot holds, None when it holds none."""
    connection = sqlite3.connect(db)
    try:
        return connection.execute("select version_num from alembic_version").fetchone()[0]
    except (sqlite3.DatabaseError, TypeError):
        return None
    finally:
        connection.close()


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
    """The queries the checks need, each made once per grading and cached (every search paged).

    ``folder`` is the local store's folder: artifacts whose stored absolute path no
    longer exists (the lab folder was moved or copied) are looked for beside it.
    ``as_of`` (milliseconds) hides what was made after that deadline (grader/deadline.py).
    A query answers a tuple, so that no check can change what the next one reads.
    """

    def __init__(self, uri: str, client: MlflowClient, folder: Path | None = None,
                 as_of: int | None = None) -> None:
        self.uri = uri
        self.client = client
        self.folder = folder
        self.as_of = as_of
        self.late: set[str] = set()  # the ids of runs seen that the deadline left out
        for query in (self._experiments, self._experiment, self._experiment_names, self._experiment_name,
                      self._active_runs, self._runs, self._run,
                      self._models_of_experiment, self._logged_model, self._versions, self._aliases,
                      self._registered_model_names):  # self.experiment, self.runs...: each cached alike
            setattr(self, query.__name__.lstrip("_"), lru_cache(maxsize=None)(query))

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

    # The queries (each cached by __init__ under its name without the underscore).

    def _experiments(self) -> Mapping[str, object]:
        """Every experiment of the store by name, deleted ones too (as get_experiment_by_name finds
        them; a name is unique among both), in the order the search gives: one search for what the
        checks would ask one name at a time (each a request to a tracking server)."""
        found = every_page(self.client.search_experiments, view_type=ViewType.ALL, max_results=PAGE)
        return MappingProxyType({e.name: e for e in found})

    def _experiment(self, name: str):
        return self.experiments().get(name)

    def _experiment_names(self) -> tuple[str, ...]:
        return tuple(name for name, e in self.experiments().items() if e.lifecycle_stage == "active")

    def _experiment_name(self, experiment_id: str) -> str:
        return self.client.get_experiment(experiment_id).name

    def _active_runs(self) -> Mapping[str, tuple]:
        """Every run of every active experiment, by experiment id, in one search (the order a search of
        one experiment gives: start time, newest first, then run id)."""
        ids = [e.experiment_id for e in self.experiments().values() if e.lifecycle_stage == "active"]
        found: dict[str, list] = {i: [] for i in ids}
        if ids:
            for run in every_page(self.client.search_runs, ids, max_results=PAGE,
                                  order_by=["attributes.start_time DESC"]):
                found.setdefault(run.info.experiment_id, []).append(run)
        return MappingProxyType({i: tuple(runs) for i, runs in found.items()})

    def _runs(self, experiment_name: str) -> tuple:
        """Every run of an experiment (any status), newest first."""
        experiment = self.experiment(experiment_name)
        if experiment is None:
            return ()
        if experiment.lifecycle_stage == "active":
            runs = list(self.active_runs().get(experiment.experiment_id, ()))
        else:  # a deleted experiment, asked by name
            runs = every_page(self.client.search_runs, [experiment.experiment_id], max_results=PAGE,
                              order_by=["attributes.start_time DESC"])
        runs = [r for r in runs if self.counts(r)]
        return tuple(sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.end_time or 0), reverse=True))

    def _run(self, run_id: str):
        try:
            run = self.client.get_run(run_id)
        except MlflowException:
            return None
        return run if self.counts(run) else None

    def _models_of_experiment(self, experiment_id: str) -> tuple:
        """Every model logged in an experiment, newest first."""
        models = every_page(self.client.search_logged_models, experiment_ids=[experiment_id],
                            max_results=LOGGED_MODELS_PAGE)
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

    def _versions(self, model_name: str) -> tuple:
        """The versions of a registered model, newest first (none if it does not exist)."""
        versions = every_page(self.client.search_model_versions, f"name = '{model_name}'",
                              max_results=REGISTRY_PAGE)
        versions = [v for v in map(self._as_of_deadline, versions) if v is not None]
        return tuple(sorted(versions, key=lambda v: int(v.version), reverse=True))

    def _aliases(self, model_name: str) -> Mapping[str, str]:
        """Alias -> version number; with a deadline, only aliases on versions made by then."""
        try:
            model = self.client.get_registered_model(model_name)
        except MlflowException:
            return MappingProxyType({})
        aliases = {alias: str(version) for alias, version in (model.aliases or {}).items()}
        if self.as_of is not None:
            counted = {str(v.version) for v in self.versions(model_name)}
            aliases = {alias: number for alias, number in aliases.items() if number in counted}
        return MappingProxyType(aliases)

    def _registered_model_names(self) -> tuple[str, ...]:
        models = every_page(self.client.search_registered_models, max_results=REGISTRY_PAGE)
        return tuple(m.name for m in models if self.as_of is None or (m.creation_timestamp or 0) <= self.as_of)

    def close(self) -> None:
        self.client = None


def every_page(search, *args, **kwargs) -> list:
    """Every result of an MlflowClient search, page after page."""
    found, token = [], None
    while True:
        page = search(*args, page_token=token, **kwargs)
        found.extend(page)
        token = page.token
        if not token:
            return found

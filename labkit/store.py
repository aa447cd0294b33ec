"""The one place that decides which tracking store the lab talks to, and opens and checks it.

Local by default: ``mlflow.db`` at the repository root with artifacts in
``mlartifacts/`` beside it, whatever the current folder. ``MLFLOW_TRACKING_URI``
overrides it (a shared ``mlflow server``, or another database).

``open_store`` is asked once, by the task scripts (``prepare_lab_store``, through
``labkit.start``) and by the grader (grader/store.py): it checks the store (a server
answers /health and takes the sign-in; a local file is an SQLite database) and says
where to read it. The grader asks for a ``snapshot``: the local database copied through
a read-only connection, so grading never writes to a student's store.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests

from labkit import lab as names
from labkit.i18n import Domain
from labkit.net import fail_fast, refused, request
from labkit.paths import ARTIFACTS_DIR, BACKUPS_DIR, STORE_DB

_, N_, _n = Domain("labkit").functions()

ENV_URI = "MLFLOW_TRACKING_URI"


class StoreError(Exception):
    """A store the lab cannot use; the message is one line that names the fix."""


def tracking_uri() -> str:
    """The lab's tracking URI: $MLFLOW_TRACKING_URI, else the repository's mlflow.db."""
    return os.environ.get(ENV_URI) or local_uri()


def local_uri(db: Path = STORE_DB) -> str:
    return "sqlite:///" + db.resolve().as_posix()


def is_remote(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def sqlite_path(uri: str) -> Path | None:
    """The database file behind a sqlite:/// URI, or None for other stores."""
    prefix = "sqlite:///"
    return Path(uri[len(prefix) :]) if uri.startswith(prefix) else None


HINT_LEVELS_FILE = "hint_levels.json"  # the hint levels a student reached (grader/hint_levels.py)


def hint_levels_file(db: Path) -> Path:
    """Where the grader records the hint levels asked for on a local store: beside its database."""
    return db.parent / HINT_LEVELS_FILE


def artifact_root_for(uri: str) -> Path:
    """Artifacts live beside the database: <folder of mlflow.db>/mlartifacts."""
    db = sqlite_path(uri)
    return ARTIFACTS_DIR if db is None or db.resolve() == STORE_DB else db.parent / "mlartifacts"


def server_down_message(uri: str, reason) -> str:
    return _("The tracking server at {uri} stopped answering during this run ({reason}). "
             "Is it still running? Ask your instructor, then run this script again.",
             uri=uri, reason=reason)


def server_hung_message(uri: str, seconds: str) -> str:
    return _("The tracking server at {uri} did not answer for {seconds} s during this run. "
             "Is it overloaded or stopped? Ask your instructor, then run this script again.",
             uri=uri, seconds=seconds)


def database_down_message(uri: str, detail: str = "") -> str:
    if detail:
        return _("The tracking server at {uri} answers, but its database does not (HTTP 503: {detail}). "
                 "Is the server's database running? Ask your instructor, then run this script again.",
                 uri=uri, detail=detail)
    return _("The tracking server at {uri} answers, but its database does not (HTTP 503). "
             "Is the server's database running? Ask your instructor, then run this script again.",
             uri=uri)


def check_server(uri: str, timeout: float = 5.0) -> None:
    """Raise StoreError unless the tracking server at ``uri`` answers /health in time."""
    try:
        response = request("GET", uri.rstrip("/") + "/health", timeout=timeout)
    except (requests.RequestException, ValueError) as exc:
        raise StoreError(_("The tracking server at {uri} does not answer ({reason}). "
                           "Is it running, and is {variable} right?",
                           uri=uri, reason=_reason(exc), variable=ENV_URI)) from None
    if response.status_code >= 500:  # e.g. a proxy in front of MLflow whose upstream is not ready
        raise StoreError(_(
            "The tracking server at {uri} is not ready (HTTP {code} on /health). "
            "Is it starting, or is its database down? Ask your instructor, then run this script again.",
            uri=uri, code=response.status_code))
    # any other answer: the server is up; sign-in is checked next
    check_sign_in(uri, timeout)


def _reason(exc: BaseException) -> BaseException:
    """The innermost error of a failed request, in the OS's words: ``[Errno 111] Connection
    refused``, ``timed out`` (requests wraps it in urllib3's errors)."""
    inner = exc
    for _depth in range(10):
        cause = (inner.__cause__ or getattr(inner, "reason", None)
                 or next((a for a in inner.args if isinstance(a, BaseException)), None) or inner.__context__)
        if not isinstance(cause, BaseException):
            break
        inner = cause
    return inner


def check_sign_in(uri: str, timeout: float = 5.0) -> None:
    """Raise StoreError if the server refuses these credentials or this workspace.

    /health needs no sign-in, so ask for an experiment by name, as the task scripts do
    (a search would answer 200 with nothing in a workspace one may not read). MLflow's
    /health answers 200 even when its database is down; this request reaches the
    database, and answers 503 then.
    """
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    workspace = os.environ.get("MLFLOW_WORKSPACE")
    headers = {"X-MLFLOW-WORKSPACE": workspace} if workspace else {}
    auth = (user, os.environ.get("MLFLOW_TRACKING_PASSWORD", "")) if user else None
    url = uri.rstrip("/") + "/api/2.0/mlflow/experiments/get-by-name"
    try:
        response = request("GET", url, params={"experiment_name": "Default"}, headers=headers, auth=auth,
                           timeout=timeout)
    except (requests.RequestException, ValueError):
        return  # a server that stops answering now is reported by the client itself
    code = 401 if refused(response, user) else response.status_code
    if code == 401 and user:
        raise StoreError(_(
            "The tracking server at {uri} did not accept user '{user}'. Are "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD those of your connection file?",
            uri=uri, user=user))
    if code == 401:
        raise StoreError(_(
            "The tracking server at {uri} did not accept a client without a user name. Are "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD those of your connection file?",
            uri=uri))
    if code == 403 and "invalid host header" in response.text.lower():
        # MLflow's Host check (--allowed-hosts), before any sign-in: not the user's workspace.
        host = urlsplit(uri).hostname or uri
        raise StoreError(_(
            "The tracking server at {uri} refuses the host name '{host}' (Invalid Host header). "
            "Ask your instructor to start it with --allowed-hosts {host}.",
            uri=uri, host=host))
    if code == 403:
        raise StoreError(_("User '{user}' may not use workspace '{workspace}' on {uri}. "
                           "Is MLFLOW_WORKSPACE your own?",
                           user=user, workspace=workspace, uri=uri))
    if code == 404 and workspace and "workspace" in response.text.lower():
        raise StoreError(_("{uri} has no workspace '{workspace}'. Is MLFLOW_WORKSPACE right?",
                           uri=uri, workspace=workspace))
    if code == 503:
        raise StoreError(database_down_message(uri, _first_line_of_message(response)))
    if code >= 500:
        raise StoreError(_(
            "The tracking server at {uri} fails (HTTP {code}: {detail}). "
            "Ask your instructor to read its log, then run this script again.",
            uri=uri, code=code, detail=_first_line_of_message(response)))


def _first_line_of_message(response: requests.Response, limit: int = 160) -> str:
    """The first line of MLflow's JSON error message (or of the body), shortened."""
    body = response.text
    try:
        body = json.loads(body).get("message", body)
    except (ValueError, AttributeError):
        pass
    first = str(body).strip().splitlines()[0] if str(body).strip() else response.reason
    return first if len(first) <= limit else first[: limit - 3] + "..."


def check_sqlite(db: Path) -> None:
    """Raise StoreError if ``db`` exists but is not a readable SQLite database."""
    try:
        with open(db, "rb") as handle:
            header = handle.read(16)
    except PermissionError:
        raise StoreError(_("Cannot read {db}. Do you have permission to read that folder?", db=db))
    except IsADirectoryError:
        raise StoreError(_("{db} is a folder, not a database. Did you mean its parent folder?", db=db))
    if header and header != b"SQLite format 3\x00":
        raise StoreError(_("{db} is not an SQLite database. Run `python -m labkit reset` to back it up "
                           "and start a fresh store.", db=db))
    try:
        sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True).execute("select 1").close()
    except sqlite3.Error as exc:
        raise StoreError(_("{db} cannot be opened ({error}). Run `python -m labkit reset`?", db=db, error=exc))


@dataclass(frozen=True)
class Location:
    """A store checked by ``open_store``, and where to read it."""

    uri: str  # the store's URI, as configured (what messages show)
    read_uri: str  # what to read: the URI itself, or its snapshot's
    database: Path | None = None  # a local store's SQLite file
    folder: Path | None = None  # a local store's folder: artifacts that moved are looked for beside it


def open_store(uri: str | None = None, *, timeout: float = 5.0, snapshot: Path | None = None,
               create: bool = False) -> Location:
    """Check the store at ``uri`` (default: the lab's) and say where to read it; StoreError, one line
    that names the fix, when it cannot be used.

    - a tracking server: fail fast when it is down or hung, then /health and the sign-in;
    - a local SQLite file: with ``snapshot``, it must hold something, and is copied into that file
      through a read-only connection (the grader reads the copy); else it is checked if it exists,
      and with ``create`` made with the lab's experiments (the task scripts);
    - another database (e.g. PostgreSQL): MLflow opens it as it is.
    """
    uri = uri or tracking_uri()
    if is_remote(uri):
        fail_fast()
        check_server(uri, timeout=timeout)
        return Location(uri, uri)
    db = sqlite_path(uri)
    if db is None:
        return Location(uri, uri)
    if snapshot is not None:
        db = Path(os.path.abspath(db))
        snapshot_sqlite(db, snapshot)
        return Location(uri, "sqlite:///" + snapshot.as_posix(), db, db.parent)
    if db.exists():
        check_sqlite(db)
    if create:
        _create_local_store(uri)
    return Location(uri, uri, db, db.parent)


def prepare_lab_store(create: bool = True) -> str:
    """Check the lab's store, create it and the lab's experiments if needed; return its URI.

    It does not point MLflow at the store: a task script does that itself, visibly, with
    ``mlflow.set_tracking_uri(labkit.start(...))``.
    """
    fail_fast()
    return open_store(create=create).uri


SQLITE_HEADER = b"SQLite format 3\x00"
FIRST_TASK = names.SCRIPTS["task1"]


def snapshot_sqlite(db: Path, copy: Path) -> None:
    """Copy the lab's database into ``copy``, reading it only; StoreError if it is unusable."""
    check_readable(db)
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
        raise StoreError(_(
            "{db} cannot be read as a database ({error}). "
            "Is it corrupt? `python -m labkit reset` backs it up and starts a fresh store.", db=db, error=exc,
        )) from None
    if empty:
        raise StoreError(_("The tracking store {db} is empty. Did you run {script} yet?", db=db,
                           script=FIRST_TASK))


def check_readable(db: Path) -> None:
    """StoreError, with the fix, unless ``db`` is a readable SQLite file with something in it."""
    try:
        size = db.stat().st_size
        with open(db, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        raise StoreError(_("No tracking store at {db}. Did you run {script} yet?", db=db,
                           script=FIRST_TASK)) from None
    except NotADirectoryError:
        parent = next((p for p in db.parents if p.is_file()), db.parent)
        raise StoreError(_(
            "Cannot read {db}: {parent} is a file, not a folder. Is MLFLOW_TRACKING_URI right?",
            db=db, parent=parent,
        )) from None
    except IsADirectoryError:
        raise StoreError(_("{db} is a folder, not a database. Is MLFLOW_TRACKING_URI right?", db=db)) from None
    except PermissionError:
        raise StoreError(_("Cannot read {db}. Do you have permission to read that folder?", db=db)) from None
    if size == 0:
        raise StoreError(_("The tracking store {db} is empty. Did you run {script} yet?", db=db,
                           script=FIRST_TASK))
    if header != SQLITE_HEADER:
        raise StoreError(_(
            "{db} is not an SQLite database (corrupt?). "
            "`python -m labkit reset` backs it up and starts a fresh store.", db=db,
        ))


def _create_local_store(uri: str) -> None:
    """Create the database and the lab's experiments with artifacts beside the database.

    MLflow would otherwise put artifacts in ``./mlruns`` of whatever folder a script
    runs from; experiments made here carry an absolute artifact location instead.
    """
    if _lab_experiments_ready(sqlite_path(uri)):
        return  # the common case: nothing to create, and no second store to open
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    root = artifact_root_for(uri)
    root.mkdir(parents=True, exist_ok=True)
    store = SqlAlchemyStore(uri, root.as_uri())
    for name in names.EXPERIMENTS.values():
        experiment = store.get_experiment_by_name(name)
        if experiment is None:
            store.create_experiment(name, artifact_location=(root / name).as_uri())
        elif experiment.lifecycle_stage == "deleted":
            store.restore_experiment(experiment.experiment_id)
            print(_("Restored the experiment '{name}', which had been deleted.", name=name))


def _lab_experiments_ready(db: Path) -> bool:
    """True if the database already holds every lab experiment, active."""
    if not db.exists():
        return False
    try:
        connection = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            rows = connection.execute(
                "SELECT name FROM experiments WHERE lifecycle_stage = 'active'"
            ).fetchall()
        finally:
            connection.close()
    except sqlite3.Error:
        return False
    return set(names.EXPERIMENTS.values()) <= {row[0] for row in rows}


def backup_and_reset(db: Path = STORE_DB, artifacts: Path = ARTIFACTS_DIR,
                     backups: Path = BACKUPS_DIR) -> Path | None:
    """Move the store, its artifacts and the hint levels reached on it into a new timestamped
    backup folder (the levels start afresh with the store).

    Nothing is deleted: the returned folder holds the whole previous store.
    Returns None when there was nothing to back up.
    """
    present = [p for p in (db, artifacts, hint_levels_file(db)) if p.exists()]
    if not present:
        return None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = backups / f"store-{stamp}"
    suffix = 1
    while target.exists():
        suffix += 1
        target = backups / f"store-{stamp}-{suffix}"
    target.mkdir(parents=True)
    for path in present:
        shutil.move(str(path), str(target / path.name))
    return target

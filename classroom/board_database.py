"""The board's look at the workspaces straight from the tracking database, read-only.

The class server answers each search through its auth plugin, which checks the grading
user's permissions resource by resource: most of a look's cost (bench/bench_board.py). A look
can instead read the database itself through MLflow's own store classes (the workspace-aware
SqlAlchemy tracking and model-registry stores), signed in as a PostgreSQL role that may only
SELECT: least privilege then lives in PostgreSQL's grants (``create_reader`` makes the role),
and the same searches answer the same entities, so the fingerprint is the one
classroom/board_changes.py computes over HTTP.

MLflow's stores write once when they open (the Default experiment of the default workspace,
made if missing); a read-only role cannot, so these stores skip that step: the class server
made it long ago.

A refresh where nobody changed should not cost three searches per workspace: ``survey`` first
reads, in one query per table of MLflow's (named by MLflow's own SQLAlchemy models, every column
of each), a digest of each workspace's rows: its experiments and their tags, its runs with their
tags, params, latest metrics and inputs/outputs, its logged models, and its registry. A workspace
whose digest is the one it had when it was last looked at gets its last fingerprint again without
a look; any other is looked at through the stores as before, so the fingerprint stays the one
HTTP gives. The digest covers more than a fingerprint reads (deleted runs, every registry
table), so it may send the board to look when nothing that counts changed, never the other way.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import defaultdict

from classroom.board_changes import Fingerprint, fingerprint
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

VARIABLE = "CLASS_BOARD_DATABASE_URI"  # the read-only role's URI (a secret: never on a command line)
READER_ROLE = "mlflow_board_reader"
RUNS_PAGE = 1000
REGISTRY_PAGE = 100
NULL = "~null~"  # a column without a value, in a row's text


def create_reader(admin_connection, database: str, role: str = READER_ROLE) -> str:
    """Make (or give a new password to) a PostgreSQL role that can read every table of
    ``database`` and write none; its password. ``admin_connection``: a psycopg2 connection of
    a role that may create roles (autocommit)."""
    from psycopg2 import sql

    password = secrets.token_urlsafe(24)
    with admin_connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        verb = "ALTER" if cursor.fetchone() else "CREATE"
        cursor.execute(sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %s")
                       .format(sql.Identifier(role)), (password,))
        for statement in ("GRANT CONNECT ON DATABASE {db} TO {role}",
                          "GRANT USAGE ON SCHEMA public TO {role}",
                          "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
                          "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role}",
                          "ALTER ROLE {role} SET default_transaction_read_only = on"):
            cursor.execute(sql.SQL(statement).format(db=sql.Identifier(database), role=sql.Identifier(role)))
    return password


class ReadOnlyStores:
    """MLflow's workspace-aware tracking and registry stores on ``database_uri``, opened without
    writing; each search reads the workspace the calling thread set (ServerWorkspaceContext)."""

    def __init__(self, database_uri: str) -> None:
        from mlflow.store.model_registry.sqlalchemy_workspace_store import (
            WorkspaceAwareSqlAlchemyStore as Registry,
        )
        from mlflow.store.tracking.sqlalchemy_workspace_store import WorkspaceAwareSqlAlchemyStore as Tracking

        class ReadingTracking(Tracking):
            _workspaces_enabled = staticmethod(lambda: True)  # as the class server (without its variable)

            def _initialize_store_state(self) -> None:  # its only write: the Default experiment
                pass

        class ReadingRegistry(Registry):
            _workspaces_enabled = staticmethod(lambda: True)

        self.tracking = ReadingTracking(database_uri, default_artifact_root=None)
        self.registry = ReadingRegistry(database_uri)

    # The three searches a look makes, with MlflowClient's defaults (board_changes._read).

    def search_experiments(self, page_token=None):
        from mlflow.entities import ViewType

        return self.tracking.search_experiments(view_type=ViewType.ACTIVE_ONLY, max_results=RUNS_PAGE,
                                                page_token=page_token)

    def search_runs(self, experiment_ids, page_token=None):
        from mlflow.entities import ViewType

        return self.tracking.search_runs(experiment_ids, "", ViewType.ACTIVE_ONLY, RUNS_PAGE, None, page_token)

    def search_registered_models(self, page_token=None):
        return self.registry.search_registered_models(max_results=REGISTRY_PAGE, page_token=page_token)


def can_write(engine) -> bool:
    """Can the role ``engine`` signs in as change any table of the database (or is it a superuser)?"""
    import sqlalchemy

    query = sqlalchemy.text(
        "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR EXISTS ("
        " SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND has_table_privilege("
        " quote_ident(schemaname) || '.' || quote_ident(tablename), 'INSERT, UPDATE, DELETE, TRUNCATE'))")
    with engine.connect() as connection:
        return bool(connection.execute(query).scalar())


def _sources() -> list[tuple]:
    """``(name, workspace column, row text, FROM clause)`` for each table whose rows a look can see:
    MLflow's own tables and columns (its SQLAlchemy models), every column of each row."""
    from functools import reduce

    import sqlalchemy as sa
    from mlflow.store.model_registry.dbmodels import models as registry
    from mlflow.store.tracking.dbmodels import models as tracking

    def text(table):
        parts = [sa.func.coalesce(sa.cast(column, sa.Text), sa.literal(NULL)) for column in table.columns]
        return reduce(lambda a, b: a.op("||")(sa.literal("\x1f")).op("||")(b), parts)

    experiments, runs = tracking.SqlExperiment.__table__, tracking.SqlRun.__table__
    of_run = runs.join(experiments, runs.c.experiment_id == experiments.c.experiment_id)
    found = [("experiments", experiments.c.workspace, text(experiments), experiments)]
    for model in (tracking.SqlExperimentTag, tracking.SqlLoggedModel):
        table = model.__table__
        found.append((table.name, experiments.c.workspace, text(table),
                      table.join(experiments, table.c.experiment_id == experiments.c.experiment_id)))
    found.append(("runs", experiments.c.workspace, text(runs), of_run))
    for model in (tracking.SqlTag, tracking.SqlParam, tracking.SqlLatestMetric):
        table = model.__table__
        found.append((table.name, experiments.c.workspace, text(table),
                      table.join(of_run, table.c.run_uuid == runs.c.run_uuid)))
    inputs = tracking.SqlInput.__table__  # a run's datasets (it is their destination) and models (their source)
    for end in (inputs.c.destination_id, inputs.c.source_id):
        found.append((f"{inputs.name}.{end.name}", experiments.c.workspace, text(inputs),
                      inputs.join(of_run, end == runs.c.run_uuid)))
    for model in (registry.SqlRegisteredModel, registry.SqlModelVersion, registry.SqlRegisteredModelTag,
                  registry.SqlModelVersionTag, registry.SqlRegisteredModelAlias):
        table = model.__table__
        found.append((table.name, table.c.workspace, text(table), table))
    return found


def workspace_digests(engine) -> dict[str, str]:
    """Every workspace that holds anything, with a digest of all its rows (``survey``'s one pass):
    on PostgreSQL each table's rows are digested in the database, elsewhere here."""
    import sqlalchemy as sa

    from sqlalchemy.dialects.postgresql import aggregate_order_by

    postgres = engine.dialect.name == "postgresql"
    parts: dict[str, list[str]] = defaultdict(list)
    with engine.connect() as connection:
        for name, workspace, text, source in _sources():
            if postgres:
                digest = sa.func.md5(sa.func.string_agg(text, aggregate_order_by(sa.literal("\n"), text)))
                for found, value in connection.execute(sa.select(workspace, digest).select_from(source)
                                                       .group_by(workspace)):
                    parts[found].append(f"{name}:{value}")
                continue
            lines: dict[str, list[str]] = defaultdict(list)
            for found, line in connection.execute(sa.select(workspace, text).select_from(source)):
                lines[found].append(line)
            for found, rows in lines.items():
                parts[found].append(f"{name}:{_digest(chr(10).join(sorted(rows)))}")
    return {found: _digest(" ".join(items)) for found, items in parts.items()}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


EMPTY = _digest("")  # a workspace without a row yet


class DatabaseLooker:
    """``look(workspace[, deadline_ms]) -> Fingerprint`` reading the database (safe from many
    threads). After ``survey()``, a workspace whose rows are as they were at its last look gets
    that look's fingerprint again without reading it."""

    def __init__(self, stores: ReadOnlyStores, as_of_ms: int | None = None) -> None:
        self.stores = stores
        self.as_of_ms = as_of_ms
        self.digests: dict[str, str] | None = None  # the last survey's, None before one (or when it failed)
        self.seen: dict[tuple, tuple[str, Fingerprint]] = {}  # (workspace, deadline) -> (digest, fingerprint)
        self.lock = threading.Lock()

    def survey(self) -> None:
        """Take every workspace's digest (one query per table), before the looks of a refresh."""
        try:
            digests = workspace_digests(self.stores.tracking.engine)
        except Exception:  # noqa: BLE001 - the looks then read every workspace, and say what fails
            digests = None
        with self.lock:
            self.digests = digests

    def __call__(self, workspace: str, deadline_ms: int | None | object = ...) -> Fingerprint:
        deadline_ms = self.as_of_ms if deadline_ms is ... else deadline_ms  # None: no deadline
        key = (workspace, deadline_ms)
        with self.lock:
            digest = None if self.digests is None else self.digests.get(workspace, EMPTY)
            kept = self.seen.get(key)
        if digest is not None and kept is not None and kept[0] == digest:
            return kept[1]
        # The digest was taken before this look: a change made in between is in the look, and
        # makes the next survey's digest differ, so it is looked at again then.
        found = fingerprint(self.stores, workspace, deadline_ms)
        with self.lock:
            if digest is not None and not found.error:
                self.seen[key] = (digest, found)
            else:
                self.seen.pop(key, None)
        return found


def database_looker(database_uri: str, as_of_ms: int | None = None) -> DatabaseLooker:
    """A ``DatabaseLooker`` on ``database_uri``. ServerError, in one line, when the database cannot
    be read or the role could write to it."""
    from classroom.server import ServerError

    try:
        stores = ReadOnlyStores(database_uri)
        writes = can_write(stores.tracking.engine)
    except Exception as exc:  # noqa: BLE001 - MLflow's and SQLAlchemy's errors, as one line naming the fix
        reason = " ".join(str(exc).split())[:200]
        raise ServerError(_("The board cannot read the tracking database {variable} names ({reason}). "
                            "Is the role's password right, and may it connect?", variable=VARIABLE,
                            reason=reason)) from None
    if writes:
        raise ServerError(_("The role in {variable} can change the tracking database: the board reads it "
                            "only with a read-only role. Make one as INSTRUCTORS.md shows.", variable=VARIABLE))
    return DatabaseLooker(stores, as_of_ms)

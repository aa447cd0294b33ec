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
"""

from __future__ import annotations

import secrets

from classroom.board_changes import Fingerprint, fingerprint
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

VARIABLE = "CLASS_BOARD_DATABASE_URI"  # the read-only role's URI (a secret: never on a command line)
READER_ROLE = "mlflow_board_reader"
RUNS_PAGE = 1000
REGISTRY_PAGE = 100


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


def database_looker(database_uri: str, as_of_ms: int | None = None):
    """``look(workspace[, deadline_ms]) -> Fingerprint`` reading the database (safe from many threads).
    ServerError, in one line, when the database cannot be read or the role could write to it."""
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

    def look(workspace: str, deadline_ms: int | None = as_of_ms) -> Fingerprint:
        return fingerprint(stores, workspace, deadline_ms)

    return look

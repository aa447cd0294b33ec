"""The class server's sign-in: MLflow's basic auth, and the list of users for the admin only.

MLflow lets any member of a workspace list every user of the server
(``GET /api/2.0/mlflow/users/list``, for its reviewer picker): on a class server, every
student would see every classmate's username. MLflow's auth configuration names the
function that checks each request (``authorization_function`` in basic_auth.ini, see
classroom/server.py); this one is MLflow's own check, which then refuses that one list
to anyone who is not an admin. It also notes, in the server log, each signed-in request that
was answered 403, with the user (MLflow's access log has no user): ``python -m classroom audit``
reads those lines (classroom/audit.py). Nothing else changes.
"""

from __future__ import annotations

import logging

import sys

from flask import Response, after_this_request, g, has_request_context, request
from mlflow.server import auth as basic_auth

from classroom.audit import denial_line
from classroom.server import redact

ADMIN_ONLY_PATHS = ("/mlflow/users/list",)  # under /api/2.0/ and /ajax-api/2.0/
# MLflow's loggers whose lines can carry a database URI with its password: deleting a workspace
# logs "Run 'mlflow gc --backend-store-uri postgresql+psycopg2://mlflow:<password>@...'".
URI_LOGGERS = ("mlflow.store.workspace.sqlalchemy_store", "mlflow")


class RedactPasswords(logging.Filter):
    """Keep the password out of any log line that holds a URI with one (the server log is a file)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "://" in message:
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


def keep_passwords_out_of_logs() -> None:
    """Filter the loggers that can print a URI, and every handler the server's logging has (a
    logger's filter sees only its own lines; a handler's sees every line it writes)."""
    redacting = RedactPasswords()
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in URI_LOGGERS)]
    for logger in loggers:
        if redacting not in logger.filters:
            logger.addFilter(redacting)
        for handler in logger.handlers:
            if not any(isinstance(f, RedactPasswords) for f in handler.filters):
                handler.addFilter(redacting)


# The server imports this module (basic_auth.ini's authorization_function) before it handles the
# first request of each worker, so before any request can delete a workspace.
keep_passwords_out_of_logs()


def authenticate():
    """``authorization_function`` for basic_auth.ini: MLflow's check, then the admin-only paths."""
    authorization = basic_auth.authenticate_request_basic_auth()
    if not isinstance(authorization, Response):
        note_if_denied(authorization.username)
    if isinstance(authorization, Response) or not request.path.endswith(ADMIN_ONLY_PATHS):
        return authorization
    if basic_auth.store.get_user(authorization.username).is_admin:
        return authorization
    return basic_auth.make_forbidden_response()


def note_if_denied(username: str) -> None:
    """Once per request: when its answer is 403, write its denial line to the server log."""
    if not has_request_context() or getattr(g, "classroom_audit", False):
        return
    g.classroom_audit = True
    workspace = request.headers.get("X-MLflow-Workspace")
    method, path = request.method, request.path
    query = request.query_string.decode("utf-8", "replace")
    if method in ("POST", "PATCH", "DELETE") and not query:  # what it aimed at is in the body
        query = body_ids()

    @after_this_request
    def _note(response):
        if response.status_code == 403:
            print(denial_line(username, workspace, method, path, query, response.status_code),
                  file=sys.stderr, flush=True)
        return response


def body_ids() -> str:
    """The ids and name a JSON body names (``run_id=...&experiment_id=...``), as a query would."""
    body = request.get_json(silent=True)  # Flask keeps it: MLflow's handler reads the same
    if not isinstance(body, dict):
        return ""
    return "&".join(f"{key}={body[key]}" for key in IDS if isinstance(body.get(key), (str, int)))


IDS = ("experiment_id", "run_id", "model_id", "name", "version")

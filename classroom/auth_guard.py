"""The class server's sign-in: MLflow's basic auth, and the list of users for the admin only.

MLflow lets any member of a workspace list every user of the server
(``GET /api/2.0/mlflow/users/list``, for its reviewer picker): on a class server, every
student would see every classmate's username. MLflow's auth configuration names the
function that checks each request (``authorization_function`` in basic_auth.ini, see
classroom/server.py); this one is MLflow's own check, which then refuses that one list
to anyone who is not an admin. Nothing else changes.
"""

from __future__ import annotations

from flask import Response, request
from mlflow.server import auth as basic_auth

ADMIN_ONLY_PATHS = ("/mlflow/users/list",)  # under /api/2.0/ and /ajax-api/2.0/


def authenticate():
    """``authorization_function`` for basic_auth.ini: MLflow's check, then the admin-only paths."""
    authorization = basic_auth.authenticate_request_basic_auth()
    if isinstance(authorization, Response) or not request.path.endswith(ADMIN_ONLY_PATHS):
        return authorization
    if basic_auth.store.get_user(authorization.username).is_admin:
        return authorization
    return basic_auth.make_forbidden_response()

"""The instructor's credentials: read from the environment, checked against the class
server, lent to MLflow's clients for a block, and kept out of the processes started after.

The commands that read or change every student's workspace (classroom/commands.py, the
board) sign in with them; nothing here imports those commands.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from classroom.server import ServerError, health, signed_in_user
from labkit.i18n import Domain
from labkit.net import FAIL_FAST_ENV

_, N_, _n = Domain("classroom").functions()

ADMIN_HELP = N_("Set MLFLOW_TRACKING_USERNAME=admin and MLFLOW_TRACKING_PASSWORD (or "
                "MLFLOW_AUTH_ADMIN_PASSWORD) to the server's admin password.")
ADMIN_KEYS = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_AUTH_ADMIN_PASSWORD")


def admin_env() -> dict[str, str]:
    """The instructor's credentials, as MLflow reads them; fail fast on a dead server."""
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD") or os.environ.get("MLFLOW_AUTH_ADMIN_PASSWORD")
    if not password:
        raise ServerError(_("No admin password in the environment. {help}", help=ADMIN_HELP))
    return {
        "MLFLOW_TRACKING_USERNAME": os.environ.get("MLFLOW_TRACKING_USERNAME", "admin"),
        "MLFLOW_TRACKING_PASSWORD": password,
        **FAIL_FAST_ENV,
    }


def require_admin(url: str, env: dict[str, str]) -> None:
    """The server answers and takes these credentials as an admin's, or one line that says which not."""
    if not health(url, timeout=5):
        raise ServerError(_("The class server at {url} does not answer. Is it running "
                            "(`python -m classroom status`), and is --server right?", url=url))
    user = env["MLFLOW_TRACKING_USERNAME"]
    who = signed_in_user(url, user, env["MLFLOW_TRACKING_PASSWORD"])
    if who is None:
        raise ServerError(_("The class server refused user '{user}'. {help}", user=user, help=ADMIN_HELP))
    if not who.get("is_admin"):
        raise ServerError(_("User '{user}' is not the server's admin, and this command reads or changes "
                            "every student's workspace. {help}", user=user, help=ADMIN_HELP))


@contextmanager
def signed_in_as(env: dict[str, str]):
    """MLflow's clients in this block use ``env``'s credentials (MLflow reads them per request)."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def forget_admin_credentials() -> None:
    """Keep the admin's password out of every process started from here on (grading children)."""
    for key in ADMIN_KEYS:
        os.environ.pop(key, None)

"""The read-only user the gradebook grades with: never the admin.

Grading reads each student's workspace; it never writes. So the grading children get
the credentials of ``grader``, a user who holds, in each student's workspace, a role
that can read experiments, runs, models and their files and do nothing else: no
workspace membership (so it cannot create anything), no other user's data outside the
class's workspaces, no user administration. The admin's password stays in the
instructor's process.

The grader's password is generated here and kept in ``<state>/grading.env`` (private,
like the connection files); when that file is missing or the server refuses it, a new
password is set with the admin's credentials.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from classroom.connection import read_env_file
from classroom.roles import ensure_role
from classroom.server import signed_in_user
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

GRADER_USERNAME = "grader"
GRADER_ROLE = "grader"
GRADER_DESCRIPTION = N_("The gradebook: reads this workspace's runs and models, changes nothing.")
GRADER_PERMISSIONS = [
    ("experiment", "*", "READ"),
    ("registered_model", "*", "READ"),
]
CREDENTIALS_FILE = "grading.env"


def grading_env(auth, url: str, state: Path, workspaces: list[str]) -> dict[str, str]:
    """The grader's MLflow credentials, with read access to each of ``workspaces``.

    ``auth`` is MLflow's basic-auth client, signed in as the admin.
    """
    password = _password(auth, url, state)
    let_grader_read(auth, workspaces)
    return {"MLFLOW_TRACKING_USERNAME": GRADER_USERNAME, "MLFLOW_TRACKING_PASSWORD": password}


def let_grader_read(auth, workspaces: list[str]) -> None:
    """Give the grading user its read-only role in each of ``workspaces`` that lacks it.

    A workspace made again (``reset``, ``restore``) has lost every role it held: calling this
    then lets the board, which signed the grader in once, grade that student at once."""
    held = {role.workspace for role in auth.list_user_roles(GRADER_USERNAME) if role.name == GRADER_ROLE}
    for workspace in workspaces:
        if workspace not in held:
            role_id, _added = ensure_role(auth, workspace, GRADER_ROLE, GRADER_DESCRIPTION, GRADER_PERMISSIONS)
            auth.assign_role(GRADER_USERNAME, role_id)


def grader_exists(auth) -> bool:
    """Has the gradebook or the board made its grading user on this server yet?"""
    return _exists(auth)


def restore_grader(auth, state: Path) -> bool:
    """Make the grading user again with the password ``<state>/grading.env`` keeps, when the server
    lost it (a new database: a throwaway server started again, a restored dump). A board that runs
    signed the grader in with that password, so it grades again at its next refresh. False when
    there is no such file (no gradebook or board has run: nothing to restore)."""
    stored = _stored(state)
    if not stored:
        return False
    auth.create_user(GRADER_USERNAME, stored)
    return True


def _stored(state: Path) -> str:
    path = state / CREDENTIALS_FILE
    return read_env_file(path).get("MLFLOW_TRACKING_PASSWORD", "") if path.exists() else ""


def _password(auth, url: str, state: Path) -> str:
    path = state / CREDENTIALS_FILE
    stored = _stored(state)
    if stored and signed_in_user(url, GRADER_USERNAME, stored) is not None:
        return stored
    # The stored password again when there is one: a board that runs holds it (the server lost
    # the user, or its password changed), and keeps grading once it signs in again.
    password = stored or secrets.token_urlsafe(18)
    if _exists(auth):
        auth.update_user_password(GRADER_USERNAME, password)
    else:
        auth.create_user(GRADER_USERNAME, password)
    state.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("# " + _("The gradebook's read-only MLflow user (classroom/grading_user.py). Keep private.")
                     + f"\nMLFLOW_TRACKING_USERNAME={GRADER_USERNAME}\nMLFLOW_TRACKING_PASSWORD={password}\n")
    return password


def _exists(auth) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        auth.get_user(GRADER_USERNAME)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return False
        raise
    return True

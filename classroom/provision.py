"""Create each student's workspace, user and role on the class server; idempotent.

Re-running adds the students that are new on the roster and changes nothing else:
an existing user keeps their password and connection file. A student deactivated by
``python -m classroom deactivate`` (see classroom/students.py) is let back in with a new
password and connection file.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from classroom.connection import DEFAULT_EXPERIMENT, env_file, write_env_file
from classroom.roles import ensure_role
from classroom.roster import Student
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

ROLE_NAME = "student"
ROLE_DESCRIPTION = N_("The student who owns this workspace: read it, create and manage runs and models.")
# USE on the workspace: see it, create experiments and models in it (MLflow makes the
# creator their owner). MANAGE on every experiment and model of the workspace too, so
# that untouched scripts can log to the workspace's own Default experiment, which the
# server created. A role lives in one workspace: nothing here reaches another one.
ROLE_PERMISSIONS = [
    ("workspace", "*", "USE"),
    ("experiment", "*", "MANAGE"),
    ("registered_model", "*", "MANAGE"),
]
# A deactivated student holds this role, with no permission, in their workspace instead of
# the student role: the server itself remembers who was deactivated.
DEACTIVATED_ROLE = "deactivated"
DEACTIVATED_DESCRIPTION = N_("A deactivated student: no access. `python -m classroom provision --reset-password` "
                             "lets them back in.")
# What provisioning added to a workspace that lacked it (Outcome.detail of "repaired").
CHANGE_WORDS = {"workspace": N_("workspace"), "Default experiment": N_("Default experiment"),
                "role": N_("role"), "user": N_("user"), "reactivated": N_("reactivated"),
                "password": N_("password")}


@contextmanager
def in_workspace(workspace: str):
    """MLflow's client calls in this block go to ``workspace`` (MLflow reads it per request)."""
    saved = os.environ.get("MLFLOW_WORKSPACE")
    os.environ["MLFLOW_WORKSPACE"] = workspace
    try:
        yield
    finally:
        if saved is None:
            del os.environ["MLFLOW_WORKSPACE"]
        else:
            os.environ["MLFLOW_WORKSPACE"] = saved


@dataclass
class Outcome:
    student: Student
    status: str  # "created", "unchanged", "repaired", "password-reset", "reactivated", "missing-file"
    detail: str = ""


class Provisioner:
    """Talks to the server as the admin (credentials from the environment, as MLflow reads them)."""

    def __init__(self, server_url: str, public_url: str, out: Path, state: Path | None = None) -> None:
        import warnings

        import mlflow

        with warnings.catch_warnings():  # the server's modules warn about their own imports
            warnings.simplefilter("ignore")
            from mlflow.server import get_app_client

            self.auth = get_app_client("basic-auth", tracking_uri=server_url)
        self.url = server_url
        self.public_url = public_url
        self.out = out
        self.client = mlflow.MlflowClient(tracking_uri=server_url)
        self.workspaces = {w.name for w in self.client.list_workspaces()}
        self._grader: bool | None = None  # does the grading user exist (asked once)?
        self.state = state  # where grading.env is: a grader the server lost is made again from it

    def provision(self, student: Student, reset_password: bool = False) -> Outcome:
        held = None if reset_password else self._left_inactive(student)
        if held is not None:
            return held
        role_id, changes = self.ensure_workspace(student)
        file = env_file(self.out, student.username)
        if not self.user_exists(student.username):
            self._set_password(student, file, new_user=True)
            changes.append("user")
        elif self._reactivate(student):
            self._set_password(student, file, new_user=False)
            changes.append("reactivated")
        elif reset_password:
            self._set_password(student, file, new_user=False)
            changes.append("password")
        if role_id not in {role.id for role in self.auth.list_user_roles(student.username)}:
            self.auth.assign_role(student.username, role_id)
            changes.append("role")
        self.let_grader_read(student.workspace)
        return self._outcome(student, changes, file)

    def let_grader_read(self, workspace: str) -> None:
        """Once the gradebook or the board made its grading user, give it read access to
        ``workspace`` here: a board that runs now grades a new (or reset) student at its next
        refresh, without a restart (classroom/grading_user.py)."""
        from classroom.grading_user import grader_exists, let_grader_read, restore_grader

        if self._grader is None:
            self._grader = grader_exists(self.auth) or (self.state is not None
                                                        and restore_grader(self.auth, self.state))
        if self._grader:
            let_grader_read(self.auth, [workspace])

    def ensure_workspace(self, student: Student) -> tuple[int, list[str]]:
        """The student's workspace, its Default experiment and its student role (their id)."""
        changes = []
        if student.workspace not in self.workspaces:
            self.client.create_workspace(student.workspace, description=_(
                "Lab work of {student}", student=student.name or student.username))
            self.workspaces.add(student.workspace)
            changes.append("workspace")
        if self._ensure_default_experiment(student.workspace):
            changes.append("Default experiment")
        role_id, changed = ensure_role(self.auth, student.workspace, ROLE_NAME, ROLE_DESCRIPTION, ROLE_PERMISSIONS)
        if changed:
            changes.append("role")
        return role_id, changes

    def forget_workspace(self, workspace: str) -> None:
        self.workspaces.discard(workspace)

    def deactivated_role(self, username: str):
        return next((r for r in self.auth.list_user_roles(username)
                     if r.name == DEACTIVATED_ROLE and r.workspace == username), None)

    def _left_inactive(self, student: Student) -> Outcome | None:
        """A student the instructor deactivated or removed stays so when provision runs again for
        the roster (students added later): only ``--reset-password`` lets them back in."""
        from classroom import inactive

        note = inactive.read(self.state).get(student.username) if self.state is not None else None
        if self.user_exists(student.username):
            if self.deactivated_role(student.username) is None:
                return None
            return Outcome(student, "left-inactive", _(
                "(deactivated): `--reset-password {username}` lets them back in",
                username=student.username))
        if note is not None and note.get("status") == inactive.DEACTIVATED:  # a new database lost the user
            return Outcome(student, "left-inactive", _(
                "(deactivated): `--reset-password {username}` lets them back in",
                username=student.username))
        if note is not None and note.get("status") == inactive.REMOVED:
            return Outcome(student, "left-inactive", _(
                "(removed on {since}): `--reset-password {username}` makes them again, "
                "`restore` brings their work back", since=note.get("since"), username=student.username))
        return None

    def _reactivate(self, student: Student) -> bool:
        """Lift a deactivation (the caller gives a new password); False if there was none."""
        marker = self.deactivated_role(student.username)
        if marker is None:
            return False
        self.auth.unassign_role(student.username, marker.id)
        return True

    def _outcome(self, student: Student, changes: list[str], file: Path) -> Outcome:
        if "user" in changes:
            return Outcome(student, "created", str(file))
        if "reactivated" in changes:
            return Outcome(student, "reactivated", _("(new password) {file}", file=file))
        if "password" in changes:
            return Outcome(student, "password-reset", str(file))
        if not file.exists():
            return Outcome(student, "missing-file",
                           _("user exists but {file} is missing: re-run with --reset-password {username}",
                             file=file, username=student.username))
        if changes:
            added = ", ".join(str(CHANGE_WORDS.get(c, c)) for c in dict.fromkeys(changes))
            return Outcome(student, "repaired", _("added {what}", what=added))
        return Outcome(student, "unchanged")

    def _ensure_default_experiment(self, workspace: str) -> bool:
        """A workspace starts with no experiment, and MLflow's fallback (id 0) lives in the
        server's own default workspace. Scripts that set no experiment (untouched TODO 1.1)
        log to this one instead: the connection file names it in MLFLOW_EXPERIMENT_NAME."""
        with in_workspace(workspace):
            if self.client.get_experiment_by_name(DEFAULT_EXPERIMENT) is not None:
                return False
            self.client.create_experiment(DEFAULT_EXPERIMENT)
            return True

    def user_exists(self, username: str) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            self.auth.get_user(username)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return False
            raise
        return True

    def _set_password(self, student: Student, file: Path, new_user: bool) -> None:
        password = secrets.token_urlsafe(18)  # 24 characters
        if new_user:
            self.auth.create_user(student.username, password)
        else:
            self.auth.update_user_password(student.username, password)
        write_env_file(file, self.public_url, student.username, password)

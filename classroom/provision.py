"""Create each student's workspace, user and role on the class server; idempotent.

Re-running adds the students that are new on the roster and changes nothing else:
an existing user keeps their password and connection file.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from classroom.connection import env_file, write_env_file
from classroom.roster import Student
from grader import lab

ROLE_NAME = "student"
ROLE_DESCRIPTION = "The student who owns this workspace: read it, create and manage runs and models."
# USE on the workspace: see it, create experiments and models in it (MLflow makes the
# creator their owner). MANAGE on every experiment and model of the workspace too, so
# that untouched scripts can log to the workspace's own Default experiment, which the
# server created. A role lives in one workspace: nothing here reaches another one.
ROLE_PERMISSIONS = [
    ("workspace", "*", "USE"),
    ("experiment", "*", "MANAGE"),
    ("registered_model", "*", "MANAGE"),
]


@dataclass
class Outcome:
    student: Student
    status: str  # "created", "unchanged", "repaired", "password-reset", "missing-file"
    detail: str = ""


class Provisioner:
    """Talks to the server as the admin (credentials from the environment, as MLflow reads them)."""

    def __init__(self, server_url: str, public_url: str, out: Path) -> None:
        import warnings

        import mlflow

        with warnings.catch_warnings():  # the server's modules warn about their own imports
            warnings.simplefilter("ignore")
            from mlflow.server import get_app_client

        self.url = server_url
        self.public_url = public_url
        self.out = out
        self.client = mlflow.MlflowClient(tracking_uri=server_url)
        self.auth = get_app_client("basic-auth", tracking_uri=server_url)
        self.workspaces = {w.name for w in self.client.list_workspaces()}

    def provision(self, student: Student, reset_password: bool = False) -> Outcome:
        changes = []
        if student.workspace not in self.workspaces:
            self.client.create_workspace(student.workspace, description=f"Lab work of {student.name or student.username}")
            self.workspaces.add(student.workspace)
            changes.append("workspace")
        if self._ensure_default_experiment(student.workspace):
            changes.append("Default experiment")
        file = env_file(self.out, student.username)
        if not self._user_exists(student.username):
            self._set_password(student, file, new_user=True)
            changes.append("user")
        elif reset_password:
            self._set_password(student, file, new_user=False)
            changes.append("password")
        role_id = self._student_role(student.workspace, changes)
        if role_id not in {role.id for role in self.auth.list_user_roles(student.username)}:
            self.auth.assign_role(student.username, role_id)
            changes.append("role")
        return self._outcome(student, changes, file)

    def _outcome(self, student: Student, changes: list[str], file: Path) -> Outcome:
        if "user" in changes:
            return Outcome(student, "created", str(file))
        if "password" in changes:
            return Outcome(student, "password-reset", str(file))
        if not file.exists():
            return Outcome(student, "missing-file",
                           f"user exists but {file} is missing: re-run with --reset-password {student.username}")
        if changes:
            return Outcome(student, "repaired", "added " + ", ".join(dict.fromkeys(changes)))
        return Outcome(student, "unchanged")

    def _ensure_default_experiment(self, workspace: str) -> bool:
        """A workspace starts with no experiment, and MLflow's fallback (id 0) lives in the
        server's own default workspace. Scripts that set no experiment (untouched TODO 1.1)
        log to this one instead: the connection file names it in MLFLOW_EXPERIMENT_NAME."""
        import os

        saved = os.environ.get("MLFLOW_WORKSPACE")
        os.environ["MLFLOW_WORKSPACE"] = workspace
        try:
            if self.client.get_experiment_by_name(lab.DEFAULT_EXPERIMENT) is not None:
                return False
            self.client.create_experiment(lab.DEFAULT_EXPERIMENT)
            return True
        finally:
            if saved is None:
                del os.environ["MLFLOW_WORKSPACE"]
            else:
                os.environ["MLFLOW_WORKSPACE"] = saved

    def _user_exists(self, username: str) -> bool:
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

    def _student_role(self, workspace: str, changes: list[str]) -> int:
        role = next((r for r in self.auth.list_roles(workspace) if r.name == ROLE_NAME), None)
        granted = set()
        if role is None:
            role = self.auth.create_role(workspace, ROLE_NAME, ROLE_DESCRIPTION)
        else:
            granted = {(p.resource_type, p.resource_pattern, p.permission)
                       for p in self.auth.list_role_permissions(role.id)}
        for permission in ROLE_PERMISSIONS:
            if permission not in granted:
                self.auth.add_role_permission(role.id, *permission)
                changes.append("role")
        return role.id

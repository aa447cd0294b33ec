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

ROLE_NAME = "student"
ROLE_DESCRIPTION = "The student who owns this workspace: read it, create and manage runs and models."
# USE on the workspace: see it, create experiments and models in it; MLflow makes the
# creator the owner (MANAGE) of what they create. Nothing outside the workspace.
ROLE_PERMISSION = ("workspace", "*", "USE")


@dataclass
class Outcome:
    student: Student
    status: str  # "created", "unchanged", "repaired", "password-reset", "missing-file"
    detail: str = ""


class Provisioner:
    """Talks to the server as the admin (credentials from the environment, as MLflow reads them)."""

    def __init__(self, server_url: str, public_url: str, out: Path) -> None:
        import mlflow
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
            return Outcome(student, "repaired", "added " + ", ".join(changes))
        return Outcome(student, "unchanged")

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
        for role in self.auth.list_roles(workspace):
            if role.name == ROLE_NAME:
                return role.id
        role = self.auth.create_role(workspace, ROLE_NAME, ROLE_DESCRIPTION)
        self.auth.add_role_permission(role.id, *ROLE_PERMISSION)
        changes.append("role")
        return role.id

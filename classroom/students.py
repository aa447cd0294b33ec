"""One student at a time: reset, deactivate, remove, restore.

Nothing of a student's is deleted before a backup of their workspace is taken and read
back whole (classroom/backup.py); the backup's folder is printed, and ``restore``
brings it back. MLflow's basic auth has no "disabled" flag: deactivating a student
replaces their password with a random one nobody knows, takes their role (and any
permission they were given on their own experiments and models) away, and marks them
with a ``deactivated`` role; their data stays. ``provision --reset-password`` lets them back
in with a new password (a plain ``provision`` leaves them out: classroom/provision.py).
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from classroom.backup import BackupError, take_backup
from classroom.connection import env_file
from classroom.messages import message_file
from classroom.provision import (DEACTIVATED_DESCRIPTION, DEACTIVATED_ROLE, ROLE_NAME, Provisioner,
                                 in_workspace)
from classroom.restore import Restorer
from classroom.roles import ensure_role
from classroom.roster import Student, check_username
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

class StudentOperations:
    """Talks to the server as the admin (credentials from the environment, as MLflow reads them)."""

    def __init__(self, server_url: str, connections: Path, backups: Path) -> None:
        self.url = server_url
        self.connections = connections
        self.backups = backups
        self.provisioner = Provisioner(server_url, server_url, connections)
        self.client = self.provisioner.client
        self.auth = self.provisioner.auth

    def student(self, username: str, must_exist: bool = True) -> Student:
        check_username(username, "USERNAME")
        if must_exist and username not in self.provisioner.workspaces:
            raise BackupError(_("There is no workspace '{username}' on {url}. Is the username right?",
                                username=username, url=self.url))
        return Student(username)

    def backup(self, username: str) -> Path:
        """Take and check a backup of the student's workspace; its folder."""
        folder = self.backups / username / time.strftime("%Y%m%d-%H%M%S")
        while folder.exists():
            folder = folder.with_name(folder.name + "-1")
        take_backup(self.client, username, self.url, folder)
        return folder

    def reset(self, username: str) -> Path:
        """Back up, then empty the workspace: the student starts again, same password."""
        student = self.student(username)
        folder = self.backup(username)
        self._delete_workspace(username)
        role_id, _changes = self.provisioner.ensure_workspace(student)
        if self.provisioner.user_exists(username) and self.provisioner.deactivated_role(username) is None:
            self.auth.assign_role(username, role_id)
        self._let_grader_read(username)
        return folder

    def remove(self, username: str) -> Path:
        """Back up, then delete the workspace, the user and their connection file."""
        self.student(username)
        folder = self.backup(username)
        self._delete_workspace(username)
        if self.provisioner.user_exists(username):
            self.auth.delete_user(username)
        env_file(self.connections, username).unlink(missing_ok=True)
        message_file(self.connections, username).unlink(missing_ok=True)  # it holds the old password
        return folder

    def deactivate(self, username: str) -> None:
        """No more access, data kept: random password, role and own permissions taken away."""
        student = self.student(username)
        if not self.provisioner.user_exists(username):
            raise BackupError(_("There is no user '{username}' on {url}. Is the username right?",
                                username=username, url=self.url))
        self.auth.update_user_password(username, secrets.token_urlsafe(24))  # known to nobody
        for role in self.auth.list_user_roles(username):
            if role.workspace == student.workspace and role.name == ROLE_NAME:
                self.auth.unassign_role(username, role.id)
        self._revoke_own_permissions(username)
        marker, _added = ensure_role(self.auth, student.workspace, DEACTIVATED_ROLE, DEACTIVATED_DESCRIPTION, [])
        if self.provisioner.deactivated_role(username) is None:
            self.auth.assign_role(username, marker)
        env_file(self.connections, username).unlink(missing_ok=True)
        message_file(self.connections, username).unlink(missing_ok=True)  # it holds the old password

    def restore(self, username: str, folder: Path | None) -> Path:
        """Bring a backup back into the student's (empty or missing) workspace."""
        student = self.student(username, must_exist=False)
        folder = folder or self.latest_backup(username)
        restorer = Restorer(self.client, student.workspace, folder)  # reads and checks it first
        role_id, _changes = self.provisioner.ensure_workspace(student)
        restorer.restore()
        self._let_grader_read(username)
        if self.provisioner.user_exists(username) and self.provisioner.deactivated_role(username) is None:
            if role_id not in {r.id for r in self.auth.list_user_roles(username)}:
                self.auth.assign_role(username, role_id)
        return folder

    def latest_backup(self, username: str) -> Path:
        folders = sorted(p for p in (self.backups / username).glob("*") if p.is_dir())
        if not folders:
            raise BackupError(_("No backup of '{username}' in {folder}. "
                                "Is --backups right, or give the backup's folder with --backup?",
                                username=username, folder=self.backups / username))
        return folders[-1]

    def _let_grader_read(self, username: str) -> None:
        """The workspace was made again, without the grading user's role: give it back (a board
        running now grades this student at its next refresh, without waiting for a gradebook)."""
        self.provisioner.let_grader_read(username)

    def _delete_workspace(self, username: str) -> None:
        """Delete the workspace and all it holds (runs, models, roles): only after a backup."""
        from mlflow.entities import WorkspaceDeletionMode

        self.client.delete_workspace(username, mode=WorkspaceDeletionMode.CASCADE)
        self.provisioner.forget_workspace(username)

    def _revoke_own_permissions(self, username: str) -> None:
        """MLflow gives the creator of an experiment or model MANAGE on it, outside any role."""
        from mlflow.entities import ViewType
        from mlflow.exceptions import MlflowException

        with in_workspace(username):
            resources = [("experiment", e.experiment_id)
                         for e in self.client.search_experiments(view_type=ViewType.ALL)]
            resources += [("registered_model", m.name) for m in self.client.search_registered_models()]
            for resource_type, resource_id in resources:
                try:
                    self.auth.revoke_user_permission(username, resource_type, resource_id)
                except MlflowException as exc:
                    if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                        raise

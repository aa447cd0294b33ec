"""The commands, each a short function over the modules that do the work."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

from classroom.backup import BackupError
from classroom.release import ReleaseError
from classroom.postgres import PostgresError
from classroom.roster import RosterError, read_roster
from classroom.server import ServerError, health, signed_in_user
from grader.deadline import BadDeadline, parse_deadline

ADMIN_HELP = ("Set MLFLOW_TRACKING_USERNAME=admin and MLFLOW_TRACKING_PASSWORD (or "
              "MLFLOW_AUTH_ADMIN_PASSWORD) to the server's admin password.")
ADMIN_KEYS = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_AUTH_ADMIN_PASSWORD")


def admin_env() -> dict[str, str]:
    """The instructor's credentials, as MLflow reads them; fail fast on a dead server."""
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD") or os.environ.get("MLFLOW_AUTH_ADMIN_PASSWORD")
    if not password:
        raise ServerError(f"No admin password in the environment. {ADMIN_HELP}")
    return {
        "MLFLOW_TRACKING_USERNAME": os.environ.get("MLFLOW_TRACKING_USERNAME", "admin"),
        "MLFLOW_TRACKING_PASSWORD": password,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    }


def require_admin(url: str, env: dict[str, str]) -> None:
    """The server answers and takes these credentials as an admin's, or one line that says which not."""
    if not health(url, timeout=5):
        raise ServerError(f"The class server at {url} does not answer. Is it running "
                          "(`python -m classroom status`), and is --server right?")
    user = env["MLFLOW_TRACKING_USERNAME"]
    who = signed_in_user(url, user, env["MLFLOW_TRACKING_PASSWORD"])
    if who is None:
        raise ServerError(f"The class server refused user '{user}'. {ADMIN_HELP}")
    if not who.get("is_admin"):
        raise ServerError(f"User '{user}' is not the server's admin, and this command reads or changes "
                          f"every student's workspace. {ADMIN_HELP}")


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


def provision(args) -> int:
    from classroom.provision import Provisioner

    students = read_roster(args.roster)
    admin = admin_env()
    require_admin(args.server, admin)
    with signed_in_as(admin):
        provisioner = Provisioner(args.server, args.public_url or args.server, args.out)
        counts: dict[str, int] = {}
        for student in students:
            outcome = provisioner.provision(student, student.username in args.reset_password)
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            if outcome.status != "unchanged":
                print(f"{student.username}: {outcome.status} {outcome.detail}".rstrip())
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"{len(students)} students on the roster: {summary}. Connection files: {args.out}")
    return 1 if counts.get("missing-file") else 0


def gradebook(args) -> int:
    from classroom.gradebook import Gradebook
    from classroom.grading_user import grading_env
    from classroom.lms import write_lms_files

    as_of = parse_deadline(args.as_of) if args.as_of is not None else None
    students = read_roster(args.roster)
    admin = admin_env()
    require_admin(args.server, admin)
    with signed_in_as(admin):
        from classroom.provision import Provisioner

        provisioner = Provisioner(args.server, args.server, args.state / "connections")
        workspaces = [s.workspace for s in students if s.workspace in provisioner.workspaces]
        grader = grading_env(provisioner.auth, args.server, args.state, workspaces)
    forget_admin_credentials()
    book = Gradebook(args.server, {**admin, **grader}, args.out, jobs=args.jobs, timeout=args.timeout,
                     as_of=as_of)
    rows = book.grade_all(students)
    written = write_lms_files(args.out, students, rows, args.assignment)
    print(f"LMS import files: {', '.join(str(f) for f in written.files)}", file=sys.stderr)
    if written.without_email:
        print(f"Not in the LMS files (no email in {args.roster}): {', '.join(written.without_email)}",
              file=sys.stderr)
    if book.server_down:
        return 2
    ungraded = [row["student"] for row in rows if row["status"] != "graded"]
    if ungraded:
        print(f"Could not grade {len(ungraded)} of {len(rows)} students: {', '.join(ungraded)} "
              f"(their rows in {args.out / 'gradebook.csv'} say why).", file=sys.stderr)
        return 1
    return 0


def board(args) -> int:
    from classroom.board_server import run

    return run(args)


def serve(args) -> int:
    from classroom.serving import serve as run

    return run(args)


def status(args) -> int:
    from classroom.status import describe

    running, text = describe(args.state)
    print(text)
    return 0 if running else 1


def _operations(args):
    from classroom.students import StudentOperations

    admin = admin_env()
    require_admin(args.server, admin)
    os.environ.update(admin, MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT="true")
    return StudentOperations(args.server, args.connections, args.backups)


def reset(args) -> int:
    folder = _operations(args).reset(args.username)
    print(f"{args.username}: workspace emptied, password kept. Backup: {folder} "
          f"(`python -m classroom restore {args.username} --backup {folder}` brings it back).")
    return 0


def deactivate(args) -> int:
    _operations(args).deactivate(args.username)
    print(f"{args.username}: deactivated. Their password no longer works and their role is gone; "
          f"their runs and models are kept. `python -m classroom provision` with them on the roster "
          "lets them back in with a new password.")
    return 0


def remove(args) -> int:
    folder = _operations(args).remove(args.username)
    print(f"{args.username}: user and workspace deleted. Backup: {folder} "
          f"(`python -m classroom restore {args.username} --backup {folder}` brings the work back; "
          "`provision` makes the user again).")
    return 0


def restore(args) -> int:
    from classroom.backup import summary, check_backup

    operations = _operations(args)
    folder = operations.restore(args.username, args.backup)
    print(f"{args.username}: restored {summary(check_backup(folder))} from {folder}.")
    if not operations.provisioner.user_exists(args.username):
        print(f"{args.username} has no user on the server: add them to the roster and run "
              "`python -m classroom provision` to give them one.")
    return 0


def release(args) -> int:
    from classroom.release import write_release

    written = write_release(args.dir)
    adapted = ", ".join(written.adapted) or "nothing"
    print(f"Wrote the student release to {args.dir}: {len(written.copied)} files, no solutions "
          f"(left out {len(written.left_out)} files: solutions/, the test suite but the serving bonus, "
          f"bench/, tools/, .ci/, requirements-dev.txt; adapted {adapted}). Checked: no file holds "
          "a solution's line. Hand out that folder as it is.")
    return 0


def env_required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ServerError(
            f"{name} is not set. Export it (INSTRUCTORS.md, section 1, \"Without Docker\"): "
            f"{name}=postgresql+psycopg2://mlflow:PASSWORD@HOST:5432/"
            f"{'mlflow_auth' if 'AUTH' in name else 'mlflow'}; or try the server out with --throwaway-postgres.")
    return value


def one_line(exc: Exception) -> str | None:
    """The one-line message for errors the instructor can fix, or None for a real bug."""
    if isinstance(exc, (RosterError, ServerError, PostgresError, BackupError, BadDeadline, ReleaseError)):
        return str(exc)
    code = getattr(exc, "error_code", "")
    if code in ("UNAUTHENTICATED", "PERMISSION_DENIED") or "401" in str(exc)[:200]:
        return f"The server refused the admin credentials. {ADMIN_HELP}"
    if type(exc).__name__ in ("ConnectionError", "MaxRetryError", "ReadTimeout"):
        return "The class server stopped answering. Is it still running (`python -m classroom status`)?"
    return None

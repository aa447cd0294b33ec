"""The commands, each a short function over the modules that do the work."""

from __future__ import annotations

import os
import sys

from classroom import inactive
from classroom.admin import ADMIN_HELP, admin_env, forget_admin_credentials, require_admin, signed_in_as
from classroom.backup import BackupError
from classroom.object_store import StorageError
from classroom.release import ReleaseError
from classroom.postgres import PostgresError
from classroom.roster import RosterError, read_roster
from classroom.server import ServerError
from grader.deadline import FORMAT, BadDeadline, parse_deadline
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

def audit(args) -> int:
    from classroom.audit import report, server_logs

    since = None
    if args.since is not None:
        try:
            since = parse_deadline(args.since)
        except BadDeadline:
            print(_("--since {value!r} is not a time. Use {format}.", value=args.since, format=FORMAT),
                  file=sys.stderr)
            return 2
    logs = args.log or server_logs(args.state)
    found = all(log.is_file() for log in logs)
    print(report(logs, since), file=sys.stdout if found else sys.stderr)
    return 0 if found else 1


def provision(args) -> int:
    from classroom.provision import Provisioner

    students = read_roster(args.roster)
    admin = admin_env()
    require_admin(args.server, admin)
    with signed_in_as(admin):
        provisioner = Provisioner(args.server, args.public_url or args.server, args.out, args.state)
        counts: dict[str, int] = {}
        statuses: dict[str, str] = {}
        for student in students:
            outcome = provisioner.provision(student, student.username in args.reset_password)
            statuses[student.username] = outcome.status
            if outcome.status in ("created", "reactivated"):
                inactive.clear(args.state, student.username)
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            if outcome.status != "unchanged":
                print(_("{username}: {status} {detail}", username=student.username,
                        status=status_word(outcome.status), detail=outcome.detail).rstrip())
    summary = ", ".join(status_count(status, n) for status, n in sorted(counts.items()))
    print(_n("{count} student on the roster: {summary}. Connection files: {folder}",
             "{count} students on the roster: {summary}. Connection files: {folder}",
             len(students), count=len(students), summary=summary, folder=args.out))
    from classroom.messages import write_messages

    written = write_messages(args.out, students, statuses, args.lab_url)
    print(_n("{count} message to send (one text file each, and {csv} for a mail merge): {folder}",
             "{count} messages to send (one text file each, and {csv} for a mail merge): {folder}",
             written.count, count=written.count, csv=written.csv.name, folder=written.folder))
    return 1 if counts.get("missing-file") else 0


def gradebook(args) -> int:
    from classroom.gradebook import Gradebook
    from classroom.grading_user import grading_env
    from classroom.isolation import start_fork_server
    from classroom.lms import write_lms_files

    as_of = parse_deadline(args.as_of) if args.as_of is not None else None
    students = read_roster(args.roster)
    start_fork_server()  # the grading children's imports and warm-up while the admin signs the grader in
    admin = admin_env()
    require_admin(args.server, admin)
    with signed_in_as(admin):
        from classroom.provision import Provisioner

        provisioner = Provisioner(args.server, args.server, args.state / "connections")
        workspaces = [s.workspace for s in students if s.workspace in provisioner.workspaces]
        grader = grading_env(provisioner.auth, args.server, args.state, workspaces)
    forget_admin_credentials()
    book = Gradebook(args.server, {**admin, **grader}, args.out, jobs=args.jobs, timeout=args.timeout,
                     as_of=as_of, state=args.state)
    rows = book.grade_all(students)
    written = write_lms_files(args.out, students, rows, args.assignment)
    print(_("LMS import files: {files}", files=", ".join(str(f) for f in written.files)), file=sys.stderr)
    if written.without_email:
        print(_("Not in the LMS files (no email in {roster}): {students}", roster=args.roster,
                students=", ".join(written.without_email)), file=sys.stderr)
    if book.server_down:
        return 2
    ungraded = [row["student"] for row in rows if row["status"] not in ("graded", inactive.REMOVED)]
    if ungraded:
        print(_n("Could not grade {count} of {total} students: {students} (their rows in {csv} say why).",
                 "Could not grade {count} of {total} students: {students} (their rows in {csv} say why).",
                 len(rows), count=len(ungraded), total=len(rows), students=", ".join(ungraded),
                 csv=args.out / "gradebook.csv"), file=sys.stderr)
        return 1
    return 0


def board(args) -> int:
    from classroom.board_server import run

    return run(args)


def serve(args) -> int:
    from classroom.serving import serve as run

    return run(args)


def status(args) -> int:
    from classroom.status_report import describe

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
    print(_("{username}: workspace emptied, password kept. Backup: {folder} "
            "(`python -m classroom restore {username} --backup {folder}` brings it back).",
            username=args.username, folder=folder))
    return 0


def deactivate(args) -> int:
    _operations(args).deactivate(args.username)
    inactive.mark(args.state, args.username, inactive.DEACTIVATED)
    print(_("{username}: deactivated. Their password no longer works and their role is gone; "
            "their runs and models are kept. `python -m classroom provision --reset-password {username}` "
            "lets them back in with a new password.", username=args.username))
    return 0


def remove(args) -> int:
    folder = _operations(args).remove(args.username)
    inactive.mark(args.state, args.username, inactive.REMOVED)
    print(_("{username}: user and workspace deleted. Backup: {folder} "
            "(`python -m classroom restore {username} --backup {folder}` brings the work back; "
            "`provision --reset-password {username}` makes the user again).", username=args.username, folder=folder))
    return 0


def restore(args) -> int:
    from classroom.backup import summary, check_backup

    operations = _operations(args)
    folder = operations.restore(args.username, args.backup)
    inactive.clear(args.state, args.username)
    print(_("{username}: restored {summary} from {folder}.", username=args.username,
            summary=summary(check_backup(folder)), folder=folder))
    if not operations.provisioner.user_exists(args.username):
        print(_("{username} has no user on the server: add them to the roster and run "
                "`python -m classroom provision` to give them one.", username=args.username))
    return 0


def release(args) -> int:
    from classroom.release import write_release

    written = write_release(args.dir, lang=getattr(args, "lang", None) or "en")  # only --lang makes code/ Spanish
    adapted = ", ".join(written.adapted) or _("nothing")
    print(_("Wrote the student release to {folder}: {copied} files, no solutions "
            "(left out {left_out} files: solutions/, the test suite but the serving bonus, "
            "bench/, tools/, .ci/, requirements-dev.txt; adapted {adapted}). Checked: no file holds "
            "a solution's line. Hand out that folder as it is.", folder=args.dir,
            copied=len(written.copied), left_out=len(written.left_out), adapted=adapted))
    if written.translated:
        print(_("It speaks Spanish: its code/ ({count} scripts and notebooks generated from solutions/, "
                "with their TODO texts, hints, comments and printed lines in Spanish), its README.md "
                "(the English one is README.en.md), and its commands with no LAB_LANG set "
                "(locale/default-language).", count=len(written.translated)))
    return 0


def one_line(exc: Exception) -> str | None:
    """The one-line message for errors the instructor can fix, or None for a real bug."""
    if isinstance(exc, (RosterError, ServerError, PostgresError, BackupError, BadDeadline, ReleaseError,
                        StorageError)):
        return str(exc)
    code = getattr(exc, "error_code", "")
    if code in ("UNAUTHENTICATED", "PERMISSION_DENIED") or "401" in str(exc)[:200]:
        return _("The server refused the admin credentials. {help}", help=ADMIN_HELP)
    if type(exc).__name__ in ("ConnectionError", "MaxRetryError", "ReadTimeout"):
        return _("The class server stopped answering. Is it still running (`python -m classroom status`)?")
    return None


# What provisioning did to each student (classroom/provision.py's Outcome.status), as said.
STATUS_WORDS = {
    "created": N_("created"),
    "unchanged": N_("unchanged"),
    "repaired": N_("repaired"),
    "password-reset": N_("password-reset"),
    "reactivated": N_("reactivated"),
    "missing-file": N_("missing-file"),
    "left-inactive": N_("not let back in"),
}


def status_word(status: str) -> str:
    return str(STATUS_WORDS.get(status, status))


# ... and how many students it left so (a plural in Spanish: "3 creados").
STATUS_COUNTS = {
    "created": lambda n: _n("{count} created", "{count} created", n, count=n),
    "unchanged": lambda n: _n("{count} unchanged", "{count} unchanged", n, count=n),
    "repaired": lambda n: _n("{count} repaired", "{count} repaired", n, count=n),
    "password-reset": lambda n: _n("{count} password-reset", "{count} password-reset", n, count=n),
    "reactivated": lambda n: _n("{count} reactivated", "{count} reactivated", n, count=n),
    "missing-file": lambda n: _n("{count} missing-file", "{count} missing-file", n, count=n),
    "left-inactive": lambda n: _n("{count} not let back in (deactivated or removed)",
                                  "{count} not let back in (deactivated or removed)", n, count=n),
}


def status_count(status: str, count: int) -> str:
    """``3 created``: how many students provisioning left in ``status``."""
    return STATUS_COUNTS[status](count) if status in STATUS_COUNTS else f"{count} {status}"

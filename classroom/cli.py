"""``python -m classroom COMMAND``: argument parsing only (INSTRUCTORS.md walks through each).

Every command takes ``--lang es|en`` (else ``LAB_LANG``, else gettext's variables: see
labkit/i18n.py): the language of its messages, of the gradebook's problems and of the board.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from classroom.object_store import artifact_location
from grader.deadline import FORMAT
from labkit.i18n import LANGUAGES, Domain, early_language, set_language

_, N_, _n = Domain("classroom").functions()

DEFAULT_STATE = Path(os.environ.get("CLASS_STATE", ".classroom"))
DEFAULT_CONNECTIONS = DEFAULT_STATE / "connections"
GRADING_TIMEOUT_S = 120  # per student, in the gradebook and the board
ASSIGNMENT = "MLflow tracking lab"  # its name in the Canvas and Moodle files


def parse_args(argv):
    argv = sys.argv[1:] if argv is None else list(argv)
    early_language(argv)  # so that --help speaks it too, and argparse's own words
    args = build_parser().parse_args(argv)
    set_language(getattr(args, "lang", None))
    if args.command == "serve" and args.artifacts is None and not args.throwaway_postgres:
        args.artifacts = artifact_location(os.environ.get("CLASS_ARTIFACTS", "class-artifacts"))
    if args.command in ("status", "audit") and args.state is None:
        args.state = [DEFAULT_STATE]
    if hasattr(args, "backups"):
        args.connections = args.connections or args.state / "connections"
        args.backups = args.backups or args.state / "backups"
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m classroom",
                                     description=_("A whole class on one MLflow tracking server."))
    _lang(parser)  # before the command (python -m classroom --lang es status) or after it
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help=_("start the class server (settings from the environment, "
                                                "see INSTRUCTORS.md)"))
    host, port = os.environ.get("CLASS_HOST", "127.0.0.1"), int(os.environ.get("CLASS_PORT", "5000"))
    workers = int(os.environ.get("CLASS_WORKERS", "2"))
    artifacts = os.environ.get("CLASS_ARTIFACTS", "class-artifacts")
    serve.add_argument("--host", default=host, help=_(
        "the address the server listens on: 127.0.0.1 for this machine only, 0.0.0.0 for the "
        "students' machines too (default: {default}, or CLASS_HOST)", default=host))
    serve.add_argument("--port", type=int, default=port,
                       help=_("the server's port (default: {default}, or CLASS_PORT)", default=port))
    serve.add_argument("--allowed-hosts", default=os.environ.get("CLASS_ALLOWED_HOSTS", ""),
                       help=_("host names students use to reach the server (comma-separated)"))
    serve.add_argument("--workers", type=int, default=workers, help=_(
        "the server's worker processes, each answering requests (default: {default}, or CLASS_WORKERS)",
        default=workers))
    serve.add_argument("--artifacts", type=artifact_location, default=None, help=_(
        "private folder for the students' artifacts and models, or a bucket of S3-compatible storage, "
        "s3://BUCKET/FOLDER (its address and keys from MLFLOW_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY) (default: {default}, or CLASS_ARTIFACTS; with --throwaway-postgres, a "
        "temporary folder deleted with the database)", default=artifacts))
    _state(serve, _("private folder for the auth config, the server log and the status file"))
    serve.add_argument("--throwaway-postgres", action="store_true",
                       help=_("try it out: a temporary PostgreSQL cluster, deleted when the server stops"))

    status = commands.add_parser("status", help=_("what the class server runs, where, and since when"))
    _state(status, _("the folder `serve` was given (--state); its subfolders' servers too (two servers: "
                     "server-a, server-b); repeat it for servers started from other folders"), many=True)

    provision = commands.add_parser("provision", help=_("create each student's workspace, user and role"))
    _roster(provision)
    _server(provision)
    provision.add_argument("--public-url", help=_("the URL students use, if not --server"))
    provision.add_argument("--out", type=Path, default=DEFAULT_CONNECTIONS,
                           help=_("where each student's <username>.env goes, and messages/ (a message to send each "
                                  "student, and messages.csv for a mail merge); private: never commit it "
                                  "(default: {default})", default=DEFAULT_CONNECTIONS))
    provision.add_argument("--reset-password", action="append", default=[], metavar="USERNAME",
                           help=_("give this student a new password and connection file"))
    provision.add_argument("--lab-url", help=_("the guide's address, for the students' messages "
                                               "(default: LAB.md in their copy of the lab)"))
    _state(provision, _("private folder of the class (who was deactivated or removed)"))

    gradebook = commands.add_parser("gradebook", help=_("grade every student; write a CSV, Gradescope, "
                                                        "Canvas and Moodle files"))
    _roster(gradebook)
    _server(gradebook)
    gradebook.add_argument("--out", type=Path, required=True, metavar="FOLDER", help=_(
        "the folder for gradebook.csv, canvas.csv, moodle.csv and gradescope/<student>/results.json "
        "(made private if new: it holds e-mails and grades)"))
    # One more than the cores: a child waiting on the server leaves a core free (measured:
    # 0.73 s per student with 3 at once on 2 cores, 1.06 s with 2).
    gradebook.add_argument("--jobs", type=int, default=(os.cpu_count() or 2) + 1,
                           help=_("students graded at once (default: cores + 1)"))
    gradebook.add_argument("--timeout", type=float, default=float(GRADING_TIMEOUT_S),
                       help=_("seconds allowed per student (default: {default})", default=GRADING_TIMEOUT_S))
    gradebook.add_argument("--assignment", default=ASSIGNMENT,
                           help=_("the assignment's name in the Canvas and Moodle files (default: {default})",
                                  default=ASSIGNMENT))
    gradebook.add_argument("--as-of", metavar="TIME",
                           help=_("the deadline: grade only runs that ended by then ({format})", format=FORMAT))
    _state(gradebook, _("private folder for the grading user's password (grading.env)"))

    board = commands.add_parser("board", help=_("a live web page of the class: each student's TODOs, "
                                                "refreshed as they work"))
    _roster(board)
    _server(board)
    board.add_argument("--host", default="127.0.0.1",
                       help=_("the address the page listens on (default: 127.0.0.1, this machine only)"))
    board.add_argument("--port", type=int, default=8050, help=_("the page's port (default: 8050)"))
    board.add_argument("--every", type=float, default=30.0, help=_("seconds between refreshes (default: 30)"))
    board.add_argument("--jobs", type=int, default=(os.cpu_count() or 2) + 1,
                       help=_("students graded at once (default: cores + 1, as the gradebook)"))
    board.add_argument("--timeout", type=float, default=float(GRADING_TIMEOUT_S),
                       help=_("seconds allowed per student (default: {default})", default=GRADING_TIMEOUT_S))
    board.add_argument("--as-of", metavar="TIME",
                       help=_("the deadline: show grades as the gradebook --as-of gives them ({format})",
                              format=FORMAT))
    _state(board, _("private folder for the grading user's password (grading.env)"))

    audit = commands.add_parser("audit", help=_("denied requests per student, from the class server's log"))
    audit.add_argument("--since", metavar="TIME",
                       help=_("only the requests made since then ({format})", format=FORMAT))
    audit.add_argument("--log", type=Path, action="append", default=None,
                       help=_("a server's log; repeat it for each server (default: <state>/server.log and "
                              "<state>/*/server.log)"))
    _state(audit, _("the folder `serve` was given (--state); repeat it for each server's"), many=True)

    release = commands.add_parser("release", help=_("write the lab without its solutions, for students"),
                                  description=_("Write the lab without its solutions, for students. "
                                                "Needs requirements-class.txt only, --lang es too."))
    release.add_argument("dir", type=Path, metavar="DIR", help=_("a new or empty folder"))
    release.add_argument("--lang", choices=list(LANGUAGES), default=argparse.SUPPRESS,
                         help=_("the release's language: its code/ (scripts and notebooks), its README and "
                                "what its commands speak with no LAB_LANG set; also this command's "
                                "messages (default: English)"))

    for name, text in [("reset", _("back up a student's workspace, then empty it (same password)")),
                       ("deactivate", _("take a student's access away, keeping their work")),
                       ("remove", _("back up a student's workspace, then delete it and their user")),
                       ("restore", _("bring a backup back into a student's empty workspace"))]:
        command = commands.add_parser(name, help=text)
        command.add_argument("username", help=_("the student's username in the roster (their user and workspace)"))
        _server(command)
        _state(command, _("private folder of the class (backups go in <state>/backups)"))
        command.add_argument("--connections", type=Path, default=None,
                             help=_("the connection files' folder (default: <state>/connections)"))
        command.add_argument("--backups", type=Path, default=None,
                             help=_("where backups go (default: <state>/backups)"))
        if name == "restore":
            command.add_argument("--backup", type=Path,
                                 help=_("the backup folder (default: the student's newest)"))
    for command in commands.choices.values():
        _lang(command)
    return parser


def _lang(command) -> None:
    try:
        command.add_argument("--lang", choices=list(LANGUAGES), default=argparse.SUPPRESS,
                             help=_("the language of the messages (default: LAB_LANG, else LANGUAGE, "
                                    "LC_ALL, LC_MESSAGES or LANG, else this copy's language, else English)"))
    except argparse.ArgumentError:  # the command has a --lang of its own, which sets the language too
        pass


def _roster(command) -> None:
    command.add_argument("--roster", type=Path, required=True, help=_(
        "the class's CSV: a header row, then one student a row; column username (their user and "
        "workspace), name and email optional (see INSTRUCTORS.md)"))


def _server(command) -> None:
    command.add_argument("--server", required=True, help=_("the server's URL, e.g. http://127.0.0.1:5000"))


def _state(command, text: str, many: bool = False) -> None:
    """``--state``; with ``many``, repeatable and a list (``[DEFAULT_STATE]`` when not given)."""
    command.add_argument("--state", type=Path, default=None if many else DEFAULT_STATE,
                         action="append" if many else "store",
                         help=_("{text} (default: {default})", text=text, default=DEFAULT_STATE))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = getattr(args, "server", None)
    if server is not None and not server.startswith(("http://", "https://")):
        print(_("--server {url} has no scheme: write http://{url} (or https://).", url=server), file=sys.stderr)
        return 2
    if args.command != "release":  # the release is for students; all else is the class's, private
        from classroom.private import PRIVATE_UMASK

        os.umask(PRIVATE_UMASK)
    from classroom import commands

    try:
        return getattr(commands, args.command)(args)
    except KeyboardInterrupt:
        print(_("Stopped."), file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - only the errors that carry a one-line fix
        from classroom.commands import one_line

        message = one_line(exc)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 2

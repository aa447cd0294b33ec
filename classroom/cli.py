"""``python -m classroom COMMAND``: argument parsing only (INSTRUCTORS.md walks through each)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader.deadline import FORMAT

DEFAULT_STATE = Path(os.environ.get("CLASS_STATE", ".classroom"))
DEFAULT_CONNECTIONS = DEFAULT_STATE / "connections"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m classroom",
                                     description="A whole class on one MLflow tracking server.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the class server (settings from the environment, see INSTRUCTORS.md)")
    serve.add_argument("--host", default=os.environ.get("CLASS_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("CLASS_PORT", "5000")))
    serve.add_argument("--allowed-hosts", default=os.environ.get("CLASS_ALLOWED_HOSTS", ""),
                       help="host names students use to reach the server (comma-separated)")
    serve.add_argument("--workers", type=int, default=int(os.environ.get("CLASS_WORKERS", "2")))
    serve.add_argument("--artifacts", type=Path, default=Path(os.environ.get("CLASS_ARTIFACTS", "class-artifacts")))
    _state(serve, "private folder for the auth config, the server log and the status file")
    serve.add_argument("--throwaway-postgres", action="store_true",
                       help="try it out: a temporary PostgreSQL cluster, deleted when the server stops")

    status = commands.add_parser("status", help="what the class server runs, where, and since when")
    _state(status, "the folder `serve` was given (--state)")

    provision = commands.add_parser("provision", help="create each student's workspace, user and role")
    provision.add_argument("--roster", type=Path, required=True)
    _server(provision)
    provision.add_argument("--public-url", help="the URL students use, if not --server")
    provision.add_argument("--out", type=Path, default=DEFAULT_CONNECTIONS,
                           help="where each student's <username>.env goes (private: never commit it)")
    provision.add_argument("--reset-password", action="append", default=[], metavar="USERNAME",
                           help="give this student a new password and connection file")

    gradebook = commands.add_parser("gradebook", help="grade every student; write a CSV, Gradescope, Canvas and Moodle files")
    gradebook.add_argument("--roster", type=Path, required=True)
    _server(gradebook)
    gradebook.add_argument("--out", type=Path, required=True)
    # One more than the cores: a child waiting on the server leaves a core free (measured:
    # 0.73 s per student with 3 at once on 2 cores, 1.06 s with 2).
    gradebook.add_argument("--jobs", type=int, default=(os.cpu_count() or 2) + 1,
                           help="students graded at once (default: cores + 1)")
    gradebook.add_argument("--timeout", type=float, default=120.0, help="seconds allowed per student")
    gradebook.add_argument("--assignment", default="MLflow tracking lab",
                           help="the assignment's name in the Canvas and Moodle files")
    gradebook.add_argument("--as-of", metavar="TIME",
                           help=f"the deadline: grade only runs that ended by then ({FORMAT})")
    _state(gradebook, "private folder for the grading user's password (grading.env)")

    board = commands.add_parser("board", help="a live web page of the class: each student's TODOs, refreshed as they work")
    board.add_argument("--roster", type=Path, required=True)
    _server(board)
    board.add_argument("--host", default="127.0.0.1", help="the address the page listens on (default: 127.0.0.1, this machine only)")
    board.add_argument("--port", type=int, default=8050, help="the page's port (default: 8050)")
    board.add_argument("--every", type=float, default=30.0, help="seconds between refreshes (default: 30)")
    board.add_argument("--jobs", type=int, default=(os.cpu_count() or 2) + 1,
                       help="students graded at once (default: cores + 1, as the gradebook)")
    board.add_argument("--timeout", type=float, default=120.0, help="seconds allowed per student")
    board.add_argument("--as-of", metavar="TIME",
                       help=f"the deadline: show grades as the gradebook --as-of gives them ({FORMAT})")
    _state(board, "private folder for the grading user's password (grading.env)")

    release = commands.add_parser("release", help="write the lab without its solutions, for students")
    release.add_argument("dir", type=Path, metavar="DIR", help="a new or empty folder")

    for name, text in [("reset", "back up a student's workspace, then empty it (same password)"),
                       ("deactivate", "take a student's access away, keeping their work"),
                       ("remove", "back up a student's workspace, then delete it and their user"),
                       ("restore", "bring a backup back into a student's empty workspace")]:
        command = commands.add_parser(name, help=text)
        command.add_argument("username")
        _server(command)
        _state(command, "private folder of the class (backups go in <state>/backups)")
        command.add_argument("--connections", type=Path, default=None,
                             help="the connection files' folder (default: <state>/connections)")
        command.add_argument("--backups", type=Path, default=None,
                             help="where backups go (default: <state>/backups)")
        if name == "restore":
            command.add_argument("--backup", type=Path, help="the backup folder (default: the student's newest)")
    args = parser.parse_args(argv)
    if hasattr(args, "backups"):
        args.connections = args.connections or args.state / "connections"
        args.backups = args.backups or args.state / "backups"
    return args


def _server(command) -> None:
    command.add_argument("--server", required=True, help="the server's URL, e.g. http://127.0.0.1:5000")


def _state(command, text: str) -> None:
    command.add_argument("--state", type=Path, default=DEFAULT_STATE, help=f"{text} (default: {DEFAULT_STATE})")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from classroom import commands

    try:
        return getattr(commands, args.command)(args)
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - only the errors that carry a one-line fix
        from classroom.commands import one_line

        message = one_line(exc)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 2

"""``python -m classroom board``: the progress board's web page, on the instructor's machine.

Standard library only: a threading HTTP server answers ``GET /`` (classroom/board.html),
``GET /board.json`` (the board's snapshot, which the page polls) and ``POST /refresh``
(refresh now; answers once a refresh started after the click has finished). A thread
refreshes the board every ``--every`` seconds, counted from the end of the last refresh.
Ctrl+C stops the server, ends the grading children this process started, and returns.

The page speaks the command's language (``--lang``, LAB_LANG): ``GET /`` serves board.html
with its words (``PAGE_WORDS``, from the classroom catalog) as JSON in the page; the page's
script fills its headings with them and its sentences' ``{placeholders}`` with the board's data.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from classroom.board import Board
from classroom.board_database import VARIABLE, DatabaseLooker, database_looker
from labkit.i18n import Domain, language
from labkit.net import stop_on_signals

_, N_, _n = Domain("classroom").functions()

PAGE = Path(__file__).with_name("board.html")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
ON_DEMAND_WAIT_S = 900

# The page's own words (board.html reads them as WORDS; its say() fills the {placeholders}).
PAGE_WORDS = {
    "title": N_("Class progress board"),
    "not_refreshed": N_("Not refreshed yet: the first pass grades every student."),
    "refresh": N_("Refresh now"),
    "refreshing": N_("Refreshing…"),
    "legend_pass": N_("pass (the TODO has its point)"),
    "legend_fail": N_("fail (the grader's check fails)"),
    "legend_skip": N_("skipped (waits for another TODO)"),
    "legend_not_started": N_("not started (no run of that task yet)"),
    "legend_hints": N_("a small number: the hint levels the student asked for (check.py --hint)"),
    "legend_how": N_("Hover or click a cell for the grader's words."),
    "detail_empty": N_("Click a cell to see why."),
    "refresh_failed": N_("The refresh at {time} could not finish (the reason is below); "
                         "the rows show the grades from before."),
    "refreshed": N_("Last refreshed at {time} (took {seconds} s): looked at {looked_at} students, "
                    "re-graded {count}{who}. Refreshes by itself every {every} s."),
    "as_of": N_("Grades as of the deadline {time}."),
    "running": N_("Refreshing: graded {done} of the {total} students whose work changed so far…"),
    "stuck_one": N_("The class is stuck most on TODO {todo} ({description}): failing for "
                    "{count} student: {students}"),
    "stuck_many": N_("The class is stuck most on TODO {todo} ({description}): failing for "
                     "{count} students: {students}"),
    "nobody_stuck": N_("Nobody is stuck on a failing TODO."),
    "ungraded": N_("{student} could not be graded: {why}"),
    "head_student": N_("Student"),
    "head_score": N_("Score"),
    "head_flags": N_("Flags"),
    "waiting_row": N_("not graded yet: the first pass is on its way"),
    "ungraded_row": N_("could not be graded: {why}"),
    "cell_title": N_("{todo} {state}: {text}"),
    "detail": N_("{student} · TODO {todo} ({description}): {state}"),
    "no_answer": N_("The board does not answer: is `python -m classroom board` still running?"),
    # A cell's state, and an ungraded row's status (the gradebook's status column), as shown.
    "state_pass": N_("pass"),
    "state_fail": N_("fail"),
    "state_skip": N_("skip"),
    "state_not-started": N_("not-started"),
    "status_waiting": N_("waiting"),
    "status_cannot-grade": N_("cannot-grade"),
    "status_timed-out": N_("timed-out"),
    "status_crashed": N_("crashed"),
    "status_not-graded": N_("not-graded"),
    "status_removed": N_("removed"),
}


def page() -> bytes:
    """board.html in the language spoken now: its ``lang`` and its words."""
    words = json.dumps({key: str(word) for key, word in PAGE_WORDS.items()}, ensure_ascii=False)
    html = PAGE.read_text(encoding="utf-8")
    html = html.replace("__LANG__", language()).replace("__WORDS__", words.replace("</", "<\\/"))
    return html.encode("utf-8")


class Refresher:
    """Refreshes ``board`` every ``every`` seconds, or at once when asked."""

    def __init__(self, board: Board, every: float) -> None:
        self.board, self.every = board, every
        self.wake = threading.Event()
        self.done = threading.Condition()
        self.thread = threading.Thread(target=self._loop, name="board-refresh", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _loop(self) -> None:
        while not self.board.stopping.is_set():
            self.wake.clear()  # a click from here on is answered by the refresh below
            try:
                self.board.refresh()
            except Exception as exc:  # noqa: BLE001 - the rows keep their last grades; say why on the page
                if self.board.stopping.is_set():
                    return
                traceback.print_exc()
                self.board.failed(_("The last refresh failed ({error}); the next one, in {seconds:g} s, "
                                    "tries again.", error=f"{type(exc).__name__}: {exc}", seconds=self.every))
            with self.done:
                self.done.notify_all()
            self.wake.wait(self.every)

    def refresh_now(self, timeout: float = ON_DEMAND_WAIT_S) -> None:
        """Ask for a refresh and wait for one that started after this call to finish."""
        with self.done:
            target = self.board.refreshes + (2 if self.board.running is not None else 1)
            self.wake.set()
            self.done.wait_for(lambda: self.board.refreshes >= target or self.board.stopping.is_set(),
                               timeout)

    def stop(self) -> None:
        self.board.stopping.set()
        self.wake.set()
        with self.done:
            self.done.notify_all()


def handler_for(board: Board, refresher: Refresher, hosts: set[str] | None):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if not self._host_ok():
                return
            if self.path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", page())
            elif self.path == "/board.json":
                self._json(board.snapshot())
            else:
                self._send(404, "text/plain; charset=utf-8", _("Not found: the board is at /").encode() + b"\n")

        def do_POST(self) -> None:  # noqa: N802
            if not self._host_ok() or not self._same_origin():
                return
            if self.path != "/refresh":
                self._send(404, "text/plain; charset=utf-8", _("Not found").encode() + b"\n")
                return
            refresher.refresh_now()
            self._json(board.snapshot())

        def _host_ok(self) -> bool:
            """On loopback, answer only pages that asked for this address (no DNS rebinding)."""
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
            if hosts is None or host in hosts:
                return True
            self._send(403, "text/plain; charset=utf-8", _("Open the board at its own address.").encode() + b"\n")
            return False

        def _same_origin(self) -> bool:
            """A refresh costs the class server a pass over every student: only the board's own
            page may ask for one. A browser sends the page's Origin with every POST, and another
            site's page cannot hide it; a client without a browser (curl) sends none."""
            origin = self.headers.get("Origin")
            if origin is None or origin == f"http://{self.headers.get('Host', '')}":
                return True
            self._send(403, "text/plain; charset=utf-8",
                       _("Refused: a refresh is asked from the board's own page only.").encode() + b"\n")
            return False

        def _json(self, data: dict) -> None:
            self._send(200, "application/json", json.dumps(data).encode("utf-8"))

        def _send(self, code: int, kind: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # the page polls: keep the terminal quiet
            pass

    return Handler


def open_port(host: str, port: int) -> ThreadingHTTPServer:
    """The board's listening socket, taken before anything else starts; one line if it cannot be."""
    from classroom.server import ServerError

    try:
        server = ThreadingHTTPServer((host, port), BaseHTTPRequestHandler)
    except OSError as exc:
        raise ServerError(_("The board cannot listen on {host}:{port} ({reason}). "
                            "Is another board running there? Pass another --port.",
                            host=host, port=port, reason=exc.strerror or exc)) from None
    server.daemon_threads = True
    return server


def serve_board(board: Board, server: ThreadingHTTPServer, every: float, announce=sys.stdout) -> None:
    """Serve the board on ``server`` until Ctrl+C (KeyboardInterrupt), then stop everything it started."""
    board.every = every
    start_grading_children_server()
    refresher = Refresher(board, every)
    host = server.server_address[0]
    hosts = set(LOOPBACK) if host in LOOPBACK else None
    server.RequestHandlerClass = handler_for(board, refresher, hosts)
    listener = threading.Thread(target=server.serve_forever, name="board-http", daemon=True)
    listener.start()
    refresher.start()
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(_n("The board: {url} ({count} student, refreshed every {seconds:g} s and by its button). "
             "Ctrl+C stops it.",
             "The board: {url} ({count} students, refreshed every {seconds:g} s and by its button). "
             "Ctrl+C stops it.", len(board.students), url=f"http://{shown}:{server.server_address[1]}/",
             count=len(board.students), seconds=every), file=announce, flush=True)
    print(looking_way(board.look), file=announce, flush=True)
    if hosts is None:
        print(_("Anyone who can reach this address sees the class's grades: the board has no sign-in."),
              file=announce, flush=True)
    try:
        while listener.is_alive():
            listener.join(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        refresher.stop()
        server.shutdown()
        server.server_close()
        for child in multiprocessing.active_children():  # grading children of this process
            child.kill()
        refresher.thread.join(30)
    print(_("Board stopped."), file=announce, flush=True)


def looking_way(look) -> str:
    """The start-up line that says how the board looks for changed work, and why (INSTRUCTORS.md's
    board section has the figures): from the database when the instructor gave the read-only role,
    else over HTTP."""
    if isinstance(look, DatabaseLooker):
        return str(_("It looks for changed work in the tracking database, as the read-only role in {variable} "
                     "(one query per table: the fastest way at any class size).", variable=VARIABLE))
    return str(_("It looks for changed work over HTTP, as the grading user ({variable} is not set). "
                 "At 100 students a refresh where nobody changed takes seconds this way and a tenth of "
                 "a second from the database: INSTRUCTORS.md shows how to make a read-only database role "
                 "and set {variable}.", variable=VARIABLE))


def start_grading_children_server() -> None:
    """Start the grading children's fork server now (classroom/isolation.py ``start_fork_server``)."""
    from classroom.isolation import start_fork_server

    start_fork_server()


def run(args) -> int:
    """Sign in as the admin once, then grade and look as the read-only grading user."""
    from classroom.admin import admin_env, forget_admin_credentials, require_admin, signed_in_as
    from classroom.gradebook import Gradebook
    from classroom.grading_user import grading_env
    from classroom.provision import Provisioner
    from classroom.roster import read_roster
    from grader.deadline import parse_deadline

    stop_on_signals()  # Ctrl+C, `kill` and a closed terminal stop it, even started in the background (`&`)
    as_of = parse_deadline(args.as_of) if args.as_of is not None else None
    students = read_roster(args.roster)
    server = open_port(args.host, args.port)
    start_grading_children_server()  # its imports and warm-up while the admin signs the grader in
    database = os.environ.pop(VARIABLE, "")  # read here only: the grading children never see it
    look = database_looker(database) if database else None
    admin = admin_env()
    require_admin(args.server, admin)
    with signed_in_as(admin):
        provisioner = Provisioner(args.server, args.server, args.state / "connections")
        workspaces = [s.workspace for s in students if s.workspace in provisioner.workspaces]
        grader = grading_env(provisioner.auth, args.server, args.state, workspaces)
    forget_admin_credentials()
    grading = {**admin, **grader}
    os.environ.update(grading)  # the board's own looks at the workspaces read as the grader too
    book = Gradebook(args.server, grading, args.state / "board", jobs=args.jobs, timeout=args.timeout,
                     progress=open(os.devnull, "w"), as_of=as_of, state=args.state)
    serve_board(Board(book, students, roster=args.roster, look=look), server, args.every)
    return 0

"""``python grader/check.py --watch [taskN|all]``: grade again each time the store changes.

One process imports MLflow and scikit-learn once, grades, then waits for the tracking store
to change and grades again, so the verdicts are on screen a moment after a task's run ends.
Each grade is the grade a fresh ``check.py`` gives: it reads a new snapshot of the store, and
what it reuses from the grades before (grader/context.py's ``Kept``: the snapshot's client,
re-fits, loaded models) depends only on what it is keyed by.

How a change is seen, without ever writing to the store:
- a local SQLite store: the database file and its -wal and -journal files (size, time, inode)
  and SQLite's change counter in the database's header, looked at every LOCAL_POLL_S;
- a tracking server (or another database): the newest run by start and by end, and the
  registered models, asked every SERVER_POLL_S.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from mlflow import MlflowClient

from grader import render
from grader.context import Kept
from grader.core import grade
from grader.errors import CannotGrade
from labkit.i18n import Domain
from labkit.net import stop_on_signals
from labkit.store import is_remote, sqlite_path, tracking_uri

_, N_, _n = Domain("grader").functions()

LOCAL_POLL_S = 0.1  # a look at the database file's size and times: a few microseconds
QUIET_S = 0.15  # a change is graded once the store has held still this long...
QUIET_MAX_S = 2.0  # ...or after this long, while a script keeps writing
SERVER_POLL_S = 2.0  # three small queries to the server
CLEAR = "\033[2J\033[H"  # clear the terminal, cursor home
RULE = "-" * 72


class LocalChanges:
    """The state of a local SQLite store's files; it changes with every write to the store."""

    interval = LOCAL_POLL_S
    quiet = QUIET_S

    def __init__(self, db: Path) -> None:
        self.files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-journal")]

    def state(self) -> tuple:
        return tuple(stamp(path) for path in self.files) + (change_counter(self.files[0]),)


def stamp(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def change_counter(db: Path) -> bytes | None:
    """SQLite's file change counter (header bytes 24-27), raised by every committed write."""
    try:
        with open(db, "rb") as handle:
            return handle.read(28)[24:28]
    except OSError:
        return None


class ServerChanges:
    """What a tracking server (or another database) shows of the lab's work: the newest runs
    and the registered models. Only read, with three small queries."""

    interval = SERVER_POLL_S
    quiet = 0.0

    def __init__(self, uri: str) -> None:
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    def state(self) -> tuple:
        try:
            experiments = self.client.search_experiments(max_results=1000)
            ids = [e.experiment_id for e in experiments]
            newest = [self.client.search_runs(ids, max_results=1, order_by=[order]) if ids else []
                      for order in ("attributes.start_time DESC", "attributes.end_time DESC")]
            models = self.client.search_registered_models(max_results=100)
        except Exception as exc:  # noqa: BLE001 - a server that stopped answering is a state too
            return ("unreachable", type(exc).__name__)
        runs = tuple((r.info.run_id, r.info.status, r.info.end_time) for found in newest for r in found)
        registry = tuple((m.name, m.last_updated_timestamp, tuple(sorted(m.aliases or {})))
                         for m in models)
        return (tuple((e.experiment_id, e.last_update_time) for e in experiments), runs, registry)


def changes_of(uri: str):
    db = None if is_remote(uri) else sqlite_path(uri)
    return LocalChanges(Path(db).resolve()) if db is not None else ServerChanges(uri)


def wait_for_change(changes, seen, sleep=time.sleep) -> tuple:
    """The store's state once it differs from ``seen`` and has held still for a moment."""
    state = changes.state()
    while state == seen:
        sleep(changes.interval)
        state = changes.state()
    give_up = time.monotonic() + QUIET_MAX_S
    while changes.quiet and time.monotonic() < give_up:
        sleep(changes.quiet)
        now = changes.state()
        if now == state:
            break
        state = now
    return state


def watch(tasks: list[str], as_of=None, stream=None) -> int:
    """Grade ``tasks`` now and after every change to the store, until Ctrl+C (exit 0)."""
    if threading.current_thread() is threading.main_thread():
        stop_on_signals()  # Ctrl+C and `kill` stop it, even started where SIGINT is ignored (`... &` in a script)
    stream = stream or sys.stdout
    uri = tracking_uri()
    changes = changes_of(uri)
    kept = Kept()
    on_terminal = hasattr(stream, "isatty") and stream.isatty()
    seen, first = None, True
    try:
        while True:
            seen = wait_for_change(changes, seen)
            text = report_text(tasks, as_of, kept, stream)
            if on_terminal:
                stream.write(CLEAR)
            elif not first:
                stream.write(RULE + "\n")
            stream.write(text)
            stream.write(render.dim(_("{time} Watching {uri}: graded again after each change (Ctrl+C stops).",
                                      time=datetime.now().strftime("%H:%M:%S"), uri=uri),
                                    render.use_colour(stream)) + "\n")
            stream.flush()
            first = False
    except KeyboardInterrupt:
        stream.write("\n" + _("Stopped watching.") + "\n")
        stream.flush()
        return 0
    finally:
        kept.close()


def report_text(tasks: list[str], as_of, kept: Kept, stream) -> str:
    """The terminal report of one grade, or the one line that says why it cannot grade yet."""
    try:
        report = grade(tasks, as_of=as_of, kept=kept)
    except CannotGrade as exc:
        return _("Cannot grade yet: {reason}", reason=exc) + "\n"
    return render.to_text(report, render.use_colour(stream), render.width_of(stream))

"""The crash note: when a task script dies, say so on the run it was in, for the grader,
and end MLflow's traceback with one line in the student's language: what failed, in
which TODO, and what to do.

When the script died because its tracking server failed (stopped, hung, or lost its
database), there is nobody to write the note to: the student gets one line that says
what happened and what to do, instead of a chained traceback, and the crash note sends
that server nothing (MLflow has already tried once to end the run, as the student's
`with mlflow.start_run()` block exited).
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from pathlib import Path

from labkit.i18n import Domain
from labkit.lab import TAG_ERROR
from labkit.net import give_up_at_once
from labkit.store import database_down_message, server_down_message, server_hung_message

_, N_, _n = Domain("labkit").functions()

TAG_VALUE_MAX = 8000  # characters: the longest tag value MLflow 3 stores


def install_crash_note() -> None:
    """If the script dies, note the error on the run it was in, so the grader can explain."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if "mlflow" not in sys.modules:  # died before MLflow was used: no run to note
            previous(exc_type, exc, tb)
            return
        try:
            failure = server_failure(exc)
        except Exception:  # noqa: BLE001 - never hide the student's own error
            failure = None
        if failure is not None:
            give_up_at_once()  # anything MLflow still sends at exit (a run left open)
            print(failure, file=sys.stderr, flush=True)
            return
        try:
            import mlflow

            run = mlflow.active_run() or mlflow.last_active_run()
            if run is not None:
                # whole: the grader quotes it; as Python prints it (Ctrl+C: "KeyboardInterrupt")
                message = (f"{exc_type.__name__}: {exc}" if str(exc) else exc_type.__name__)[:TAG_VALUE_MAX]
                mlflow.MlflowClient().set_tag(run.info.run_id, TAG_ERROR, message)
        except Exception:  # noqa: BLE001 - never hide the student's own error
            pass
        previous(exc_type, exc, tb)
        try:
            line = crash_line(exc_type, exc, tb)
        except Exception:  # noqa: BLE001 - the traceback above already says it all
            line = None
        if line:
            print("\n" + line, file=sys.stderr, flush=True)

    sys.excepthook = hook


def server_failure(exc: BaseException) -> str | None:
    """One line naming what happened to the tracking server, if ``exc`` comes from that."""
    import mlflow
    import requests

    uri = mlflow.get_tracking_uri()
    if not uri.startswith(("http://", "https://")):
        return None
    for error in _chain(exc):
        text = str(error).lower()
        # With retries off, urllib3 hands requests a read timeout as a ConnectionError.
        if isinstance(error, requests.exceptions.Timeout) or (
                isinstance(error, requests.exceptions.ConnectionError) and "timed out" in text):
            return server_hung_message(uri, os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", "120"))
        if isinstance(error, requests.exceptions.ConnectionError):
            reason = (_("connection refused") if "refused" in text
                      else _("connection closed") if "reset" in text or "aborted" in text
                      else _("no connection"))
            return server_down_message(uri, reason)
        if _is_database_down(error):
            return database_down_message(uri)
        gateway = re.search(r"too many (50[24]) error responses", text)
        if gateway:  # a proxy (nginx, two servers behind it) whose server stopped under this request
            return server_down_message(uri, _("HTTP {code} from the proxy in front of it", code=gateway[1]))
    return None


def _is_database_down(error: BaseException) -> bool:
    """HTTP 503 from MLflow: its store cannot reach its database (TEMPORARILY_UNAVAILABLE)."""
    from mlflow.exceptions import MlflowException

    if isinstance(error, MlflowException) and error.error_code == "TEMPORARILY_UNAVAILABLE":
        return True
    return "too many 503 error responses" in str(error)


def _chain(exc: BaseException):
    """``exc`` and every exception it was raised from or while handling."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


# ------------------------------------------------------------------- the closing line

TODO_COMMENT = re.compile(r"^(?P<indent>\s*)# TODO (?P<id>\d+\.\d+):")
STEP_COMMENT = re.compile(r"^\s*# %%")
ERROR_TEXT_LIMIT = 160


def running_script() -> Path | None:
    """The task script this interpreter runs (none in a notebook or an interactive shell)."""
    script = getattr(sys.modules.get("__main__"), "__file__", None)
    return Path(script).resolve() if script and Path(script).is_file() else None


def failing_line(tb, script: Path) -> int | None:
    """The line of ``script`` the exception passed through last (where the student's code called)."""
    found = None
    for frame in traceback.extract_tb(tb):
        try:
            if Path(frame.filename).resolve() == script:
                found = frame.lineno
        except OSError:
            continue
    return found


def todo_at(source: str, lineno: int) -> str | None:
    """The TODO whose block holds line ``lineno`` of a task script, or None outside the TODOs.

    A TODO's block starts at its ``# TODO x.y:`` comment and runs until a blank line, a
    step comment (``# %%``), another TODO, or a line indented less than the comment.
    """
    lines = source.splitlines()
    if not 0 < lineno <= len(lines):
        return None
    for index in range(lineno - 1, -1, -1):
        match = TODO_COMMENT.match(lines[index])
        if match:
            indent = len(match["indent"])
            for line in lines[index + 1:lineno]:
                if (not line.strip() or STEP_COMMENT.match(line) or TODO_COMMENT.match(line)
                        or len(line) - len(line.lstrip()) < indent):
                    return None
            return match["id"]
    return None


def error_text(exc_type, exc) -> str:
    """``Type: first line of the message``, shortened to fit one line."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{exc_type.__name__}: {message}" if message else exc_type.__name__
    if len(text) <= ERROR_TEXT_LIMIT:
        return text
    return text[:ERROR_TEXT_LIMIT].rsplit(" ", 1)[0] + " [...]"  # cut between words


def what_to_do(exc) -> str:
    """The next step, more precise where the lab knows the error."""
    if "untrusted" in str(exc).lower():
        return _("skops refused to save a type it was not told to trust: tell it which types "
                 "to trust when you log the model (LAB.md, Troubleshooting, \"untrusted types\").")
    return _("Fix that line.")


def crash_line(exc_type, exc, tb, script: Path | None = None) -> str | None:
    """One line after the traceback: what failed, in which TODO, what to do; None if not a task script."""
    if exc_type is KeyboardInterrupt:
        return None
    script = script or running_script()
    if script is None:
        return None
    lineno = failing_line(tb, script)
    if lineno is None:
        return None
    todo_id = todo_at(script.read_text(encoding="utf-8", errors="replace"), lineno)
    task = re.match(r"(task\d)", script.name)
    grade = f"python grader/check.py {task[1]}" if task else "python grader/check.py all"
    error, advice = error_text(exc_type, exc), what_to_do(exc)
    if todo_id is None:
        return _("{script} stopped at line {line}, outside the TODOs, on {error}. {advice} "
                 "Then run the script again; `{grade}` says which TODO is still open.",
                 script=script.name, line=lineno, error=error, advice=advice, grade=grade)
    return _("{script} stopped at line {line}, in TODO {todo}, on {error}. {advice} "
             "Then run the script again and `{grade}`.",
             script=script.name, line=lineno, todo=todo_id, error=error, advice=advice, grade=grade)

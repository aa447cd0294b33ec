"""The crash note: when a task script dies, say so on the run it was in, for the grader.

When the script died because its tracking server failed (stopped, hung, or lost its
database), there is nobody to write the note to: the student gets one line that says
what happened and what to do, instead of a chained traceback, and the crash note sends
that server nothing (MLflow has already tried once to end the run, as the student's
`with mlflow.start_run()` block exited).
"""

from __future__ import annotations

import os
import sys

from labkit.i18n import Domain
from labkit.store import database_down_message, server_down_message, server_hung_message

_, N_, _n = Domain("labkit").functions()

TAG_ERROR = "lab.error"  # equal to grader.lab.TAG_ERROR (test/test_contract.py)
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
            give_up_on_the_server()
            print(failure, file=sys.stderr, flush=True)
            return
        try:
            import mlflow

            run = mlflow.active_run() or mlflow.last_active_run()
            if run is not None:
                message = f"{exc_type.__name__}: {exc}"[:TAG_VALUE_MAX]  # whole: the grader quotes it
                mlflow.MlflowClient().set_tag(run.info.run_id, TAG_ERROR, message)
        except Exception:  # noqa: BLE001 - never hide the student's own error
            pass
        previous(exc_type, exc, tb)

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


def give_up_on_the_server() -> None:
    """Anything MLflow still sends at exit (ending a run left open) gives up at once."""
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "1"

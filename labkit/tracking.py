"""Where to see a run: the address of the MLflow UI for the lab's store.

`python -m labkit ui` notes the address it serves on in a small file beside the local
store (``.mlflow-ui``) while it runs, so that a task script links its runs to the UI
the student really opened (``--port 5050`` included) and says "open the UI" only when
nothing answers there.
"""

from __future__ import annotations

import os
from pathlib import Path

from labkit.net import answers
from labkit.store import is_remote, sqlite_path, tracking_uri

UI_PORT = 5000  # `python -m labkit ui` serves here unless told --port
UI_ADDRESS = f"http://127.0.0.1:{UI_PORT}"
UI_RECORD = ".mlflow-ui"


def ui_record(uri: str | None = None) -> Path | None:
    """The file beside a local store where `python -m labkit ui` notes its address."""
    db = sqlite_path(uri or tracking_uri())
    return None if db is None else db.parent / UI_RECORD


def recorded_ui(uri: str | None = None) -> str | None:
    """The address `python -m labkit ui` noted for this store, if it did."""
    record = ui_record(uri)
    try:
        return record.read_text(encoding="utf-8").strip() or None if record else None
    except OSError:
        return None


def ui_answers(base: str = UI_ADDRESS, timeout: float = 1.0) -> bool:
    """True when an MLflow server answers ``base``/health (it does so once it serves requests)."""
    return answers(base + "/health", timeout=timeout)


def ui_base() -> str:
    """Where the UI for the lab's store is: the server itself, the noted `labkit ui`, or 5000."""
    uri = tracking_uri()
    return uri.rstrip("/") if is_remote(uri) else recorded_ui(uri) or UI_ADDRESS


def open_ui() -> str | None:
    """The address of a UI that answers for the lab's store now, else None."""
    base = ui_base()
    return base if ui_answers(base) else None


def _workspace_query() -> str:
    workspace = os.environ.get("MLFLOW_WORKSPACE")
    return f"?workspace={workspace}" if workspace else ""


def run_url(run) -> str:
    return (f"{ui_base()}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
            f"{_workspace_query()}")

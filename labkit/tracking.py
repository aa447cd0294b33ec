"""Where to see a run: the address of the MLflow UI for the lab's store."""

from __future__ import annotations

import os

from labkit.store import is_remote, tracking_uri

UI_ADDRESS = "http://127.0.0.1:5000"


def ui_base() -> str:
    """Where the UI for the lab's store is: the server itself, or the local `labkit ui`."""
    uri = tracking_uri()
    return uri.rstrip("/") if is_remote(uri) else UI_ADDRESS


def _workspace_query() -> str:
    workspace = os.environ.get("MLFLOW_WORKSPACE")
    return f"?workspace={workspace}" if workspace else ""


def run_url(run) -> str:
    return (f"{ui_base()}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
            f"{_workspace_query()}")

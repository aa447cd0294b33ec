"""MLflow helpers the task scripts share: fast model logging, run addresses, figures."""

from __future__ import annotations

import os
from importlib.metadata import version

from labkit.store import is_remote, tracking_uri

# What mlflow.sklearn.log_model needs to be fast and to accept tree models:
# - pip_requirements: MLflow otherwise infers them in a subprocess (seconds per model);
# - skops_trusted_types: skops, the default format, refuses to save a tree it does not trust.
SKLEARN_LOG_OPTIONS = {
    "pip_requirements": [
        f"mlflow=={version('mlflow')}",
        f"scikit-learn=={version('scikit-learn')}",
        f"skops=={version('skops')}",
    ],
    "skops_trusted_types": ["sklearn.tree._tree.Tree"],
}

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


def experiment_url(experiment_id: str) -> str:
    return f"{ui_base()}/#/experiments/{experiment_id}{_workspace_query()}"

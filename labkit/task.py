"""What every task script does first and last: pick the store, then say what happened."""

from __future__ import annotations

import sys

from labkit import plots
from labkit.crash import install_crash_note
from labkit.store import StoreError, use_lab_store
from labkit.todo import print_open_todos
from labkit.tracking import run_url


def start(title: str) -> str:
    """Point MLflow at the lab's store (creating it if needed) and announce the task."""
    try:
        uri = use_lab_store()
    except StoreError as exc:
        sys.exit(str(exc))
    install_crash_note()
    print(f"== {title} ==")
    print(f"Tracking store: {uri}")
    return uri


def report_run(run, metrics: dict | None = None) -> None:
    """One line per run: its name, its metrics and where to see it in the UI."""
    if run is None:
        print("  (no run was started: see the TODOs below)")
        return
    shown = ""
    if metrics:
        shown = "  " + "  ".join(f"{k}={v:.3f}" for k, v in metrics.items())
    print(f"  run '{run.info.run_name}'{shown}")
    print(f"      {run_url(run)}")


def finish(task: str) -> None:
    """Close with the grading command, the noise floor and the TODOs still open."""
    print(f"\nIrreducible error of the data: RMSE about {plots.NOISE_SD_MS:.0f} ms (no model can do better).")
    from labkit.store import is_remote, tracking_uri
    from labkit.tracking import ui_base

    if is_remote(tracking_uri()):
        print(f"See your runs at {ui_base()}, then grade with:")
    else:
        print("Open the UI with `python -m labkit ui`, then grade with:")
    print(f"  python grader/check.py {task}")
    print_open_todos()


def logged_model_uri(run_id: str | None) -> str | None:
    """The ``models:/m-...`` URI of the model a run logged, or None (and why) if it has none."""
    import mlflow

    from labkit import names

    if run_id is None:
        print("  No best task-3 run found yet (TODO 4.1), so there is nothing to register.")
        return None
    if mlflow.active_run() is not None:
        mlflow.set_tag(names.TAG_BEST_RUN, run_id)
    run = mlflow.get_run(run_id)
    outputs = run.outputs.model_outputs if run.outputs else []
    if not outputs:
        print(
            f"  Run '{run.info.run_name}' has no logged model. "
            "Did you finish TODO 3.3 and run task 3 again?"
        )
        return None
    return f"models:/{outputs[-1].model_id}"


def alias_exists(client, model_name: str, alias: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        client.get_model_version_by_alias(model_name, alias)
    except MlflowException:
        return False
    return True


def report_registry(client, best_run_id, version, staging_rmse) -> None:
    from labkit import names
    from labkit.tracking import ui_base

    if best_run_id is not None:
        print(f"Best task-3 run: {mlflow_run_name(best_run_id)} ({best_run_id})")
    if version is not None:
        print(f"Registered '{names.REGISTERED_MODEL}' version {version.version}")
        print(f"      {ui_base()}/#/models/{names.REGISTERED_MODEL}")
    if alias_exists(client, names.REGISTERED_MODEL, names.ALIAS):
        staged = client.get_model_version_by_alias(names.REGISTERED_MODEL, names.ALIAS)
        print(f"Alias '{names.ALIAS}' -> version {staged.version}")
    if staging_rmse is not None:
        print(f"Loaded {names.STAGING_URI}: test rmse {staging_rmse:.3f} ms")


def mlflow_run_name(run_id: str) -> str:
    import mlflow

    return mlflow.get_run(run_id).info.run_name

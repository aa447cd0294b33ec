"""What every task script does first and last: pick the store, then say what happened."""

from __future__ import annotations

import math
import sys

from labkit import plots
from labkit.crash import install_crash_note
from labkit.i18n import Domain
from labkit.store import StoreError, is_remote, tracking_uri, prepare_lab_store
from labkit.todo import print_open_todos
from labkit.tracking import open_ui, run_url, ui_base

_, N_, _n = Domain("labkit").functions()


def start(title: str) -> str:
    """Check the lab's store (creating it if needed), announce the task, return the store's URI."""
    try:
        uri = prepare_lab_store()
    except StoreError as exc:
        sys.exit(str(exc))
    install_crash_note()
    print(f"== {title} ==")
    print(_("Tracking store: {uri}", uri=uri))
    return uri


def report_run(run, metrics=None) -> None:
    """One line per run: its name, the metrics MLflow stored for it, and where to see it.

    ``metrics`` names the metrics to show: a list of names, or the script's own dict of
    them. The values printed are read back from the tracking store (``mlflow.get_run``),
    so a metric logged wrong shows wrong here too; where the store holds another value
    than the script's dict, or none, the line says so.
    """
    if run is None:
        print("  " + _("(no run was started: see the TODOs below)"))
        return
    import mlflow

    stored = mlflow.get_run(run.info.run_id)
    shown = [_shown_metric(key, stored.data.metrics, metrics) for key in (metrics or ())]
    print("  " + "  ".join([_("run '{name}'", name=stored.info.run_name), *shown]))
    print(f"      {run_url(stored)}")


def _shown_metric(key: str, stored: dict, computed) -> str:
    """``rmse=23.750`` as stored; flagged when not logged, or when it differs from the script's."""
    if key not in stored:
        return _("{key}: not logged", key=key)
    value = stored[key]
    text = f"{key}={value:.3f}"
    mine = computed.get(key) if isinstance(computed, dict) else None
    if isinstance(mine, (int, float)) and not math.isclose(mine, value, rel_tol=1e-6, abs_tol=1e-9):
        text += " " + _("(the script computed {value:.3f})", value=mine)
    return text


def finish(task: str) -> None:
    """Close with the grading command, the irreducible error and the TODOs still open."""
    print("\n" + _("Irreducible error of the data: RMSE about {noise:.0f} ms (no model can do better).",
                   noise=plots.NOISE_SD_MS))
    if is_remote(tracking_uri()) or open_ui():
        print(_("See your runs at {url}, then grade with:", url=ui_base()))
    else:
        print(_("Open the UI with `python -m labkit ui`, then grade with:"))
    print(f"  python grader/check.py {task}")
    print_open_todos()

"""What every task script does first and last: pick the store, then say what happened."""

from __future__ import annotations

import sys

from labkit import plots
from labkit.crash import install_crash_note
from labkit.i18n import Domain
from labkit.store import StoreError, is_remote, tracking_uri, prepare_lab_store
from labkit.todo import print_open_todos
from labkit.tracking import run_url, ui_base

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


def report_run(run, metrics: dict | None = None) -> None:
    """One line per run: its name, its metrics and where to see it in the UI."""
    if run is None:
        print("  " + _("(no run was started: see the TODOs below)"))
        return
    shown = ""
    if metrics:
        shown = "  " + "  ".join(f"{k}={v:.3f}" for k, v in metrics.items())
    print("  " + _("run '{name}'", name=run.info.run_name) + shown)
    print(f"      {run_url(run)}")


def finish(task: str) -> None:
    """Close with the grading command, the noise floor and the TODOs still open."""
    print("\n" + _("Irreducible error of the data: RMSE about {noise:.0f} ms (no model can do better).",
                   noise=plots.NOISE_SD_MS))
    if is_remote(tracking_uri()):
        print(_("See your runs at {url}, then grade with:", url=ui_base()))
    else:
        print(_("Open the UI with `python -m labkit ui`, then grade with:"))
    print(f"  python grader/check.py {task}")
    print_open_todos()

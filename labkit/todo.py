"""Bookkeeping for the student scripts: which TODOs are still open, and the closing summary.

A TODO stub calls ``todo("1.1")``; it records that TODO as open. Used as
``with todo("1.2"):`` it stands in for ``with mlflow.start_run(...):`` until the
student writes it, so an untouched script still runs to the end. As
``model_info = todo("3.2")`` it stands in for the ``ModelInfo`` of a model not logged
yet: its ``model_id`` is None, so the lines after it still run.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from labkit.i18n import Domain

_, N_, _n = Domain("labkit").functions()

_open: list[str] = []


class todo:  # noqa: N801 - reads as a statement in the student scripts
    model_id = None  # as model_info: no logged model yet

    def __init__(self, todo_id: str) -> None:
        self.todo_id = todo_id
        if todo_id not in _open:
            _open.append(todo_id)

    def __enter__(self) -> None:
        import mlflow

        self._run_before = mlflow.active_run()
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        # Stands in for `with mlflow.start_run():`. Without a run, MLflow starts one on
        # the first log call; like the block it replaces, end that run here.
        import mlflow

        if self._run_before is None and mlflow.active_run() is not None:
            mlflow.end_run("FINISHED" if exc_type is None else "FAILED")
        return False


_STUB_CALL = re.compile(r"""^(?!\s*#).*\btodo\(["'](\d+\.\d+)["']\)""", re.MULTILINE)


def open_todos() -> list[str]:
    """TODOs whose stub ran, plus those whose stub is still in the running script."""
    found = list(_open)
    script = getattr(sys.modules.get("__main__"), "__file__", None)
    if script and Path(script).is_file():
        for todo_id in _STUB_CALL.findall(Path(script).read_text(encoding="utf-8")):
            if todo_id not in found:
                found.append(todo_id)
    return sorted(found, key=lambda i: tuple(int(p) for p in i.split(".")))


def print_open_todos() -> None:
    still_open = open_todos()
    if still_open:
        print("\n" + _n("Still open: TODO {todos}. Search your script for 'TODO'.",
                        "Still open: TODO {todos}. Search your script for 'TODO'.",
                        len(still_open), todos=", ".join(still_open)))
    else:
        print("\n" + _("No TODO left open in this script."))

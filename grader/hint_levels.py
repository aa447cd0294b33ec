"""How far each TODO's help went (the levels of grader/hints.py), kept with the student's work.

Beside a local store: a small JSON file next to its database (``hint_levels_file`` of the lab's store module),
``{"levels": {"3.2": 1}}``, which ``python -m labkit reset`` moves to the backup with the store.
On a tracking server (or any other database): one tag per TODO, ``lab.hint_level.3.2``, on the
task's experiment in the student's own workspace, which the ``--hint`` request sets with the
student's own credentials. Grading only reads them (the gradebook's grading user too).
"""

from __future__ import annotations

import json
from pathlib import Path

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from requests.exceptions import RequestException

from grader.checks import task_of
from grader.hints import LAST_LEVEL
from labkit.lab import EXPERIMENTS
from labkit.store import hint_levels_file, sqlite_path

TAG_PREFIX = "lab.hint_level."


def levels_file(uri: str) -> Path | None:
    """The JSON file of a local store, or None for a store that keeps its levels in tags."""
    db = sqlite_path(uri)
    return hint_levels_file(Path(db)) if db is not None else None


def _valid(levels) -> dict[str, int]:
    """The well-formed entries of a record: TODO id -> a level from 1 to the last."""
    if not isinstance(levels, dict):
        return {}
    found = {}
    for todo_id, level in levels.items():
        try:
            level = int(level)
        except (TypeError, ValueError):
            continue
        if isinstance(todo_id, str) and level > 0:
            found[todo_id] = min(level, LAST_LEVEL)
    return found


def read_file(path: Path) -> dict[str, int]:
    """The levels in a local record; none when it is missing or unreadable (a record is never
    worth stopping the grading for)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return _valid(data.get("levels") if isinstance(data, dict) else None)


def from_tags(tags: dict) -> dict[str, int]:
    """The levels among an experiment's tags."""
    return _valid({key[len(TAG_PREFIX):]: value for key, value in (tags or {}).items()
                   if key.startswith(TAG_PREFIX)})


def read(store) -> dict[str, int]:
    """The levels reached so far, read through the grader's read-only ``Store``."""
    path = levels_file(store.uri)
    if path is not None:
        return read_file(path)
    levels: dict[str, int] = {}
    for name in EXPERIMENTS.values():
        try:
            experiment = store.experiment(name)
        except (MlflowException, RequestException):  # the checks have said what is wrong with the store
            continue
        if experiment is not None:
            levels.update(from_tags(experiment.tags))
    return levels


def next_levels(current: dict[str, int], todo_ids) -> dict[str, int]:
    """``current`` with each of ``todo_ids`` one level higher, up to the last."""
    raised = dict(current)
    for todo_id in todo_ids:
        raised[todo_id] = min(current.get(todo_id, 0) + 1, LAST_LEVEL)
    return raised


def record(uri: str, current: dict[str, int], todo_ids) -> dict[str, int]:
    """Raise ``todo_ids`` one level each and record it; returns every level now reached.

    OSError (a local file that cannot be written) and MlflowException (a server that refuses)
    reach the caller, which says what to do."""
    path = levels_file(uri)
    if path is not None:
        # the record holds every task's levels: the report asked for may cover only one task
        levels = next_levels({**read_file(path), **current}, todo_ids)
        path.write_text(json.dumps({"levels": dict(sorted(levels.items()))}, indent=2) + "\n",
                        encoding="utf-8")
        return levels
    levels = next_levels(current, todo_ids)  # one tag per TODO: the other tasks' tags stay as they are
    client = MlflowClient(tracking_uri=uri)
    for todo_id in todo_ids:
        name = EXPERIMENTS[task_of(todo_id)]
        experiment = client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
        client.set_experiment_tag(experiment_id, TAG_PREFIX + todo_id, str(levels[todo_id]))
    return levels

"""Has a student's work changed since the board last graded it? One cheap look per workspace.

A student's grade depends only on what their workspace holds: its experiments (and their tags,
which hold the hint levels asked for), the runs in them (status, times, params, latest metrics,
tags, logged models) and, once task 4 has a run, the registered models (versions, aliases). MlflowClient searches read all of that in
one page each for a lab-sized workspace; a digest of the answer is the workspace's
fingerprint. Same digest, same grade: the board grades a student again only when it differs.

Each search costs the class server ~10 ms of CPU however small its answer (measured in
bench/bench_board.py), so the look asks only what can change a grade: the registry is read
once task 4 has a run, since every registry TODO waits for 4.1, which grades that run.
Not seen: a metric's earlier history (search_runs returns each metric's latest value),
which no TODO grades; a logged model's files changed in place; and, before task 4 has a
run, the registry, which shows only in the hints of the skipped 4.x cells.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from labkit.lab import DEFAULT_EXPERIMENT, EXPERIMENTS

# The looks are small HTTP requests that wait on the server, not on this process's CPU.
LOOKS_AT_ONCE = 8
REGISTRY_TASK = "task4"  # the registry's TODOs (4.2, 4.3) wait for 4.1, which grades a task-4 run


@dataclass(frozen=True)
class Fingerprint:
    digest: str
    started: frozenset[str] = field(default_factory=frozenset)  # tasks with a run in the store
    error: str = ""  # why the workspace could not be read (the digest then holds the error)


def fingerprint(client, workspace: str | None = None, as_of_ms: int | None = None) -> Fingerprint:
    """The fingerprint of ``workspace`` as ``client`` reads it (None: the client's own); with a
    deadline (``as_of_ms``, ms since the epoch), only runs that ended by then, as the grader counts them."""
    from mlflow.exceptions import MlflowException
    from mlflow.utils.workspace_context import ServerWorkspaceContext
    from requests.exceptions import RequestException

    # The ContextVar half of mlflow.set_workspace, without the process-wide variable: each
    # thread reads its own workspace, and the requests carry it in their header.
    with ServerWorkspaceContext(workspace):
        try:
            return _read(client, as_of_ms)
        except (MlflowException, RequestException) as exc:
            reason = getattr(exc, "message", None) or str(exc)
            reason = " ".join(reason.split())[:200]
            return Fingerprint(digest=f"error: {reason}", error=reason)


def looker(tracking_uri: str, as_of_ms: int | None = None):
    """``look(workspace[, deadline_ms]) -> Fingerprint`` through one MlflowClient (safe to call from
    many threads); a student's own deadline replaces ``as_of_ms``."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    return lambda workspace, deadline_ms=as_of_ms: fingerprint(client, workspace, deadline_ms)


def fingerprint_all(tracking_uri: str, workspaces: list[str], look=None) -> dict[str, Fingerprint]:
    """Every workspace's fingerprint, several looks at once (through ``look``, else over HTTP)."""
    look = look or looker(tracking_uri)
    if hasattr(look, "survey"):  # a look from the database: its one pass first
        look.survey()
    with ThreadPoolExecutor(max_workers=LOOKS_AT_ONCE) as pool:
        return dict(zip(workspaces, pool.map(look, workspaces)))


def _read(client, as_of_ms: int | None) -> Fingerprint:
    experiments = _all(client.search_experiments)
    ids = [e.experiment_id for e in experiments]
    runs = _all(client.search_runs, ids) if ids else []
    if as_of_ms is not None:  # grader/deadline.py: a run counts when it ended by the deadline
        runs = [r for r in runs if r.info.end_time is not None and r.info.end_time <= as_of_ms]
    names = {e.experiment_id: e.name for e in experiments}
    started = started_tasks({names[r.info.experiment_id] for r in runs})
    models = _all(client.search_registered_models) if REGISTRY_TASK in started else []
    state = {
        # an experiment's tags hold the hint levels a student asked for (grader/hint_levels.py)
        "experiments": sorted([e.experiment_id, e.name, e.lifecycle_stage, sorted((e.tags or {}).items())]
                              for e in experiments),
        "runs": sorted(_run_state(r) for r in runs),
        "models": sorted(_model_state(m) for m in models),
    }
    digest = hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()
    return Fingerprint(digest, started)


def started_tasks(experiments_with_runs: set[str]) -> frozenset[str]:
    """The tasks a student has started: a run in the task's experiment (for task 1, a run in
    Default counts too: that is where a forgotten set_experiment puts it)."""
    started = {task for task, name in EXPERIMENTS.items() if name in experiments_with_runs}
    if DEFAULT_EXPERIMENT in experiments_with_runs:
        started.add("task1")
    return frozenset(started)


def _all(search, *args) -> list:
    """Every page of an MlflowClient search (one page for a lab-sized workspace)."""
    found, token = [], None
    while True:
        page = search(*args, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return found


def _run_state(run) -> list:
    info, data = run.info, run.data
    outputs = getattr(run.outputs, "model_outputs", None) or []
    return [info.run_id, info.experiment_id, info.run_name, info.status, info.lifecycle_stage,
            info.start_time, info.end_time, sorted(data.params.items()), sorted(data.metrics.items()),
            sorted(data.tags.items()), sorted(o.model_id for o in outputs)]


def _model_state(model) -> list:
    # A version's number is a string over HTTP and an int from the database (classroom/board_database.py).
    versions = [[str(v.version), v.run_id, v.status, v.current_stage, v.source, v.last_updated_timestamp]
                for v in model.latest_versions or []]
    aliases = sorted((alias, str(version)) for alias, version in (model.aliases or {}).items())
    return [model.name, model.last_updated_timestamp, aliases, sorted(versions), sorted((model.tags or {}).items())]

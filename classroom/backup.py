"""A backup of one student's workspace, taken with MLflow's own client.

A backup is a folder: ``backup.json`` holds the workspace's experiments, runs (info,
params, metrics and their whole history, tags, datasets, model outputs), logged models
and registered models with their versions and aliases, each written in MLflow's own
JSON form of its entity (``to_proto()``); ``runs/<run id>/`` and ``models/<model id>/``
hold their artifacts. ``classroom/restore.py`` brings it back. Deleted runs and
experiments are kept too, and come back deleted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from classroom.provision import in_workspace
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

FORMAT = "classroom-workspace-backup/1"
MANIFEST = "backup.json"


class BackupError(Exception):
    """A backup could not be taken or read; the message is one line that names the fix."""


def proto_json(entity) -> dict:
    from mlflow.utils.proto_json_utils import message_to_json

    return json.loads(message_to_json(entity.to_proto()))


def take_backup(client, workspace: str, server_url: str, folder: Path) -> dict:
    """Copy ``workspace`` into ``folder`` (which must not exist yet); return the manifest."""
    from mlflow.entities import ViewType

    try:
        folder.mkdir(parents=True, exist_ok=False)
        with in_workspace(workspace):
            experiments = sorted(client.search_experiments(view_type=ViewType.ALL),
                                 key=lambda e: int(e.experiment_id))  # restored in this order
            manifest = {
                "format": FORMAT, "workspace": workspace, "server": server_url,
                "taken": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "experiments": [_experiment(client, e, folder, server_url) for e in experiments],
                "registered_models": [_registered_model(client, m) for m in _registered_models(client)],
            }
    except Exception as exc:  # noqa: BLE001 - nothing is deleted; say so in one line
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise BackupError(_("Could not back up workspace '{workspace}' ({reason}); nothing was deleted. "
                            "Remove the incomplete {folder} and try again.",
                            workspace=workspace, reason=reason, folder=folder)) from exc
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    check_backup(folder, manifest)
    return manifest


def _experiment(client, experiment, folder: Path, server_url: str) -> dict:
    from mlflow.entities import ViewType

    runs = client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL, max_results=50000)
    models = _all_pages(lambda token: client.search_logged_models(
        experiment_ids=[experiment.experiment_id], page_token=token))
    return {
        "experiment": proto_json(experiment),
        "runs": [_run(client, run, folder) for run in runs],
        "logged_models": [_logged_model(model, folder, server_url) for model in models],
    }


def _run(client, run, folder: Path) -> dict:
    run_id = run.info.run_id
    history = [proto_json(m) for key in run.data.metrics for m in client.get_metric_history(run_id, key)]
    files = folder / "runs" / run_id
    files.mkdir(parents=True)
    if client.list_artifacts(run_id):
        client.download_artifacts(run_id, "", str(files))
    return {"run": proto_json(run), "metric_history": history, "artifacts": _relative(files, folder)}


def _logged_model(model, folder: Path, server_url: str) -> dict:
    import mlflow.artifacts

    files = folder / "models" / model.model_id
    files.mkdir(parents=True)
    # MLflow downloads a folder into a subfolder of the same name: keep where the files went.
    local = mlflow.artifacts.download_artifacts(artifact_uri=model.artifact_location, dst_path=str(files),
                                                tracking_uri=server_url)
    return {"model": proto_json(model), "artifacts": _relative(Path(local), folder)}


def _registered_models(client) -> list:
    return _all_pages(lambda token: client.search_registered_models(page_token=token))


def _registered_model(client, model) -> dict:
    versions = _all_pages(lambda token: client.search_model_versions(
        f"name = '{model.name}'", page_token=token))
    return {"model": proto_json(model),
            "versions": [proto_json(v) for v in sorted(versions, key=lambda v: int(v.version))]}


def _all_pages(search) -> list:
    items, token = [], None
    while True:
        page = search(token)
        items.extend(page)
        token = page.token
        if not token:
            return items


def _relative(path: Path, folder: Path) -> str:
    """``path`` inside the backup ``folder``: MLflow answers absolute paths, --backups may be relative."""
    return path.resolve().relative_to(folder.resolve()).as_posix()


def count_files(path: Path) -> int:
    return sum(1 for p in path.rglob("*") if p.is_file())


def check_backup(folder: Path, manifest: dict | None = None) -> dict:
    """Read a backup back and check it is whole: the manifest parses, every artifact folder
    exists, every logged model has its files. Raise BackupError otherwise."""
    try:
        stored = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(_("{folder} is not a readable backup ({reason}). Is the path right?",
                            folder=folder, reason=exc)) from None
    if stored.get("format") != FORMAT or (manifest is not None and stored != manifest):
        raise BackupError(_("{manifest} is not a {format} backup, or differs from what was taken.",
                            manifest=folder / MANIFEST, format=FORMAT))
    for experiment in stored["experiments"]:
        for item in experiment["runs"] + experiment["logged_models"]:
            if not (folder / item["artifacts"]).is_dir():
                raise BackupError(_("The backup in {folder} lacks {files}: take it again.",
                                    folder=folder, files=item["artifacts"]))
        for model in experiment["logged_models"]:
            if count_files(folder / model["artifacts"]) == 0:
                raise BackupError(_("The backup in {folder} holds no files for logged model "
                                    "{files}: take it again.", folder=folder, files=model["artifacts"]))
    return stored


def summary(manifest: dict) -> str:
    runs = sum(len(e["runs"]) for e in manifest["experiments"])
    models = sum(len(e["logged_models"]) for e in manifest["experiments"])
    experiments, registered = len(manifest["experiments"]), len(manifest["registered_models"])
    return ", ".join([
        _n("{count} experiment", "{count} experiments", experiments, count=experiments),
        _n("{count} run", "{count} runs", runs, count=runs),
        _n("{count} logged model", "{count} logged models", models, count=models),
        _n("{count} registered model", "{count} registered models", registered, count=registered),
    ])

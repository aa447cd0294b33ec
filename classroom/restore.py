"""Bring a workspace backup (classroom/backup.py) back, with MLflow's own client.

MLflow gives restored runs and models new ids; everything else comes back as it was:
experiment names and tags, each run's name, times, status, params, metric history,
tags, datasets and artifacts, each logged model's params, tags, metrics and files,
each registered model's versions (in order), tags, descriptions and aliases. A tag,
param or version source that named an old run or model id names the new one (task 4's
``lab.best_run_id``, a version's ``models:/m-…`` source). Restoring goes into an empty
workspace only: it never mixes with, or overwrites, what a student logged since.
"""

from __future__ import annotations

from pathlib import Path

from classroom.backup import BackupError, check_backup
from classroom.provision import DEFAULT_EXPERIMENT, in_workspace
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

BATCH = 100  # MLflow's log_batch takes at most 100 params or tags per call (1000 metrics)
SYSTEM_MODEL_TAGS = {"mlflow.modelVersions"}  # MLflow keeps this one itself when versions are made


def parse(entity_class, proto_class, data: dict):
    from mlflow.utils.proto_json_utils import parse_dict

    message = proto_class()
    parse_dict(data, message)
    return entity_class.from_proto(message)


class Restorer:
    def __init__(self, client, workspace: str, folder: Path) -> None:
        self.client = client
        self.workspace = workspace
        self.folder = folder
        self.manifest = check_backup(folder)
        self.ids: dict[str, str] = {}  # old run and model ids -> new ones

    def restore(self) -> None:
        with in_workspace(self.workspace):
            self._refuse_unless_empty()
            try:
                # Every run and model first, so that a tag naming any old id can name the new one.
                created = [self._create(experiment) for experiment in self.manifest["experiments"]]
                for experiment_id, experiment, runs, linked in created:
                    for (run, history), original in zip(runs, experiment["runs"]):
                        self._fill_run(run, history, original, linked)
                for experiment_id, experiment, _runs, _linked in created:
                    if experiment["experiment"].get("lifecycle_stage") == "deleted":
                        self.client.delete_experiment(experiment_id)
                for model in self.manifest["registered_models"]:
                    self._registered_model(model)
            except Exception as exc:  # noqa: BLE001 - the backup is untouched; say what to do
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
                raise BackupError(_(
                    "Restoring {folder} into '{workspace}' failed ({reason}); the backup is "
                    "untouched, the workspace half restored. Run `python -m classroom reset "
                    "{workspace}`, then restore again.",
                    folder=self.folder, workspace=self.workspace, reason=reason)) from exc

    def _refuse_unless_empty(self) -> None:
        from mlflow.entities import ViewType

        experiments = self.client.search_experiments(view_type=ViewType.ALL)
        runs = self.client.search_runs([e.experiment_id for e in experiments], run_view_type=ViewType.ALL,
                                       max_results=1) if experiments else []
        extra = [e.name for e in experiments if e.name != DEFAULT_EXPERIMENT]
        if runs or extra or self.client.search_registered_models(max_results=1):
            raise BackupError(_(
                "Workspace '{workspace}' is not empty; restoring would mix the backup with "
                "what is there. Reset it first (`python -m classroom reset {workspace}` backs it up).",
                workspace=self.workspace))

    def remap(self, value: str) -> str:
        for old, new in self.ids.items():
            if old in value:
                value = value.replace(old, new)
        return value

    def _create(self, backup: dict):
        """The experiment (or the empty one of that name), its runs and logged models, still empty."""
        from mlflow.entities import Experiment
        from mlflow.protos.service_pb2 import Experiment as ProtoExperiment

        experiment = parse(Experiment, ProtoExperiment, backup["experiment"])
        existing = self.client.get_experiment_by_name(experiment.name)
        experiment_id = existing.experiment_id if existing else self.client.create_experiment(
            experiment.name, tags=experiment.tags)
        for key, value in experiment.tags.items():
            self.client.set_experiment_tag(experiment_id, key, value)
        runs = [self._parse_run(item) for item in backup["runs"]]
        for run, _history in sorted(runs, key=lambda pair: pair[0].info.start_time or 0):
            self.ids[run.info.run_id] = self.client.create_run(experiment_id, start_time=run.info.start_time).info.run_id
        linked = {}
        for item in backup["logged_models"]:
            linked.update(self._logged_model(experiment_id, item))
        return experiment_id, backup, runs, linked

    def _parse_run(self, item: dict):
        from mlflow.entities import Metric, Run
        from mlflow.protos.service_pb2 import Metric as ProtoMetric
        from mlflow.protos.service_pb2 import Run as ProtoRun

        run = parse(Run, ProtoRun, item["run"])
        history = [parse(Metric, ProtoMetric, m) for m in item["metric_history"]]
        return run, history

    def _logged_model(self, experiment_id: str, item: dict) -> dict:
        """Make the model again, upload its files; return its metrics, keyed for linking."""
        from mlflow.entities import LoggedModel
        from mlflow.protos.service_pb2 import LoggedModel as ProtoLoggedModel

        model = parse(LoggedModel, ProtoLoggedModel, item["model"])
        tags = {k: self.remap(v) for k, v in model.tags.items() if k not in SYSTEM_MODEL_TAGS}
        created = self.client.create_logged_model(
            experiment_id, name=model.name, source_run_id=self.ids.get(model.source_run_id),
            tags=tags, params={k: self.remap(v) for k, v in model.params.items()},
            model_type=model.model_type)
        self.ids[model.model_id] = created.model_id
        files = self.folder / item["artifacts"]
        if any(files.iterdir()):
            self.client.log_model_artifacts(created.model_id, str(files))
        self.client.finalize_logged_model(created.model_id, model.status)
        return {(m.run_id, m.key, m.value, m.timestamp, m.step): (created.model_id, m)
                for m in model.metrics or []}

    def _fill_run(self, run, history, original: dict, linked: dict) -> None:
        from mlflow.entities import LoggedModelOutput, Metric, Param, RunTag

        run_id = self.ids[run.info.run_id]
        metrics = []
        for m in history:
            model_id, source = linked.get((run.info.run_id, m.key, m.value, m.timestamp, m.step), (None, None))
            metrics.append(Metric(m.key, m.value, m.timestamp, m.step, model_id=model_id,
                                  dataset_name=source.dataset_name if source else None,
                                  dataset_digest=source.dataset_digest if source else None))
        params = [Param(k, self.remap(v)) for k, v in run.data.params.items()]
        tags = [RunTag(k, self.remap(v)) for k, v in run.data.tags.items()]
        for start in range(0, max(len(metrics), len(params), len(tags)), BATCH):
            self.client.log_batch(run_id, metrics=metrics[start:start + BATCH],
                                  params=params[start:start + BATCH], tags=tags[start:start + BATCH])
        if run.inputs and run.inputs.dataset_inputs:
            self.client.log_inputs(run_id, datasets=run.inputs.dataset_inputs)
        if run.outputs and run.outputs.model_outputs:
            self.client.log_outputs(run_id, [LoggedModelOutput(self.ids[o.model_id], o.step)
                                             for o in run.outputs.model_outputs if o.model_id in self.ids])
        files = self.folder / original["artifacts"]
        if any(files.iterdir()):
            self.client.log_artifacts(run_id, str(files))
        self.client.set_terminated(run_id, run.info.status, end_time=run.info.end_time or None)
        if run.info.lifecycle_stage == "deleted":
            self.client.delete_run(run_id)

    def _registered_model(self, item: dict) -> None:
        from mlflow.entities.model_registry import ModelVersion, RegisteredModel
        from mlflow.protos.model_registry_pb2 import ModelVersion as ProtoModelVersion
        from mlflow.protos.model_registry_pb2 import RegisteredModel as ProtoRegisteredModel

        model = parse(RegisteredModel, ProtoRegisteredModel, item["model"])
        self.client.create_registered_model(model.name, tags=model.tags, description=model.description or None)
        numbers = {}
        for data in item["versions"]:
            version = parse(ModelVersion, ProtoModelVersion, data)
            source = self.remap(version.source)
            # A version made from a logged model ("models:/m-…") names it in model_id too.
            model_id = self.ids.get(version.model_id) or next(
                (new for new in self.ids.values() if source == f"models:/{new}"), None)
            created = self.client.create_model_version(
                model.name, source, run_id=self.ids.get(version.run_id), tags=version.tags,
                description=version.description or None, model_id=model_id,
                await_creation_for=0)  # a PostgreSQL registry makes it READY at once
            numbers[version.version] = created.version
        for alias, version in model.aliases.items():
            self.client.set_registered_model_alias(model.name, alias, numbers[version])

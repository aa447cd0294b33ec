"""Read a local MLflow SQLite store with the standard library, for grading in a blink.

Opening a store through ``MlflowClient`` imports MLflow (~2 s), its SQLAlchemy store
and alembic's schema check (~1.5 s more): most of what a student waited for when
grading one task. The grader only reads a handful of tables, so for the lab's local
``sqlite:///`` store it reads them here, from the read-only snapshot ``grader.store``
takes. The answers have the shape of MLflow's entities (``run.info.status``,
``run.data.metrics``, ``version.aliases``...) and follow MLflow's rules: runs newest
first, deleted runs and model versions left out, a metric's latest value, NaN kept.
test/test_grader_sqlite_store.py holds every answer equal to ``MlflowClient``'s on
the same stores; a tracking server or another database still goes through MlflowClient.

Tables read (MLflow 3.17 schema): experiments, runs, latest_metrics, params, tags,
inputs (a run's logged-model outputs), logged_models, model_versions,
registered_models, registered_model_aliases.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

WORKSPACE = "default"  # a local store has the one default workspace
DELETED_VERSION_STAGE = "Deleted_Internal"  # MLflow's mark on a deleted model version


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str | None
    lifecycle_stage: str


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    run_name: str | None
    experiment_id: str
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str | None
    lifecycle_stage: str

    @property
    def run_uuid(self) -> str:
        return self.run_id


@dataclass(frozen=True)
class RunData:
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]


@dataclass(frozen=True)
class ModelOutput:
    model_id: str
    step: int


@dataclass(frozen=True)
class RunOutputs:
    model_outputs: list[ModelOutput]


@dataclass(frozen=True)
class Run:
    info: RunInfo
    data: RunData
    outputs: RunOutputs


@dataclass(frozen=True)
class LoggedModel:
    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    source_run_id: str | None
    model_type: str | None


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    current_stage: str | None
    source: str | None
    run_id: str | None
    status: str | None
    storage_location: str | None
    aliases: list[str] = field(default_factory=list)

    @property
    def model_id(self) -> str | None:
        """The logged model behind the version, read from its ``models:/m-...`` source."""
        source = self.source or ""
        if source.startswith("models:/m-"):
            return source[len("models:/"):].split("/")[0]
        return None


class SqliteStore:
    """The same queries as ``grader.store.Store``, answered from an SQLite file."""

    def __init__(self, uri: str, db: Path) -> None:
        self.uri = uri
        self.client = None  # no MlflowClient: model files are read from the local disk
        self._db = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        self._cache: dict[tuple, object] = {}

    def close(self) -> None:
        self._db.close()

    def _rows(self, sql: str, *args) -> list[tuple]:
        return self._db.execute(sql, args).fetchall()

    def _memo(self, key: tuple, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    # Experiments
    def experiment(self, name: str) -> Experiment | None:
        return self._memo(("experiment", name), lambda: self._experiment(
            "name = ? and workspace = ?", name, WORKSPACE))

    def experiment_name(self, experiment_id: str) -> str:
        found = self._experiment("experiment_id = ?", int(experiment_id))
        if found is None:
            raise LookupError(f"no experiment with id {experiment_id}")
        return found.name

    def _experiment(self, where: str, *args) -> Experiment | None:
        rows = self._rows("select experiment_id, name, artifact_location, lifecycle_stage "
                          f"from experiments where {where}", *args)
        if not rows:
            return None
        experiment_id, name, location, stage = rows[0]
        return Experiment(str(experiment_id), name, location, stage)

    # Runs
    def runs(self, experiment_name: str) -> list[Run]:
        """Every active run of an experiment (any status), newest first."""
        def build():
            experiment = self.experiment(experiment_name)
            if experiment is None:
                return []
            ids = [r for (r,) in self._rows(
                "select run_uuid from runs where experiment_id = ? and lifecycle_stage = 'active' "
                "order by start_time desc, run_uuid", int(experiment.experiment_id))]
            runs = self._runs_by_id(ids)
            return sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.end_time or 0),
                          reverse=True)

        return self._memo(("runs", experiment_name), build)

    def run(self, run_id: str) -> Run | None:
        """One run, deleted or not (as MlflowClient.get_run), or None."""
        return self._memo(("run", run_id), lambda: next(iter(self._runs_by_id([run_id])), None))

    def _runs_by_id(self, ids: list[str]) -> list[Run]:
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        metrics: dict[str, dict] = {i: {} for i in ids}
        params: dict[str, dict] = {i: {} for i in ids}
        tags: dict[str, dict] = {i: {} for i in ids}
        outputs: dict[str, list] = {i: [] for i in ids}
        for run_id, key, value, is_nan in self._rows(
                f"select run_uuid, key, value, is_nan from latest_metrics where run_uuid in ({marks})", *ids):
            metrics[run_id][key] = float("nan") if is_nan else float(value)
        for run_id, key, value in self._rows(
                f"select run_uuid, key, value from params where run_uuid in ({marks})", *ids):
            params[run_id][key] = value
        for run_id, key, value in self._rows(
                f"select run_uuid, key, value from tags where run_uuid in ({marks})", *ids):
            tags[run_id][key] = value
        for run_id, model_id, step in self._rows(
                "select source_id, destination_id, step from inputs where source_type = 'RUN_OUTPUT' "
                f"and destination_type = 'MODEL_OUTPUT' and source_id in ({marks})", *ids):
            outputs[run_id].append(ModelOutput(model_id, step))
        found = {}
        for row in self._rows(
                "select run_uuid, name, experiment_id, status, start_time, end_time, artifact_uri, "
                f"lifecycle_stage from runs where run_uuid in ({marks})", *ids):
            run_id, name, experiment_id, status, start, end, artifact_uri, stage = row
            info = RunInfo(run_id, name, str(experiment_id), status, start, end, artifact_uri, stage)
            found[run_id] = Run(info, RunData(metrics[run_id], params[run_id], tags[run_id]),
                                RunOutputs(outputs[run_id]))
        return [found[i] for i in ids if i in found]

    # Logged models
    def logged_model(self, model_id: str) -> LoggedModel | None:
        def build():
            rows = self._rows(
                "select model_id, experiment_id, name, artifact_location, creation_timestamp_ms, "
                "source_run_id, model_type from logged_models where model_id = ?", model_id)
            if not rows:
                return None
            model_id_, experiment_id, *rest = rows[0]
            return LoggedModel(model_id_, str(experiment_id), *rest)

        return self._memo(("logged_model", model_id), build)

    def logged_models(self, run) -> list[LoggedModel]:
        """The models a run logged, newest first."""
        outputs = run.outputs.model_outputs if run.outputs else []
        models = [self.logged_model(o.model_id) for o in outputs]
        models = [m for m in models if m is not None]
        return sorted(models, key=lambda m: m.creation_timestamp or 0, reverse=True)

    # Model registry
    def versions(self, model_name: str) -> list[ModelVersion]:
        """The versions of a registered model, newest first (none if it does not exist)."""
        # As MlflowClient.search_model_versions: aliases are not filled in (see aliases()).
        rows = self._rows(
            "select name, version, current_stage, source, run_id, status, storage_location "
            "from model_versions where name = ? and workspace = ? and "
            "(current_stage is null or current_stage != ?) order by version desc",
            model_name, WORKSPACE, DELETED_VERSION_STAGE)
        return [ModelVersion(*row) for row in rows]

    def version(self, model_name: str, version: str | int) -> ModelVersion | None:
        return next((v for v in self.versions(model_name) if str(v.version) == str(version)), None)

    def aliases(self, model_name: str) -> dict[str, str]:
        return {alias: str(version) for alias, version in self._rows(
            "select alias, version from registered_model_aliases where name = ? and workspace = ?",
            model_name, WORKSPACE)}

    def registered_model_names(self) -> list[str]:
        return [name for (name,) in self._rows(
            "select name from registered_models where workspace = ? order by name limit 100",
            WORKSPACE)]

"""The grader's queries (grader/store.py), on real SQLite stores: each made once per grade,
every search read to its last page."""

from __future__ import annotations

from collections import Counter

import pytest

from labkit import lab
from grader.registry import todo_ids


class CountingClient:
    """The store's own MlflowClient, passed through, counting each call with its arguments."""

    def __init__(self, client) -> None:
        self._client = client
        self.calls: Counter = Counter()

    def __getattr__(self, name: str):
        found = getattr(self._client, name)
        if not callable(found):
            return found

        def call(*args, **kwargs):
            self.calls[(name, repr(args), repr(sorted(kwargs.items())))] += 1
            return found(*args, **kwargs)

        return call


@pytest.fixture
def counted(monkeypatch) -> list[CountingClient]:
    """Every client a grade's Store reads through, counting."""
    from grader import store

    clients: list[CountingClient] = []
    made = store.Store.__init__

    def counting_init(self, uri, client, *args, **kwargs):
        clients.append(CountingClient(client))
        made(self, uri, clients[-1], *args, **kwargs)

    monkeypatch.setattr(store.Store, "__init__", counting_init)
    return clients


def test_every_check_passes_on_the_solutions_and_asks_the_store_each_question_once(solutions_store, counted):
    """Does grading the solutions pass every check (15/15, each by status), making each MLflow client
    call at most once, the registry's included (versions and aliases are asked by 4.1 to 4.4)?
    (The one in-process grade of the solutions store: test_grader_rules' by-status check lives here.)"""
    from grader.core import grade

    report = grade(["all"], tracking_uri=solutions_store.uri)
    assert report.score == len(todo_ids()), [(r.id, r.rationale) for r in report.results if r.status != "pass"]
    assert [r.id for r in report.results] == todo_ids() and {r.status for r in report.results} == {"pass"}
    calls = counted[0].calls
    repeated = {call: times for call, times in calls.items() if times > 1}
    assert repeated == {}, repeated
    by_method = Counter(name for name, _args, _kwargs in calls.elements())
    assert by_method["search_model_versions"] == 1 and by_method["get_registered_model"] == 1, by_method


def add_finished_runs(client, experiment_id: str, runs: list[tuple[str, int]]) -> None:
    """Finished runs (name, start time), each as MlflowClient.create_run then set_terminated make
    it (MLflow's own store and table models: its row, its mlflow.runName tag, FINISHED a
    millisecond after its start), all in one transaction: 2,002 calls one by one cost seconds."""
    import uuid

    from mlflow.entities import RunStatus, SourceType
    from mlflow.entities.lifecycle_stage import LifecycleStage
    from mlflow.store.tracking.dbmodels.models import SqlRun, SqlTag
    from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME
    from mlflow.utils.uri import append_to_uri_path

    store = client._tracking_client.store
    location = client.get_experiment(experiment_id).artifact_location
    with store.ManagedSessionMaker(read_only=False) as session:
        for name, start in runs:
            run_id = uuid.uuid4().hex
            session.add(SqlRun(
                name=name, artifact_uri=append_to_uri_path(location, run_id, "artifacts"),
                run_uuid=run_id, experiment_id=int(experiment_id),
                source_type=SourceType.to_string(SourceType.UNKNOWN), source_name="",
                entry_point_name="", user_id="student", status=RunStatus.to_string(RunStatus.FINISHED),
                start_time=start, end_time=start + 1, deleted_time=None, source_version="",
                lifecycle_stage=LifecycleStage.ACTIVE,
                tags=[SqlTag(key=MLFLOW_RUN_NAME, value=name)]))
    made = client.search_runs([experiment_id], filter_string=f"attributes.run_name = '{runs[-1][0]}'")
    assert [r.info.status for r in made] == ["FINISHED"]  # MLflow reads them as its own


@pytest.mark.slow  # a grade of 1,004 runs
def test_a_task_with_over_a_thousand_runs_is_graded_on_all_of_them(solutions_store, lab_store):
    """After the solutions, 1,001 more finished runs in task 3's experiment (a student's
    exploring, newer than the graded runs): does task 3 still find its three runs, beyond
    the first page of 1,000 a search answers?"""
    from grader.core import grade

    solutions_store.copy_to(lab_store.folder)
    client = lab_store.client()
    experiment = client.get_experiment_by_name(lab.EXPERIMENT_TASK3).experiment_id
    newest = max(r.info.start_time for r in client.search_runs([experiment]))
    add_finished_runs(client, experiment, [(f"exploring-{i}", newest + 1 + i) for i in range(1001)])
    report = grade(["task3"], tracking_uri=lab_store.uri)
    assert report.score == len(todo_ids(["task3"])), [(r.id, r.rationale) for r in report.results]

"""The grader's queries (grader/store.py), on real SQLite stores: each made once per grade,
every search read to its last page."""

from __future__ import annotations

import sqlite3
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


def test_a_passing_grade_asks_the_store_each_question_once(solutions_store, counted):
    """Does grading the solutions (15/15) make each MLflow client call at most once, the
    registry's included (versions and aliases are asked by 4.1 to 4.4)?"""
    from grader.core import grade

    report = grade(["all"], tracking_uri=solutions_store.uri)
    assert report.score == len(todo_ids()), [(r.id, r.rationale) for r in report.results if r.status != "pass"]
    calls = counted[0].calls
    repeated = {call: times for call, times in calls.items() if times > 1}
    assert repeated == {}, repeated
    by_method = Counter(name for name, _args, _kwargs in calls.elements())
    assert by_method["search_model_versions"] == 1 and by_method["get_registered_model"] == 1, by_method


def copy_store(source, target) -> None:
    with sqlite3.connect(source.db) as read, sqlite3.connect(target.db) as write:
        read.backup(write)


@pytest.mark.slow  # 1,001 runs made one by one: a minute on a loaded machine
def test_a_task_with_over_a_thousand_runs_is_graded_on_all_of_them(solutions_store, lab_store):
    """After the solutions, 1,001 more finished runs in task 3's experiment (a student's
    exploring, newer than the graded runs): does task 3 still find its three runs, beyond
    the first page of 1,000 a search answers?"""
    from grader.core import grade

    copy_store(solutions_store, lab_store)
    client = lab_store.client()
    experiment = client.get_experiment_by_name(lab.EXPERIMENT_TASK3).experiment_id
    newest = max(r.info.start_time for r in client.search_runs([experiment]))
    for i in range(1001):
        run = client.create_run(experiment, start_time=newest + 1 + i, run_name=f"exploring-{i}")
        client.set_terminated(run.info.run_id, end_time=newest + 2 + i)
    report = grade(["task3"], tracking_uri=lab_store.uri)
    assert report.score == len(todo_ids(["task3"])), [(r.id, r.rationale) for r in report.results]

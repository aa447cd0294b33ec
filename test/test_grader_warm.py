"""The re-fits a grading child is handed ready-made (grader/context.py ``warm``, classroom/child.py).

The class's grading children are forked from a server that fitted, once, the models a student
who logged what the lab's scripts log makes the checks re-fit; a child then re-fits only what a
student logged otherwise. On a real store where the four solutions ran: the warm grade asks for
no re-fit it was not handed, and gives the cold grade's verdicts, in process and in a real
grading child.
"""

from __future__ import annotations

import pytest

from grader.render import to_json

pytestmark = pytest.mark.slow  # each grade re-fits or loads the lab's models: seconds


def verdicts(report: dict) -> list[tuple]:
    return [(r["id"], r["status"], r["points"], r["rationale"], r.get("hint"), r.get("note"))
            for r in report["results"]]


@pytest.fixture
def solutions_env(solutions_store, monkeypatch):
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_WORKSPACE", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", solutions_store.uri)
    return {"MLFLOW_TRACKING_URI": solutions_store.uri}


def test_a_warm_grade_refits_nothing_and_gives_the_cold_verdicts(solutions_env):
    """Does grading the solutions with the warm re-fits build no re-fit of its own (the warm keys
    are the ones the checks ask for), with every verdict the grade without them gives?"""
    from grader.context import Kept, solutions_refits, warm
    from grader.core import grade

    cold = to_json(grade(["all"]))
    built: list = []

    class Counting(Kept):
        def get(self, key, build):
            if key not in self._items:
                built.append(key[0])
            return super().get(key, build)

    kept = Counting(warm(solutions_refits()))
    try:
        hot = to_json(grade(["all"], kept=kept))
    finally:
        kept.close()
    assert cold["score"] == cold["max_score"], "the solutions pass every TODO"
    assert verdicts(hot) == verdicts(cold)
    assert "refit" not in built and "split" not in built, built


def test_a_grading_child_of_the_warm_fork_server_grades_as_a_cold_one(solutions_env):
    """Does a real grading child (forked from the fork server that warmed up) give the report the
    grader gives in this process without warm re-fits?"""
    from classroom.isolation import GRADED, grade_isolated
    from grader.core import grade

    outcome = grade_isolated(solutions_env, timeout=600)
    assert outcome.status == GRADED, outcome.error
    assert verdicts(outcome.report) == verdicts(to_json(grade(["all"])))

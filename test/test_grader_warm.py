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


@pytest.fixture(scope="module")
def cold_report(solutions_store) -> dict:
    """The grade of the solutions store without warm re-fits (a cold grade: seconds), once for the
    tests of this module that compare with it."""
    from grader.core import grade

    return to_json(grade(["all"], tracking_uri=solutions_store.uri))


@pytest.fixture
def solutions_env(solutions_store, monkeypatch):
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_WORKSPACE", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", solutions_store.uri)
    return {"MLFLOW_TRACKING_URI": solutions_store.uri}


def test_a_grading_child_of_the_warm_fork_server_grades_as_a_cold_one(solutions_env, cold_report):
    """Does a real grading child (forked from the fork server that warmed up) give the report the
    grader gives in this process without warm re-fits, and so does one handed the facts the first
    read off the student's models?"""
    from classroom.isolation import GRADED, grade_isolated

    outcome = grade_isolated(solutions_env, timeout=600)
    assert outcome.status == GRADED, outcome.error
    cold = verdicts(cold_report)
    assert verdicts(outcome.report) == cold
    # What it read off the three task-3 models, handed to the next grading child (the board's re-grade).
    assert len([facts for facts in outcome.models.values() if "class" in facts]) == 3, outcome.models
    again = grade_isolated(solutions_env, timeout=600, known=outcome.models)
    assert again.status == GRADED, again.error
    assert verdicts(again.report) == cold and again.models.keys() == outcome.models.keys()


# A student who re-ran task 3 with a worse model: a new run (named after its model type, as the loop
# names them) whose LinearRegression learned from 40 rows, with honest metrics, logged as the lab logs.
WORSE_MODEL = """
    import mlflow
    from labkit import lab

    data = lab.split_data()
    mlflow.set_experiment(lab.EXPERIMENT_TASK3)
    with mlflow.start_run(run_name=lab.LINEAR_REGRESSION):
        model = lab.make_model(lab.LINEAR_REGRESSION).fit(data.X_train[:40], data.y_train[:40])
        mlflow.set_tag(lab.PARAM_MODEL_TYPE, lab.LINEAR_REGRESSION)
        mlflow.log_params(model.get_params())
        info = mlflow.sklearn.log_model(model, name=lab.MODEL_NAME, serialization_format="skops",
                                        skops_trusted_types=lab.SKOPS_TRUSTED_TYPES,
                                        input_example=data.X_test.head(5))
        mlflow.log_metrics(lab.regression_metrics(data.y_test, model.predict(data.X_test)), model_id=info.model_id)
    print(info.model_id)
"""

# The student moves the staging alias to a new version of that worse model.
MOVE_ALIAS = """
    import mlflow
    from labkit import lab

    model_id = {model_id!r}
    version = mlflow.register_model(f"models:/{{model_id}}", lab.REGISTERED_MODEL)
    mlflow.MlflowClient().set_registered_model_alias(lab.REGISTERED_MODEL, lab.ALIAS, version.version)
"""


def test_a_warm_grade_refits_nothing_and_a_regrade_handed_the_last_grades_model_facts_gives_the_cold_verdicts(
        solutions_store, tmp_path, monkeypatch, cold_report):
    """Does grading the solutions with the warm re-fits build no re-fit of its own (the warm keys
    are the ones the checks ask for), with every verdict the grade without them gives? And does a
    grade handed what the student's last grade read off their logged models (the board's
    re-grade, classroom/gradebook.py) load no model it was handed, and give exactly the verdicts of
    a cold grade: on the same store, after the student logs a new, worse task-3 model (that one is
    loaded), and after they move the staging alias to it?"""
    from test_grader_support import run_snippet

    from grader.context import Kept, handed_back, solutions_refits, warm
    from grader.core import grade
    from grader.models import ModelFiles

    store = solutions_store.copy_to(tmp_path / "store")
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_WORKSPACE", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    loaded: list[str] = []
    load = ModelFiles.load
    monkeypatch.setattr(ModelFiles, "load", lambda files: loaded.append(files.location) or load(files))
    items = warm(solutions_refits())
    built: list = []

    class Counting(Kept):
        def get(self, key, build):
            if key not in self._items:
                built.append(key[0])
            return super().get(key, build)

    def regrade(known):
        loaded.clear()
        kept = Counting(dict(items), known)
        try:
            return to_json(grade(["all"], kept=kept)), handed_back(kept)
        finally:
            kept.close()

    assert cold_report["score"] == cold_report["max_score"], "the solutions pass every TODO"
    cold = verdicts(cold_report)  # the copy's verdicts are the solutions store's (no path in them)
    first, facts = regrade(None)
    assert verdicts(first) == cold and len(loaded) == 3, loaded  # the three task-3 models
    assert "refit" not in built and "split" not in built, built  # the warm keys are the ones asked for
    again, facts = regrade(facts)
    assert verdicts(again) == cold
    assert loaded == [], "a model whose facts were handed in is not loaded again"

    new_model = run_snippet(store, WORSE_MODEL).stdout.split()[-1]
    cold = verdicts(to_json(grade(["all"])))
    worse, facts = regrade(facts)
    assert verdicts(worse) == cold
    assert loaded and all(new_model in location for location in loaded), loaded

    run_snippet(store, MOVE_ALIAS.format(model_id=new_model))
    cold = verdicts(to_json(grade(["all"])))
    moved, facts = regrade(facts)
    assert verdicts(moved) == cold
    staging = [next(v for v in verdicts(report) if v[0] == "4.4") for report in (again, moved)]
    assert staging[0] != staging[1], "4.4 scores the model the alias points to now"
    # Registering a version changes the logged model (MLflow tags it): a new key, loaded again; none other.
    assert all(new_model in location for location in loaded), loaded

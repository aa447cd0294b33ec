"""Does the grader load student models only through skops, with the lab's own trusted types?"""

from __future__ import annotations

import numpy as np
import pytest
from test_grader_support import grade_results, run_snippet, run_with

from labkit import lab
from grader.models import ModelFiles, ModelNotLoadable

LOG_WITH_CLOUDPICKLE = """
    model_info = mlflow.sklearn.log_model(
        model, name=MODEL_NAME, input_example=X_test.head(5),
        serialization_format="cloudpickle", pip_requirements=PIP_REQUIREMENTS,
    )
"""


def test_the_staging_model_of_the_solutions_loads_and_predicts_like_a_refit(solutions_store):
    client = solutions_store.client()
    version = client.get_model_version_by_alias(lab.REGISTERED_MODEL, lab.ALIAS)
    logged = client.get_logged_model(version.source.split("/")[-1])
    files = ModelFiles(logged, solutions_store.uri)
    try:
        model = files.load()
    finally:
        files.close()
    assert type(model).__name__ == "GradientBoostingRegressor"
    split = lab.split_data()
    twin = lab.make_model(lab.GRADIENT_BOOSTING, **lab.DEFAULT_HYPERPARAMS[lab.GRADIENT_BOOSTING])
    twin.fit(split.X_train, split.y_train)
    np.testing.assert_allclose(model.predict(split.X_test), twin.predict(split.X_test), rtol=1e-12)


@pytest.mark.slow
def test_a_model_logged_with_pickle_is_refused_with_a_clear_rationale(ready_store):
    run_with(ready_store, "task3", {"3.2": LOG_WITH_CLOUDPICKLE})
    result = grade_results(ready_store, "task3")["3.2"]
    assert result.status == "fail"
    assert "logged with cloudpickle; the grader only loads skops" in result.rationale
    assert "log it in skops format" in result.hint and "serialization_format" in result.hint


def test_the_trusted_types_stored_with_a_model_are_ignored(ready_store):
    """builtins.print inside a model: MLflow saved it as trusted, the grader refuses it."""
    run_snippet(ready_store, """
        import mlflow
        from sklearn.linear_model import LinearRegression
        model = LinearRegression().fit([[1.0], [2.0]], [1, 2])
        model.callback_ = print  # any untrusted object rides along in the skops file
        mlflow.sklearn.log_model(model, name="model", serialization_format="skops",
                                 skops_trusted_types=["builtins.print"],
                                 pip_requirements=["scikit-learn"])
    """)
    client = ready_store.client()
    (logged,) = client.search_logged_models(experiment_ids=["0"])
    files = ModelFiles(logged, ready_store.uri)
    with pytest.raises(ModelNotLoadable, match="does not trust.*builtins.print"):
        files.load()
    files.close()

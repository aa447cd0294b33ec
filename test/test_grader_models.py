"""Does the grader load student models only through skops, with its own trusted types?"""

from __future__ import annotations

import pytest
from test_grader_support import grade_results, run_modified, run_snippet

from grader.models import TRUSTED_TYPES, ModelNotLoadable, load_sklearn_model
from labkit import names

LOG_OPTIONS = "            **SKLEARN_LOG_OPTIONS,\n"
PICKLE_OPTIONS = ('            serialization_format="cloudpickle",\n'
                  '            pip_requirements=SKLEARN_LOG_OPTIONS["pip_requirements"],\n')


def test_the_staging_model_of_the_solutions_loads_and_predicts(solutions_store):
    from labkit.data import split_data

    import numpy as np

    model = load_sklearn_model(names.STAGING_URI, solutions_store.client())
    X_test = split_data().X_test
    fast = model.predict(X_test)  # NumPy, from the skops file's arrays
    assert model._fast is not None, "the lab's own model should not need scikit-learn to score"
    real = model.real()  # skops with the grader's trusted types
    assert type(real).__name__ == "GradientBoostingRegressor"
    np.testing.assert_allclose(fast, real.predict(X_test), rtol=1e-12, atol=1e-9)
    assert TRUSTED_TYPES == ["sklearn.tree._tree.Tree"]


def test_a_model_logged_with_pickle_is_refused_with_a_clear_rationale(lab_store):
    run_modified(lab_store, "task3", [(LOG_OPTIONS, PICKLE_OPTIONS)])
    result = grade_results(lab_store, "task3")["3.3"]
    assert result.status == "fail"
    assert "logged with cloudpickle; the grader only loads skops" in result.rationale
    assert "skops" in result.hint


def test_the_trusted_types_stored_with_a_model_are_ignored(lab_store):
    """builtins.print inside a model: MLflow saved it as trusted, the grader refuses it."""
    run_snippet(lab_store, (
        "import mlflow\n"
        "from sklearn.linear_model import LinearRegression\n"
        "from labkit.store import use_lab_store\n"
        "from labkit.tracking import SKLEARN_LOG_OPTIONS\n"
        "use_lab_store()\n"
        "model = LinearRegression().fit([[1.0], [2.0]], [1, 2])\n"
        "model.callback_ = print  # any untrusted object rides along in the skops file\n"
        "options = {**SKLEARN_LOG_OPTIONS, 'skops_trusted_types': ['builtins.print']}\n"
        "info = mlflow.sklearn.log_model(model, name='model', **options)\n"
        "print(info.model_uri)\n"
    ))
    client = lab_store.client()
    (logged,) = client.search_logged_models(experiment_ids=["0"])
    with pytest.raises(ModelNotLoadable, match="does not trust.*builtins.print"):
        load_sklearn_model(logged, client)

"""grader.skops_numpy against scikit-learn, on real skops files: the same predictions for
the lab's three models, Unsupported (with the reason) for anything else, and neither
scikit-learn nor skops imported on the way."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from grader.skops_numpy import Unsupported, load
from labkit.data import FEATURES, split_data
from labkit.models import DEFAULT_HYPERPARAMS, SWEEP_CONFIGS, make_model, sweep_run_name
from labkit.names import GRADIENT_BOOSTING, LINEAR_REGRESSION, MODEL_TYPES, RANDOM_FOREST

# name -> (lab model type, hyperparameters): the lab's defaults, task 2's sweep, and a few more.
MODELS = {
    **{model_type: (model_type, DEFAULT_HYPERPARAMS[model_type]) for model_type in MODEL_TYPES},
    **{sweep_run_name(config): (RANDOM_FOREST, {**config, "random_state": 42})
       for config in SWEEP_CONFIGS},
    "rf-deep-leaf5": (RANDOM_FOREST, {"n_estimators": 30, "max_depth": None,
                                      "min_samples_leaf": 5, "random_state": 0}),
    "gb-n40-lr0.3-d5": (GRADIENT_BOOSTING, {"n_estimators": 40, "learning_rate": 0.3,
                                            "max_depth": 5, "random_state": 1}),
    "gb-n60-lr0.05-d2-sub0.8": (GRADIENT_BOOSTING, {"n_estimators": 60, "learning_rate": 0.05,
                                                    "max_depth": 2, "subsample": 0.8,
                                                    "random_state": 2}),
    "lr-no-intercept": (LINEAR_REGRESSION, {"fit_intercept": False}),
}


def dump(model, path: Path) -> Path:
    import skops.io

    skops.io.dump(model, path)
    return path


@pytest.fixture(scope="module")
def split():
    return split_data()


@pytest.fixture(scope="module")
def fitted(split, tmp_path_factory):
    """name -> (fitted estimator, its skops file)."""
    folder = tmp_path_factory.mktemp("skops_numpy")
    models = {}
    for name, (model_type, hyperparams) in MODELS.items():
        model = make_model(model_type, **hyperparams).fit(split.X_train, split.y_train)
        models[name] = model, dump(model, folder / f"{name}.skops")
    return models


def reason(call) -> str:
    with pytest.raises(Unsupported) as caught:
        call()
    return str(caught.value)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@pytest.mark.parametrize("name", MODELS)
def test_predicts_what_sklearn_predicts(fitted, split, name):
    model, path = fitted[name]
    ours = load(path)
    assert ours.feature_names == FEATURES
    for X in (split.X_test, split.X_train, split.X_test.to_numpy()):
        predicted = ours.predict(X)
        assert predicted.dtype == np.float64 and predicted.shape == (len(X),)
        np.testing.assert_allclose(predicted, model.predict(X), rtol=1e-12, atol=1e-9)


def test_refuses_a_pipeline(split, tmp_path):
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipeline = make_pipeline(StandardScaler(), LinearRegression()).fit(split.X_train, split.y_train)
    assert "Pipeline" in reason(lambda: load(dump(pipeline, tmp_path / "m.skops")))


def test_refuses_a_single_decision_tree(split, tmp_path):
    from sklearn.tree import DecisionTreeRegressor

    tree = DecisionTreeRegressor(max_depth=3).fit(split.X_train, split.y_train)
    assert "DecisionTreeRegressor" in reason(lambda: load(dump(tree, tmp_path / "m.skops")))


def test_refuses_another_loss(split, tmp_path):
    model = make_model(GRADIENT_BOOSTING, loss="absolute_error", n_estimators=10)
    model.fit(split.X_train, split.y_train)
    assert "absolute_error" in reason(lambda: load(dump(model, tmp_path / "m.skops")))


@pytest.mark.parametrize("model_type", [LINEAR_REGRESSION, RANDOM_FOREST])
def test_refuses_columns_the_model_was_not_fitted_on(split, tmp_path, model_type):
    four = FEATURES[:4]
    model = make_model(model_type, **DEFAULT_HYPERPARAMS[model_type]).fit(split.X_train[four],
                                                                         split.y_train)
    ours = load(dump(model, tmp_path / "m.skops"))
    assert ours.feature_names == four
    assert "columns" in reason(lambda: ours.predict(split.X_test))
    assert "4 features" in reason(lambda: ours.predict(split.X_test.to_numpy()))
    np.testing.assert_allclose(ours.predict(split.X_test[four]), model.predict(split.X_test[four]),
                               rtol=1e-12, atol=1e-9)


def test_refuses_what_is_not_a_skops_file(tmp_path):
    not_zip = tmp_path / "m.skops"
    not_zip.write_text("not a zip", encoding="utf-8")
    assert "not a zip" in reason(lambda: load(not_zip))
    bad_json = tmp_path / "bad.skops"
    with zipfile.ZipFile(bad_json, "w") as zf:
        zf.writestr("schema.json", "{'protocol': 2,")
    assert "not JSON" in reason(lambda: load(bad_json))


def rewrite_arrays(source: Path, target: Path, change) -> Path:
    """A copy of a skops file with ``change(array)`` applied to each .npy (None: unchanged)."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name.endswith(".npy"):
                changed = change(np.load(io.BytesIO(data), allow_pickle=False))
                if changed is not None:
                    buffer = io.BytesIO()
                    np.save(buffer, changed, allow_pickle=True)
                    data = buffer.getvalue()
            zout.writestr(name, data)
    return target


def test_refuses_a_tree_that_points_outside_itself(fitted, tmp_path):
    def corrupt(array):
        if array.dtype.names and "feature" in array.dtype.names:
            array = array.copy()
            array["feature"][0] = 99  # the root splits on a feature X does not have
            return array
        return None

    path = rewrite_arrays(fitted[RANDOM_FOREST][1], tmp_path / "m.skops", corrupt)
    assert "out of range" in reason(lambda: load(path))


def test_refuses_a_file_with_a_missing_array(fitted, tmp_path):
    source, target = fitted[LINEAR_REGRESSION][1], tmp_path / "m.skops"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        arrays = [name for name in zin.namelist() if name.endswith(".npy")]
        for name in zin.namelist():
            if name != arrays[0]:
                zout.writestr(name, zin.read(name))
    assert "missing" in reason(lambda: load(target))


def test_never_unpickles_an_array(fitted, tmp_path):
    def pickled(array):
        return np.array([{"coef": 1.0}] * len(array), dtype=object) if array.ndim == 1 else None

    path = rewrite_arrays(fitted[LINEAR_REGRESSION][1], tmp_path / "m.skops", pickled)
    assert "allow_pickle" in reason(lambda: load(path))


def rewrite_schema(source: Path, target: Path, change) -> Path:
    """A copy of a skops file with ``change(schema)`` applied to its parsed schema.json."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "schema.json":
                schema = json.loads(data)
                change(schema)
                data = json.dumps(schema)
            zout.writestr(name, data)
    return target


def test_refuses_an_unknown_protocol(fitted, tmp_path):
    path = rewrite_schema(fitted[LINEAR_REGRESSION][1], tmp_path / "m.skops",
                          lambda schema: schema.update(protocol=1))
    assert "protocol 1" in reason(lambda: load(path))


def test_a_repeated_id_means_what_skops_makes_of_it(fitted, split, tmp_path):
    """skops reads the first node with an __id__ and reuses it where the id comes back."""
    import skops.io

    from grader.models import TRUSTED_TYPES

    def second_stage_names_the_first_tree(schema):
        stages = schema["content"]["content"]["estimators_"]["content"]
        first, second = (stage["content"][0]["content"]["content"]["tree_"] for stage in stages[:2])
        second["__id__"] = first["__id__"]

    original = fitted[GRADIENT_BOOSTING][1]
    path = rewrite_schema(original, tmp_path / "m.skops", second_stage_names_the_first_tree)
    theirs = skops.io.load(path, trusted=TRUSTED_TYPES).predict(split.X_test)
    assert not np.allclose(theirs, load(original).predict(split.X_test))
    np.testing.assert_allclose(load(path).predict(split.X_test), theirs, rtol=1e-12, atol=1e-9)


def test_loading_and_predicting_imports_neither_sklearn_nor_skops(fitted, split, tmp_path):
    paths = [fitted[model_type][1] for model_type in MODEL_TYPES]
    expected = tmp_path / "expected.npy"
    np.save(expected, np.stack([fitted[model_type][0].predict(split.X_test)
                                for model_type in MODEL_TYPES]))
    code = f"""
import sys
from pathlib import Path
import numpy as np
from grader.skops_numpy import load
from grader.without_sklearn import split_data
from labkit.data import SPLIT_SEED, TEST_SIZE

X = split_data(TEST_SIZE, SPLIT_SEED).X_test
predicted = np.stack([load(Path(p)).predict(X) for p in {[str(p) for p in paths]!r}])
np.testing.assert_allclose(predicted, np.load({str(expected)!r}), rtol=1e-12, atol=1e-9)
print(sorted(m for m in ("sklearn", "skops") if m in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"

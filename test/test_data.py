"""Is the data set reproducible, and does it rank the lab's three models as promised?"""

import pytest

from labkit import names
from labkit.maintainers import generate_data
from labkit.data import FEATURES, TARGET, load_data, split_data
from labkit.metrics import regression_metrics
from labkit.models import DEFAULT_HYPERPARAMS, make_model
from labkit.paths import DATA_FILE


def test_regenerating_the_data_gives_the_same_bytes(tmp_path):
    out = tmp_path / "devops_metrics.csv"
    generate_data.main(["--out", str(out)])
    assert out.read_bytes() == DATA_FILE.read_bytes(), (
        "data/devops_metrics.csv differs from its generator: run `python -m labkit data`"
    )


def test_the_data_has_the_documented_columns_and_no_gaps():
    df = load_data()
    assert list(df.columns) == FEATURES + [TARGET]
    assert 2000 <= len(df) <= 5000
    assert not df.isna().any().any()


@pytest.mark.parametrize("seed", list(range(10)))
def test_r2_ranks_linear_below_forest_below_boosting(seed):
    split = split_data(random_state=seed)
    r2 = {}
    for model_type, hyperparams in DEFAULT_HYPERPARAMS.items():
        model = make_model(model_type, **hyperparams).fit(split.X_train, split.y_train)
        r2[model_type] = regression_metrics(split.y_test, model.predict(split.X_test))["r2"]
    linear, forest, boosting = (r2[m] for m in names.MODEL_TYPES)
    assert 0.55 <= linear <= 0.75, r2
    assert 0.75 <= forest <= 0.87, r2
    assert boosting > forest + 0.03 and forest > linear + 0.05, r2

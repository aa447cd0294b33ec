"""Is the data set reproducible, and does it rank the lab's three models as promised?"""

import pandas as pd
import pytest

from labkit import lab
from labkit import plots
from labkit.maintainers import generate_data
from labkit.paths import DATA_FILE


def test_regenerating_the_data_gives_the_same_bytes(tmp_path):
    out = tmp_path / "devops_metrics.csv"
    generate_data.main(["--out", str(out)])
    assert out.read_bytes() == DATA_FILE.read_bytes(), (
        "data/devops_metrics.csv differs from its generator: run `python -m labkit data`"
    )


def test_the_data_has_the_documented_columns_and_no_gaps():
    df = pd.read_csv(DATA_FILE)
    assert list(df.columns) == lab.FEATURES + [lab.TARGET]
    assert 2000 <= len(df) <= 5000
    assert not df.isna().any().any()


def test_every_copy_of_the_noise_level_is_the_generators():
    """The scripts print it (labkit.plots) and the grader reasons with it (labkit/lab.py)."""
    assert plots.NOISE_SD_MS == lab.NOISE_SD_MS == generate_data.NOISE_SD_MS


def test_the_grader_and_the_scripts_read_the_same_file():
    assert lab.DATA_FILE == DATA_FILE


@pytest.mark.parametrize("seed", list(range(10)))
def test_r2_ranks_linear_below_forest_below_boosting(seed):
    """With task 3's hyperparameters (held equal to labkit/lab.py by test_contract.py)."""
    split = lab.split_data(random_state=seed)
    r2 = {}
    for model_type, hyperparams in lab.DEFAULT_HYPERPARAMS.items():
        model = lab.make_model(model_type, **hyperparams).fit(split.X_train, split.y_train)
        r2[model_type] = lab.regression_metrics(split.y_test, model.predict(split.X_test))["r2"]
    linear, forest, boosting = (r2[m] for m in lab.MODEL_TYPES)
    assert 0.55 <= linear <= 0.75, r2
    assert 0.75 <= forest <= 0.87, r2
    assert boosting > forest + 0.03 and forest > linear + 0.05, r2


def test_every_file_the_data_card_names_exists():
    """data/README.md names the generator and the data by their paths: they must be there."""
    import re

    from labkit.paths import ROOT

    card = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w./-]+\.(?:py|csv))`", card))
    assert "labkit/maintainers/generate_data.py" in named, named
    for path in named:
        assert (ROOT / path).exists() or (ROOT / "data" / path).exists(), (
            f"data/README.md names {path}, which does not exist")

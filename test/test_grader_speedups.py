"""Are the grader's shortcuts exact? Its NumPy split and linear fit against scikit-learn's,
and grading task 1 without importing scikit-learn at all."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from grader.without_sklearn import LinearFit, can_split, split_data
from labkit import data


@pytest.mark.parametrize("test_size, seed", [(0.2, 42), (0.2, 0), (0.25, 7), (0.1, 123), (0.33, 2**31)])
def test_the_numpy_split_is_sklearns_row_for_row(test_size, seed):
    ours, theirs = split_data(test_size, seed), data.split_data(test_size, seed)
    for part in ("X_train", "X_test", "y_train", "y_test"):
        assert getattr(ours, part).equals(getattr(theirs, part)), part
        assert list(getattr(ours, part).index) == list(getattr(theirs, part).index), part


@pytest.mark.parametrize("seed", [42, 0, 7, 2024])
def test_the_numpy_fit_predicts_what_linear_regression_predicts(seed):
    from sklearn.linear_model import LinearRegression

    split = data.split_data(data.TEST_SIZE, seed)
    ours = LinearFit().fit(split.X_train, split.y_train)
    theirs = LinearRegression().fit(split.X_train, split.y_train)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-12)
    np.testing.assert_allclose(ours.predict(split.X_test), theirs.predict(split.X_test), rtol=1e-12)


def test_only_fractions_and_integer_seeds_take_the_numpy_split():
    assert can_split(0.2, 42)
    assert not can_split(50, 42)  # a count of rows: scikit-learn's split decides
    assert not can_split(0.2, "42") and not can_split(1.0, 42) and not can_split(0.2, -1)


def test_grading_task_1_does_not_import_sklearn(solutions_store):
    code = ("import sys; from grader.core import grade; r = grade(['task1']); "
            "print(r.score, sorted(m for m in ('sklearn', 'skops') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], env=solutions_store.env(), cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.split("\n")[0] == "4 []", result.stderr[-2000:]

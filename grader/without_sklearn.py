"""The lab's split and its linear baseline in NumPy, so that grading task 1 never imports scikit-learn.

Importing scikit-learn costs about a second (scipy.stats comes with it); task 1's
checks only need the train/test split and a least-squares fit. Both follow
scikit-learn's own code, step for step, and test/test_grader_speedups.py holds
them equal to ``train_test_split`` and ``LinearRegression`` on the lab's data.
"""

from __future__ import annotations

import math

import numpy as np

LSTSQ_COND = 1e-6  # LinearRegression's default tol, passed to lstsq as its cutoff


def split_data(test_size: float, random_state: int):
    """``labkit.data.split_data``: the same rows in the same order, for a float test size."""
    from labkit.data import FEATURES, TARGET, Split, load_data

    df = load_data()
    X = df[FEATURES].astype("float64")
    y = df[TARGET]
    # ShuffleSplit: ceil(test_size * n) test rows, the rest for training, drawn from
    # one permutation by check_random_state(seed), i.e. np.random.RandomState(seed).
    n_test = math.ceil(float(test_size) * len(df))
    order = np.random.RandomState(int(random_state)).permutation(len(df))
    test, train = order[:n_test], order[n_test:]
    return Split(X.iloc[train], X.iloc[test], y.iloc[train], y.iloc[test])


def can_split(test_size, random_state) -> bool:
    """The cases ``split_data`` covers: a fraction and an integer seed, as the lab logs them."""
    return (isinstance(test_size, float) and 0.0 < test_size < 1.0
            and isinstance(random_state, int) and 0 <= random_state < 2**32)


class LinearFit:
    """``LinearRegression()`` on dense data: centre X and y, lstsq, intercept from the means."""

    def fit(self, X, y) -> "LinearFit":
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        x_mean, y_mean = X.mean(axis=0), y.mean(axis=0)
        self.coef_ = np.linalg.lstsq(X - x_mean, y - y_mean, rcond=LSTSQ_COND)[0]
        self.intercept_ = y_mean - x_mean @ self.coef_
        return self

    def predict(self, X) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_

"""Regression metrics on the test split, computed the same way everywhere."""

from __future__ import annotations

import numpy as np

from labkit import names


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """rmse, mae and r2 of predictions, keyed by the lab's metric names."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float).reshape(-1)
    errors = y_true - y_pred
    ss_res = float(np.sum(errors**2))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    return {
        names.METRIC_RMSE: float(np.sqrt(np.mean(errors**2))),
        names.METRIC_MAE: float(np.mean(np.abs(errors))),
        names.METRIC_R2: 1.0 - ss_res / ss_tot,
    }

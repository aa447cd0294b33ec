"""Imported once by the fork server, so that each grading child starts with what grading imports."""

import encodings.idna  # noqa: F401 - requests imports it on its first call

import mlflow  # noqa: F401
import mlflow.store.artifact.artifact_repository_registry  # noqa: F401
import skops.io  # noqa: F401 - imports every scikit-learn estimator
import sklearn.ensemble  # noqa: F401
import sklearn.linear_model

import grader.core  # noqa: F401
import grader.models  # noqa: F401
import grader.render  # noqa: F401
import grader.without_sklearn  # noqa: F401
from grader.registry import all_checks
from labkit.data import FEATURES, TARGET, load_data

all_checks()  # imports the task modules, which register the checks


def _predict_once() -> None:
    """scikit-learn imports its DataFrame adapters (narwhals, pyarrow parts) on first use."""
    frame = load_data().head(20)
    X = frame[FEATURES].astype("float64")
    sklearn.linear_model.LinearRegression().fit(X, frame[TARGET]).predict(X)


_predict_once()

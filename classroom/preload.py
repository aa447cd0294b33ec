"""Imported once by the fork server, so that each grading child starts with MLflow loaded."""

import mlflow  # noqa: F401
import sklearn.linear_model  # noqa: F401
import skops.io  # noqa: F401

import grader.core  # noqa: F401
import grader.models  # noqa: F401
import grader.render  # noqa: F401

"""The data set and the one train/test split every script, test and the grader use."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from labkit.paths import DATA_FILE

FEATURES = [
    "cpu_usage_pct",
    "memory_usage_pct",
    "disk_io_mbps",
    "network_latency_ms",
    "concurrent_users",
]
TARGET = "response_time_ms"
TEST_SIZE = 0.2
SPLIT_SEED = 42
NOISE_SD_MS = 14.0  # the generator's noise: no model can beat this RMSE on average


@dataclass(frozen=True)
class Split:
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series


def load_data() -> pd.DataFrame:
    """The lab's data: one row per minute of a web service."""
    if not DATA_FILE.exists():
        raise SystemExit(
            f"The data file {DATA_FILE} is missing. "
            "Did you run `python -m labkit.generate_data`?"
        )
    return pd.read_csv(DATA_FILE)


def split_data(test_size: float = TEST_SIZE, random_state: int = SPLIT_SEED) -> Split:
    """The lab's train/test split (the same rows for the same test_size and seed)."""
    from sklearn.model_selection import train_test_split

    df = load_data()
    # Integer columns become floats so every model signature reads "double":
    # a served model then accepts 120 and 120.0 alike.
    X = df[FEATURES].astype("float64")
    y = df[TARGET]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=float(test_size), random_state=int(random_state)
    )
    return Split(X_train, X_test, y_train, y_test)

"""A student's connection settings: one env file each, private, never committed.

    MLFLOW_TRACKING_URI=https://mlflow.example.edu
    MLFLOW_WORKSPACE=alice
    MLFLOW_TRACKING_USERNAME=alice
    MLFLOW_TRACKING_PASSWORD=...
    MLFLOW_EXPERIMENT_NAME=Default

The last one is where runs go before a script sets its experiment: the workspace's own
``Default`` (MLflow's usual fallback, experiment 0, lives outside the student's workspace).
The task scripts, the grader and ``mlflow models serve`` read these variables as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

from labkit.lab import DEFAULT_EXPERIMENT
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

KEYS = ("MLFLOW_TRACKING_URI", "MLFLOW_WORKSPACE", "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD", "MLFLOW_EXPERIMENT_NAME")


def env_file(folder: Path, username: str) -> Path:
    return folder / f"{username}.env"


def write_env_file(path: Path, url: str, username: str, password: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    protect_folder(path.parent)
    values = dict(zip(KEYS, (url, username, username, password, DEFAULT_EXPERIMENT)))
    lines = ["# " + _("MLflow connection settings for {username}. Keep this file private.", username=username)]
    lines += [f"{key}={value}" for key, value in values.items()]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def protect_folder(folder: Path) -> None:
    """Keep git away from a folder of passwords, whatever the repository's .gitignore says."""
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# " + _("Passwords: never commit this folder.") + "\n*\n", encoding="utf-8")

"""Serve the staged model with `mlflow models serve`, and stop it without leaving a process.

The server runs in its own process group (its own console group on Windows), so a
Ctrl+C in the terminal reaches only the Python script that started it, which then
stops the whole group: `mlflow models serve` and the `uvicorn` it launches
(``labkit.net``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labkit import lab as names
from labkit.net import (  # noqa: F401 - HOST, free_port, port_is_free, server_gone: this module's API
    HOST, answers, fail_fast, free_port, port_is_free, server_gone, start_group, stop_tree, wait_until,
)
from labkit.i18n import Domain
from labkit.store import StoreError, check_server, is_remote, sqlite_path

_, N_, _n = Domain("labkit").functions()

DEFAULT_PORT = 5001  # the MLflow UI uses 5000
MLFLOW_DEFAULT_HOST = "127.0.0.1"  # what `mlflow models serve` listens on without --host
# Seconds from `mlflow models serve` to its first /ping, measured with
# bench/bench_serving.py on a 2-core machine under load: 46 s (a quiet one: about 10 s).
# The guides and README quote it (test/test_docs.py).
SERVE_START_S = 45
READY_TIMEOUT_S = 120.0  # give a busy laptop room


# One minute of the service in four states, each within the ranges of the lab's data.
SCENARIOS = {
    "idle": {"cpu_usage_pct": 5.0, "memory_usage_pct": 40.0, "disk_io_mbps": 8.0,
             "network_latency_ms": 5.0, "concurrent_users": 20},
    "normal": {"cpu_usage_pct": 25.0, "memory_usage_pct": 60.0, "disk_io_mbps": 35.0,
               "network_latency_ms": 25.0, "concurrent_users": 400},
    "peak": {"cpu_usage_pct": 55.0, "memory_usage_pct": 85.0, "disk_io_mbps": 150.0,
             "network_latency_ms": 70.0, "concurrent_users": 1300},
    "overloaded": {"cpu_usage_pct": 85.0, "memory_usage_pct": 94.0, "disk_io_mbps": 400.0,
                   "network_latency_ms": 120.0, "concurrent_users": 2100},
}


def example_curl(url: str, row: dict = SCENARIOS["normal"]) -> str:
    """A one-row request as README.md shows it (a test checks it is there, word for word)."""
    body = json.dumps({"dataframe_records": [row]})
    return f"curl -i -X POST {url}/invocations -H \"Content-Type: application/json\" -d '{body}'"


class ServeError(Exception):
    """The model cannot be served; the message says why and what to do."""


def staged_version(tracking_uri: str):
    """The ModelVersion behind the `staging` alias, or ServeError naming the fix."""
    db = sqlite_path(tracking_uri)
    if db is not None and not db.exists():
        raise ServeError(_("No tracking store at {uri} yet: run tasks 1 to 4 first.", uri=tracking_uri))
    if is_remote(tracking_uri):
        fail_fast()
        try:
            check_server(tracking_uri)
        except StoreError as exc:
            raise ServeError(str(exc)) from None
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return MlflowClient(tracking_uri=tracking_uri).get_model_version_by_alias(
            names.REGISTERED_MODEL, names.ALIAS
        )
    except MlflowException:
        raise ServeError(_("No model has the alias '{alias}' in {uri}: run task 4 first "
                           "(python code/task4_registry.py).", alias=names.ALIAS, uri=tracking_uri)) from None


def serve_command(model_uri: str, port: int, host: str = HOST) -> list[str]:
    """MLflow's own command, as the bonus of the guides has the student type it.

    127.0.0.1 is MLflow's default host, so it is named only when it is another one.
    """
    command = [sys.executable, "-m", "mlflow", "models", "serve",
               "-m", model_uri, "--env-manager", "local", "-p", str(port)]
    return command if host == MLFLOW_DEFAULT_HOST else [*command, "--host", host]


def server_env(tracking_uri: str) -> dict[str, str]:
    """The store that holds the model, and this environment's executables (uvicorn) first."""
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def ping(url: str, timeout: float = 2.0) -> bool:
    return answers(url.rstrip("/") + "/ping", timeout=timeout)


class ModelServer:
    """One `mlflow models serve` process: start, wait for /ping, stop (always).

    ``command`` replaces the mlflow command (tests use it to stand in a server that
    never answers). Use it as a context manager so the server stops on every path.
    """

    def __init__(self, tracking_uri: str, model_uri: str = names.STAGING_URI,
                 port: int = DEFAULT_PORT, host: str = HOST,
                 command: list[str] | None = None) -> None:
        self.url = f"http://{host}:{port}"
        self.command = command or serve_command(model_uri, port, host)
        self.env = server_env(tracking_uri)
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self.last_log = ""  # the log's tail, kept when stop() deletes the log file
        self.pid: int | None = None  # also the process group id on POSIX

    def start(self) -> None:
        handle, name = tempfile.mkstemp(prefix="mlflow-serve-", suffix=".log")
        self.log_path = Path(name)
        with os.fdopen(handle, "wb") as log:
            self.process = start_group(self.command, env=self.env, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT)
        self.pid = self.process.pid

    def wait_until_ready(self, timeout: float = READY_TIMEOUT_S) -> float:
        """Seconds until /ping answered; on a crash or timeout, stop and raise ServeError."""
        started = time.monotonic()
        if wait_until(lambda: ping(self.url, timeout=1.0), timeout, unless=lambda: self.process.poll() is not None):
            return time.monotonic() - started
        if self.process.poll() is not None:
            self._fail(_("The model server exited with code {code} before it answered /ping. "
                         "The end of its log:", code=self.process.returncode))
        self._fail(_("The model server did not answer {url}/ping within {seconds:.0f} s. "
                     "The end of its log:", url=self.url, seconds=timeout))

    def _fail(self, what: str) -> None:
        """Stop the server, then raise ServeError: ``what`` happened, and the log's tail."""
        self.stop()  # the log stays until stop() ends, so read it after the processes exit
        raise ServeError(f"{what}\n{self.last_log}")

    def log_text(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 15) -> str:
        tail = self.log_text().rstrip().splitlines()[-lines:]
        return "\n".join("  | " + line for line in tail) or "  | " + _("(the log is empty)")

    def stop(self) -> None:
        """Stop the server and every process it started. Safe to call twice."""
        process = self.process
        if process is None:
            return
        stop_tree(process)
        self.last_log = self.log_tail()
        self.log_path.unlink(missing_ok=True)
        self.process = None

    def __enter__(self) -> "ModelServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

"""The class's tracking server: ``mlflow server`` with the lab's configuration.

PostgreSQL holds runs, models and (in a second database) users and roles; artifacts
are proxied by the server into one folder; one workspace per student; basic auth on;
loopback unless configured. ``ServerConfig.command()`` is the single description of
that configuration: ``python -m classroom serve``, the compose file and the tests
all start the server through it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ADMIN_USERNAME = "admin"
MIN_PASSWORD_LENGTH = 12  # MLflow's basic auth refuses shorter passwords
START_TIMEOUT_S = 180


class ServerError(Exception):
    """The class server cannot start; the message is one line that names the fix."""


@dataclass
class ServerConfig:
    database_uri: str
    auth_database_uri: str
    artifacts: Path
    admin_password: str
    secret_key: str
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 2
    allowed_hosts: str = ""  # Host headers accepted beyond loopback, e.g. "mlflow.example.edu"
    state: Path = field(default_factory=lambda: Path(".classroom"))  # the private auth.ini

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    def validate(self) -> None:
        if len(self.admin_password or "") < MIN_PASSWORD_LENGTH:
            raise ServerError(
                f"MLFLOW_AUTH_ADMIN_PASSWORD must have at least {MIN_PASSWORD_LENGTH} characters. "
                "Did you fill in deploy/class.env?"
            )
        if not self.secret_key:
            raise ServerError("MLFLOW_FLASK_SERVER_SECRET_KEY is not set. Did you fill in deploy/class.env?")
        for name, uri in (("database", self.database_uri), ("auth database", self.auth_database_uri)):
            if not uri.startswith("postgresql"):
                raise ServerError(f"The {name} URI must be postgresql+psycopg2://..., found {uri[:20]!r}.")

    def auth_ini(self) -> str:
        """basic_auth.ini: users and roles live in PostgreSQL too; nobody sees the default workspace."""
        return "\n".join([
            "[mlflow]",
            "default_permission = READ",
            f"database_uri = {self.auth_database_uri}",
            f"admin_username = {ADMIN_USERNAME}",
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth",
            "grant_default_workspace_access = false",
            # Checking a password costs a PBKDF2 hash; remember good ones for a minute.
            "auth_cache_ttl_seconds = 60",
            "",
        ])

    def write_auth_ini(self) -> Path:
        self.state.mkdir(parents=True, exist_ok=True)
        path = self.state / "basic_auth.ini"
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)  # it holds the auth database's password
        path.write_text(self.auth_ini(), encoding="utf-8")
        return path

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", self.database_uri,
            "--serve-artifacts", "--artifacts-destination", str(Path(self.artifacts).resolve()),
            "--enable-workspaces",
            "--app-name", "basic-auth",
            "--host", self.host, "--port", str(self.port),
            "--workers", str(self.workers),
            *(["--allowed-hosts", self.allowed_hosts] if self.allowed_hosts else []),
        ]

    def env(self, auth_ini: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env.update({
            "MLFLOW_AUTH_CONFIG_PATH": str(auth_ini.resolve()),
            "MLFLOW_AUTH_ADMIN_PASSWORD": self.admin_password,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": self.secret_key,
            # The lab runs no server-side jobs (GenAI evaluation); skip their three workers.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        })
        return env


class ServerProcess:
    """A running class server; ``stop()`` ends it and every process it started."""

    def __init__(self, config: ServerConfig, log: Path | None = None) -> None:
        self.config = config
        self.log_path = log or (config.state / "server.log")
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = START_TIMEOUT_S) -> "ServerProcess":
        self.config.validate()
        ini = self.config.write_auth_ini()
        Path(self.config.artifacts).mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.config.command(), env=self.config.env(ini), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"The MLflow server exited ({self.process.returncode}); see {self.log_path}.")
            if health(self.config.url):
                return
            time.sleep(0.3)
        self.stop()
        raise ServerError(f"The MLflow server did not answer within {timeout:.0f} s; see {self.log_path}.")

    def stop(self) -> None:
        """End the server's whole process group (uvicorn and its workers)."""
        if self.process is None or self.process.poll() is not None:
            return
        import signal

        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # workers that outlived their parent
        except ProcessLookupError:
            pass

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def health(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False

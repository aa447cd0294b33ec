"""The class's tracking server: ``mlflow server`` with the lab's configuration.

PostgreSQL holds runs, models and (in a second database) users and roles; artifacts
are proxied by the server into one folder, or a bucket of S3-compatible storage
(classroom/object_store.py); one workspace per student; basic auth on;
loopback unless configured. ``ServerConfig.command()`` is the single description of
that configuration: ``python -m classroom serve``, the compose file and the tests
all start the server through it. The database URIs, which hold a password, reach the
server through its environment and the private auth config, never its command line
(which any user of the machine can read with ``ps``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from classroom import object_store, status
from classroom.private import PRIVATE_UMASK, open_private, private_folder
from labkit.i18n import Domain
from labkit.net import answers, refused, request, stop_tree, wait_until

_, N_, _n = Domain("classroom").functions()

ADMIN_USERNAME = "admin"
SECRET_HELP = N_('make one with  python -c "import secrets; print(secrets.token_urlsafe(24))"')
MIN_PASSWORD_LENGTH = 12  # MLflow's basic auth refuses shorter passwords
START_TIMEOUT_S = 180
STOP_GRACE_S = 15  # uvicorn's time to finish its workers' requests on SIGTERM


class ServerError(Exception):
    """The class server cannot start; the message is one line that names the fix."""


# The Host headers MLflow accepts by default (mlflow.server.security_utils.LOCALHOST_VARIANTS).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


@dataclass
class ServerConfig:
    database_uri: str
    auth_database_uri: str
    artifacts: Path | str  # a folder, or s3://BUCKET/PREFIX (classroom/object_store.py)
    admin_password: str
    secret_key: str
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 2
    allowed_hosts: str = ""  # Host headers accepted beyond loopback, e.g. "mlflow.example.edu"
    state: Path = field(default_factory=lambda: Path(".classroom"))  # the private auth.ini
    # With s3:// artifacts: the storage's address and keys, from the environment (never shown).
    storage: dict = field(default_factory=object_store.settings, repr=False)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def artifacts_destination(self) -> str:
        """``--artifacts-destination``: the bucket's URI as given, or the folder's absolute path."""
        if object_store.is_object_store(self.artifacts):
            return str(self.artifacts)
        return str(Path(self.artifacts).resolve())

    def prepare_artifacts(self) -> None:
        """The folder, private; or the bucket, checked with the environment's keys (made if missing)."""
        if object_store.is_object_store(self.artifacts):
            object_store.ensure_bucket(str(self.artifacts), self.storage)
        else:
            private_folder(Path(self.artifacts))

    def claim_artifacts(self) -> str | None:
        """The bucket's folder is this class's, or StorageError (classroom/bucket_owner.py). Once
        the server is ready: MLflow has then made its tables, which say which class this is."""
        if not object_store.is_object_store(self.artifacts):
            return None
        from classroom import bucket_owner

        return bucket_owner.claim(str(self.artifacts), self.storage, self.database_uri, redact(self.database_uri))

    def artifacts_status(self) -> dict:
        """Where artifacts go, for serve.json (never a key)."""
        if object_store.is_object_store(self.artifacts):
            return {"artifacts": self.artifacts_destination, "artifacts_endpoint": object_store.endpoint(self.storage)}
        return {"artifacts": self.artifacts_destination}

    def validate(self) -> None:
        if len(self.admin_password or "") < MIN_PASSWORD_LENGTH:
            raise ServerError(_(
                "MLFLOW_AUTH_ADMIN_PASSWORD must have at least {length} characters: "
                "export it ({help}), or set it in deploy/class.env for Docker.",
                length=MIN_PASSWORD_LENGTH, help=SECRET_HELP))
        if not self.secret_key:
            raise ServerError(_("MLFLOW_FLASK_SERVER_SECRET_KEY is not set: export it ({help}), "
                                "or set it in deploy/class.env for Docker.", help=SECRET_HELP))
        if object_store.is_object_store(self.artifacts):
            object_store.bucket_and_prefix(str(self.artifacts))  # names a bucket
        for variable, uri in (("CLASS_DATABASE_URI", self.database_uri),
                              ("CLASS_AUTH_DATABASE_URI", self.auth_database_uri)):
            if not uri.startswith("postgresql"):
                raise ServerError(_("{variable} must be postgresql+psycopg2://USER:PASSWORD@HOST:5432/DATABASE, "
                                    "found {found!r}. See INSTRUCTORS.md, section 1.",
                                    variable=variable, found=uri[:20]))

    def auth_ini(self) -> str:
        """basic_auth.ini: users and roles live in PostgreSQL too; nobody sees the default workspace."""
        return "\n".join([
            "[mlflow]",
            "default_permission = READ",
            f"database_uri = {self.auth_database_uri}",
            f"admin_username = {ADMIN_USERNAME}",
            # MLflow's basic-auth check, plus: the list of users is for the admin only.
            "authorization_function = classroom.auth_guard:authenticate",
            "grant_default_workspace_access = false",
            # Checking a password costs a PBKDF2 hash; remember good ones for a minute.
            "auth_cache_ttl_seconds = 60",
            "",
        ])

    def write_auth_ini(self) -> Path:
        private_folder(self.state)
        path = self.state / "basic_auth.ini"
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)  # it holds the auth database's password
        path.write_text(self.auth_ini(), encoding="utf-8")
        return path

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "mlflow", "server",  # the database URI: see env()
            "--serve-artifacts", "--artifacts-destination", self.artifacts_destination,
            "--enable-workspaces",
            "--app-name", "basic-auth",
            "--host", self.host, "--port", str(self.port),
            "--workers", str(self.workers),
            *(["--allowed-hosts", self.accepted_hosts()] if self.allowed_hosts else []),
        ]

    def accepted_hosts(self) -> str:
        """``--allowed-hosts``: the names given, and loopback with any port. MLflow's list replaces
        its default (loopback) instead of adding to it, so without these the instructor's own
        ``provision``/``gradebook``/``board --server http://127.0.0.1:PORT`` would be refused
        (403 "Invalid Host header")."""
        given = [host.strip() for host in self.allowed_hosts.split(",") if host.strip()]
        loopback = [*LOOPBACK_HOSTS, *(f"{host.replace('[', '[[]', 1)}:*" for host in LOOPBACK_HOSTS)]
        return ",".join(dict.fromkeys([*given, *loopback]))

    def env(self, auth_ini: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env.update({
            "MLFLOW_BACKEND_STORE_URI": self.database_uri,  # not on the command line
            "MLFLOW_AUTH_CONFIG_PATH": str(auth_ini.resolve()),
            "MLFLOW_AUTH_ADMIN_PASSWORD": self.admin_password,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": self.secret_key,
            # The lab runs no server-side jobs (GenAI evaluation); skip their three workers.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            # The storage's address and keys: in the environment, never on the command line.
            **(self.storage if object_store.is_object_store(self.artifacts) else {}),
        })
        return env


class ServerProcess:
    """A running class server; ``stop()`` ends it and every process it started.

    While it runs, ``<state>/serve.json`` says what runs, where and since when
    (``python -m classroom status``); ``extra_status`` adds to it (the throwaway cluster).
    """

    def __init__(self, config: ServerConfig, log: Path | None = None) -> None:
        self.config = config
        self.log_path = log or (config.state / "server.log")
        self.process: subprocess.Popen | None = None
        self.extra_status: dict = {}
        self.artifacts_claim: str | None = None  # what the bucket's folder was (classroom/bucket_owner.py)

    def start(self, timeout: float = START_TIMEOUT_S) -> "ServerProcess":
        self.config.validate()
        refuse_if_taken(self.config)  # before serve.json is written: a running server keeps its own
        ini = self.config.write_auth_ini()
        self.config.prepare_artifacts()
        private_folder(self.log_path.parent)
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open_private(self.log_path, "ab")
        try:
            self.process = self.launch(self.config.command(), self.config.env(ini), log)
        finally:
            log.close()
        try:  # Ctrl-C (or any error) while it starts must not leave it running
            status.record(self.config.state, self._status())
            self.wait_ready(timeout)
            self.artifacts_claim = self.config.claim_artifacts()
        except BaseException:
            self.stop()
            raise
        return self

    def launch(self, command: list[str], env: dict[str, str], log) -> subprocess.Popen:
        """Start ``command`` (the `mlflow server` command line) in a session of its own, its output
        appended to ``log`` (this start's server.log, open), with the private umask: what the
        server writes (artifacts) is private too."""
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, umask=PRIVATE_UMASK)

    def _status(self) -> dict:
        return {
            "url": self.config.url, "server_pid": self.process.pid, "supervisor_pid": os.getpid(),
            "started": time.time(), "database": redact(self.config.database_uri),
            **self.config.artifacts_status(), "log": str(self.log_path.resolve()),
            **self.extra_status,
        }

    def wait_ready(self, timeout: float) -> None:
        if wait_until(lambda: health(self.config.url), timeout, every=0.3,
                      unless=lambda: self.process.poll() is not None or self.database_refusal()):
            return
        if self.process.poll() is not None:
            if ADDRESS_IN_USE.search(self.log_since_start()):
                raise ServerError(_("Port {port} on {host} was taken while the MLflow server started "
                                    "(Address already in use; see {log}). Stop what holds it, or "
                                    "pass another --port.", port=self.config.port, host=self.config.host,
                                    log=self.log_path))
            if TABLES_RACE.search(self.log_since_start()):
                raise ServerError(_("Another server was creating the database's tables at the same time "
                                    "(its first start). Start this one again once the other says "
                                    "'Class server ready'. See {log}.", log=self.log_path))
            raise ServerError(_("The MLflow server exited ({code}); see {log}.",
                                code=self.process.returncode, log=self.log_path))
        refused = self.database_refusal()
        if refused:
            raise ServerError(_("The database refused the connection: {reason}. Are CLASS_DATABASE_URI "
                                "and CLASS_AUTH_DATABASE_URI right (user, password, host, port, "
                                "database)? See {log}.", reason=refused, log=self.log_path))
        raise ServerError(_("The MLflow server did not answer within {seconds:.0f} s; see {log}.",
                            seconds=timeout, log=self.log_path))

    def log_since_start(self) -> str:
        """What the server wrote to its log since this start."""
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(self._log_start)
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def database_refusal(self) -> str | None:
        """The reason in this start's log when the database refused MLflow (it retries for minutes)."""
        found = DATABASE_REFUSED.search(self.log_since_start())
        return found.group(1).strip() if found else None

    def stop(self) -> None:
        """End the server and every process it started (uvicorn and its workers)."""
        if self.process is None:
            return
        try:
            stop_tree(self.process, grace=STOP_GRACE_S)
        finally:
            status.clear(self.config.state, self.process.pid)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# What MLflow logs while it retries a database that refuses it, e.g.
#   (psycopg2.OperationalError) connection to server at "127.0.0.1", port 5432 failed:
#   FATAL:  password authentication failed for user "mlflow"
DATABASE_REFUSED = re.compile(r"\(psycopg2\.OperationalError\) ([^\n]*(?:\n\s*FATAL:[^\n]*)?)")


ADDRESS_IN_USE = re.compile(r"Address already in use|\[Errno (?:98|48|10048)\]")

# Two servers started at once on new databases both create MLflow's tables; the one that loses
# stops on a duplicate of what the other just made (alembic's version table, first).
TABLES_RACE = re.compile(r"Error initializing backend store[^\n]*\n[^\n]*UniqueViolation\) duplicate key")


def refuse_if_taken(config: ServerConfig) -> None:
    """One line, and nothing started or overwritten, when a class server already runs from this
    state folder, or when something already listens on the port (another server, or a program
    that is no HTTP server at all)."""
    import errno
    import socket

    recorded = status.read(config.state)
    if recorded is not None and status.alive(recorded.get("server_pid")):
        raise ServerError(_("A class server already runs from {state}: {url} (pid {pid}, recorded in {file}). "
                            "Stop it first (Ctrl-C where it runs), or give this one another --state and --port.",
                            state=config.state, url=recorded.get("url"), pid=recorded.get("server_pid"),
                            file=config.state / status.STATUS_FILE))
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no owner
        try:
            probe.bind((config.host, config.port))
            return
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise ServerError(_("Cannot listen on {host}:{port} ({reason}). Is --host an address of "
                                    "this machine?", host=config.host, port=config.port,
                                    reason=exc.strerror or exc)) from None
            reason = exc.strerror or str(exc)
    if health(config.url):
        raise ServerError(_("Port {port} on {host} is taken: a server already answers at {url}. Is the class "
                            "server already running (`python -m classroom status`)? Stop it, or pass another "
                            "--port.", port=config.port, host=config.host, url=config.url))
    raise ServerError(_("Port {port} on {host} is taken by another program ({reason}). Stop it, or pass "
                        "another --port.", port=config.port, host=config.host, reason=reason))


def redact(uri: str) -> str:
    """A database URI without its password, to show or record."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", uri)


def health(url: str, timeout: float = 2.0) -> bool:
    return answers(url.rstrip("/") + "/health", timeout=timeout)


def signed_in_user(url: str, username: str, password: str) -> dict | None:
    """The server's answer to "who am I?" for these credentials ({"username", "is_admin"}),
    None if it refuses them. Raises ServerError when the server has no sign-in."""
    answer = request("GET", url.rstrip("/") + "/api/2.0/mlflow/users/current", auth=(username, password))
    if refused(answer, username):
        return None
    if answer.status_code == 404:
        raise ServerError(_("The server at {url} has no sign-in (basic auth). "
                            "Was it started with `python -m classroom serve`?", url=url))
    answer.raise_for_status()
    return answer.json().get("user") or {}

"""The three commands, each a short function over the modules that do the work."""

from __future__ import annotations

import os
import secrets
import sys
import time

from classroom.postgres import PostgresError
from classroom.roster import RosterError, read_roster
from classroom.server import ServerError, health

ADMIN_HELP = ("Set MLFLOW_TRACKING_USERNAME=admin and MLFLOW_TRACKING_PASSWORD (or "
              "MLFLOW_AUTH_ADMIN_PASSWORD) to the server's admin password.")


def admin_env() -> dict[str, str]:
    """The instructor's credentials, as MLflow reads them; fail fast on a dead server."""
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD") or os.environ.get("MLFLOW_AUTH_ADMIN_PASSWORD")
    if not password:
        raise ServerError(f"No admin password in the environment. {ADMIN_HELP}")
    return {
        "MLFLOW_TRACKING_USERNAME": os.environ.get("MLFLOW_TRACKING_USERNAME", "admin"),
        "MLFLOW_TRACKING_PASSWORD": password,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    }


def require_server(url: str, env: dict[str, str]) -> None:
    """The server answers and takes the admin's credentials, or one line that says which not."""
    import base64
    import urllib.error
    import urllib.request

    if not health(url, timeout=5):
        raise ServerError(f"The class server at {url} does not answer. Is it running "
                          "(`python -m classroom serve`), and is --server right?")
    user, password = env["MLFLOW_TRACKING_USERNAME"], env["MLFLOW_TRACKING_PASSWORD"]
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(url.rstrip("/") + "/api/2.0/mlflow/users/current",
                                     headers={"Authorization": f"Basic {token}"})
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise ServerError(f"The class server refused user '{user}'. {ADMIN_HELP}") from None
        if exc.code == 404:
            raise ServerError(f"The server at {url} has no sign-in (basic auth). "
                              "Was it started with `python -m classroom serve`?") from None
        raise


def provision(args) -> int:
    from classroom.provision import Provisioner

    students = read_roster(args.roster)
    require_server(args.server, admin_env())
    os.environ.update(admin_env())
    provisioner = Provisioner(args.server, args.public_url or args.server, args.out)
    counts: dict[str, int] = {}
    for student in students:
        outcome = provisioner.provision(student, student.username in args.reset_password)
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if outcome.status != "unchanged":
            print(f"{student.username}: {outcome.status} {outcome.detail}".rstrip())
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    print(f"{len(students)} students on the roster: {summary}. Connection files: {args.out}")
    return 1 if counts.get("missing-file") else 0


def gradebook(args) -> int:
    from classroom.gradebook import Gradebook

    students = read_roster(args.roster)
    require_server(args.server, admin_env())
    book = Gradebook(args.server, admin_env(), args.out, jobs=args.jobs, timeout=args.timeout)
    book.grade_all(students)
    return 2 if book.server_down else 0


def serve(args) -> int:
    from classroom.postgres import Cluster
    from classroom.server import ServerConfig, ServerProcess

    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `docker stop`: clean up as on Ctrl-C
    cluster = Cluster().start() if args.throwaway_postgres else None
    try:
        config = ServerConfig(
            database_uri=cluster.uri("mlflow") if cluster else env_required("CLASS_DATABASE_URI"),
            auth_database_uri=cluster.uri("mlflow_auth") if cluster else env_required("CLASS_AUTH_DATABASE_URI"),
            artifacts=args.artifacts, host=args.host, port=args.port, workers=args.workers,
            allowed_hosts=args.allowed_hosts,
            admin_password=os.environ.get("MLFLOW_AUTH_ADMIN_PASSWORD", ""),
            secret_key=os.environ.get("MLFLOW_FLASK_SERVER_SECRET_KEY")
            or (secrets.token_hex(16) if cluster else ""),
            state=args.state,
        )
        with ServerProcess(config) as server:
            print(f"Class server ready at {config.url} (log: {server.log_path}). Ctrl-C stops it.")
            while server.process.poll() is None:
                time.sleep(1)
            print(f"The server exited ({server.process.returncode}); see {server.log_path}.", file=sys.stderr)
            return 1
    finally:
        if cluster is not None:
            cluster.stop()


def env_required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ServerError(f"{name} is not set. Did you load your class.env (see deploy/class.env.example)?")
    return value


def one_line(exc: Exception) -> str | None:
    """The one-line message for errors the instructor can fix, or None for a real bug."""
    if isinstance(exc, (RosterError, ServerError, PostgresError)):
        return str(exc)
    code = getattr(exc, "error_code", "")
    if code in ("UNAUTHENTICATED", "PERMISSION_DENIED") or "401" in str(exc)[:200]:
        return f"The server refused the admin credentials. {ADMIN_HELP}"
    if type(exc).__name__ in ("ConnectionError", "MaxRetryError", "ReadTimeout"):
        return "The class server stopped answering. Is it still running?"
    return None

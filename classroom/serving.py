"""``python -m classroom serve``: the class server's life, from start to stop.

Whatever stops it (Ctrl-C at any point, ``docker stop``, the server dying), everything
it started stops with it: the MLflow server's process group and, with
``--throwaway-postgres``, the temporary cluster. A throwaway cluster is deleted when the
server stops, as documented; but if the MLflow server stopped by itself, the class's
data is dumped first (and the cluster's files kept if the dump fails), and the message
says where.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from classroom.postgres import Cluster, PostgresError
from classroom.server import ServerConfig, ServerError, ServerProcess, refuse_if_taken
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()


def serve(args) -> int:
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even if inherited ignored
    for name in ("SIGTERM", "SIGHUP"):  # `docker stop`, a closed terminal: clean up as on Ctrl-C
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: sys.exit(0))
    throwaway = args.throwaway_postgres
    # A throwaway server's artifacts go with its database: never into a real class's folder.
    scratch = Path(tempfile.mkdtemp(prefix="classroom-artifacts-")) if args.artifacts is None else None
    config = ServerConfig(
        database_uri="" if throwaway else env_required("CLASS_DATABASE_URI"),
        auth_database_uri="" if throwaway else env_required("CLASS_AUTH_DATABASE_URI"),
        artifacts=scratch or args.artifacts, host=args.host, port=args.port, workers=args.workers,
        allowed_hosts=args.allowed_hosts,
        admin_password=os.environ.get("MLFLOW_AUTH_ADMIN_PASSWORD", ""),
        secret_key=os.environ.get("MLFLOW_FLASK_SERVER_SECRET_KEY") or (secrets.token_hex(16) if throwaway else ""),
        state=args.state,
    )
    if throwaway:
        config.database_uri = config.auth_database_uri = "postgresql://checked-after-the-cluster-starts"
    cluster = server = None
    crashed = False
    try:
        config.validate()  # before a cluster exists: a missing secret or a taken port costs nothing
        refuse_if_taken(config)
        if throwaway:
            cluster = Cluster()
            cluster.start()
            config.database_uri, config.auth_database_uri = cluster.uri("mlflow"), cluster.uri("mlflow_auth")
        server = ServerProcess(config)
        if cluster is not None:
            server.extra_status = {"throwaway_postgres": str(cluster.folder), "postgres_pid": cluster.pid}
        server.start()
        if server.artifacts_claim == "no files":
            from classroom.bucket_owner import no_files_warning

            print(no_files_warning(str(config.artifacts)), file=sys.stderr, flush=True)
        print(_("Class server ready at {url} (log: {log}). Ctrl-C stops it.", url=config.url,
                log=server.log_path), flush=True)
        while server.process.poll() is None:
            time.sleep(0.5)
        crashed = True
        print(_("The MLflow server stopped by itself (exit code {code}); see {log}.",
                code=server.process.returncode, log=server.log_path), file=sys.stderr, flush=True)
        return 1
    finally:
        with _no_interrupts():  # a second Ctrl-C must not cut the clean-up short
            if server is not None:
                server.stop()
            if cluster is not None:
                if crashed:
                    _keep_class_data(cluster, Path(args.state))
                else:
                    cluster.stop()
            if scratch is not None:
                _drop_scratch_artifacts(scratch, keep=crashed)


def _drop_scratch_artifacts(folder: Path, keep: bool) -> None:
    """A throwaway server's artifacts go with its database (kept, and said where, if it crashed)."""
    if keep and any(folder.iterdir()):
        print(_("The throwaway server's artifacts are kept in {folder}; delete it when done.", folder=folder),
              file=sys.stderr, flush=True)
        return
    shutil.rmtree(folder, ignore_errors=True)


def _keep_class_data(cluster: Cluster, state: Path) -> None:
    """Dump a throwaway cluster's databases, say where, then delete it; keep it if the dump fails."""
    destination = state / "throwaway-dumps" / time.strftime("%Y%m%d-%H%M%S")
    try:
        dumps = cluster.dump(destination)
    except PostgresError as exc:
        folder = cluster.folder
        cluster.stop(keep_files=True)
        print(_("Could not dump the throwaway database ({reason}); its files are kept in {folder} "
                "(start it with pg_ctl -D <folder>/data start). Delete that folder when done.",
                reason=exc, folder=folder), file=sys.stderr, flush=True)
        return
    print(_("Saved the class's data before deleting the throwaway database: {files} "
            "(psql -f FILE loads each into an empty database).", files=", ".join(map(str, dumps))),
          file=sys.stderr, flush=True)
    cluster.stop()


@contextmanager
def _no_interrupts():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def env_required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ServerError(_(
            "{name} is not set. Export it (INSTRUCTORS.md, section 1, \"Without Docker\"): "
            "{name}=postgresql+psycopg2://mlflow:PASSWORD@HOST:5432/{database}; or try the server "
            "out with --throwaway-postgres.", name=name, database="mlflow_auth" if "AUTH" in name else "mlflow"))
    return value

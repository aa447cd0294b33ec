"""A throwaway PostgreSQL cluster in a folder: Debian's binaries, loopback only.

The tests, the benchmark and an instructor without Docker use it; a real class uses
the PostgreSQL of ``deploy/compose.yaml`` or the institution's. PostgreSQL refuses to
run as root, so as root the cluster belongs to the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
from pathlib import Path

from labkit.i18n import Domain
from labkit.net import free_port  # the cluster's port (tests and benches import it from here too)

_, N_, _n = Domain("classroom").functions()

PG_USER = "mlflow"
DATABASES = ("mlflow", "mlflow_auth")  # the tracking store, the users and roles


class PostgresError(Exception):
    """PostgreSQL cannot be used; the message is one line that names the fix."""


def pg_binary(name: str) -> str:
    """``initdb``/``pg_ctl`` from Debian's /usr/lib/postgresql/<version>/bin, else PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    path = found[-1] if found else shutil.which(name)
    if path is None:
        raise PostgresError(_(
            "PostgreSQL's {program} was not found. Is it installed "
            "(`apt-get install -y postgresql`, or .ci/setup.d/20-postgresql.sh)?", program=name))
    return path


class Cluster:
    """``with Cluster() as pg: pg.uri("mlflow")`` starts a fresh cluster and removes it after.

    ``superuser`` owns the cluster (password ``self.password``); ``databases`` are created
    at start (none: the caller creates them, as INSTRUCTORS.md shows).
    """

    def __init__(self, port: int | None = None, superuser: str = PG_USER,
                 databases: tuple[str, ...] = DATABASES) -> None:
        self.port = port or free_port()
        self.superuser = superuser
        self.databases = databases
        self.password = secrets.token_urlsafe(18)
        self.folder: Path | None = None
        self._as_postgres = os.geteuid() == 0 if hasattr(os, "geteuid") else False

    def uri(self, database: str = "mlflow") -> str:
        """A SQLAlchemy URI through psycopg2 (the driver the lab installs)."""
        return f"postgresql+psycopg2://{self.superuser}:{self.password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> "Cluster":
        try:  # Ctrl-C while initdb or pg_ctl runs must not leave a cluster behind
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> "Cluster":
        import tempfile

        # The name first, then the folder: a Ctrl-C just after mkdtemp made it (still in its code)
        # left a folder that start()'s clean-up did not know of.
        self.folder = Path(tempfile.gettempdir()) / f"classroom-pg-{secrets.token_hex(6)}"
        self.folder.mkdir(mode=0o700)
        (self.folder / "password").write_text(self.password + "\n")
        if self._as_postgres:
            shutil.chown(self.folder, "postgres")
            shutil.chown(self.folder / "password", "postgres")
        data = self.folder / "data"
        self._run(pg_binary("initdb"), "-D", data, "-U", self.superuser, "-A", "scram-sha-256",
                  f"--pwfile={self.folder / 'password'}", "--no-sync", "-E", "UTF8",
                  "--locale=C.UTF-8")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=300")
        self._run(pg_binary("pg_ctl"), "-D", data, "-l", self.folder / "postgres.log",
                  "-w", "-o", options, "start")
        self.create_databases(self.databases)
        return self

    def create_databases(self, databases) -> None:
        import psycopg2

        if not databases:
            return
        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.superuser,
                                      password=self.password, dbname="postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            for name in databases:
                cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()

    @property
    def pid(self) -> int | None:
        """The postmaster's process id, from its pid file."""
        try:
            return int((self.folder / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError, TypeError):
            return None

    def dump(self, destination: Path) -> list[Path]:
        """A plain-SQL ``pg_dump`` of each database into ``destination`` (restore with psql)."""
        destination.mkdir(parents=True, exist_ok=True)
        dumps = []
        for database in self.databases:
            path = destination / f"{database}.sql"
            result = subprocess.run(
                [pg_binary("pg_dump"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.superuser,
                 "-d", database, "-f", str(path)],
                env={**os.environ, "PGPASSWORD": self.password}, capture_output=True, text=True,
                stdin=subprocess.DEVNULL)
            if result.returncode != 0:
                last = (result.stderr.strip().splitlines() or ["no output"])[-1]
                raise PostgresError(_("pg_dump of {database} failed: {reason}", database=database, reason=last))
            dumps.append(path)
        return dumps

    def stop(self, keep_files: bool = False) -> None:
        """Stop the cluster and delete its folder (or keep it, to recover its data)."""
        if self.folder is None:
            return
        if (self.folder / "data" / "postmaster.pid").exists():
            self._run(pg_binary("pg_ctl"), "-D", self.folder / "data", "-m", "fast" if keep_files else "immediate",
                      "-w", "stop", check=False)
        if not keep_files:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def _run(self, *command, check: bool = True) -> None:
        command = [str(part) for part in command]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise PostgresError(_("{step}: `{command} ...` failed: {reason}", step=Path(command[-1]).name,
                                  command=" ".join(command[:3]), reason=last[0]))

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

"""INSTRUCTORS.md's PostgreSQL without a system service: its commands, run as the guide gives
them (bash, as the instructor's own user), make a cluster that keeps the class's two databases
across a stop and a start. Real PostgreSQL programs (Debian's); as root, run as `postgres`,
since PostgreSQL refuses root, as the guide says."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg2
import pytest

from classroom_world import ROOT
from classroom.postgres import free_port

pytestmark = pytest.mark.postgres

GUIDE = ROOT / "INSTRUCTORS.md"


def the_block() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("### A PostgreSQL of your own without a system service"):]
    return re.search(r"```\n(.*?)```", section, re.S).group(1)


def bash(script: str, home: Path, password: str, stdin: str = "") -> subprocess.CompletedProcess:
    """``script`` in bash as the instructor: as root, as ``postgres`` (PostgreSQL refuses root)."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "PGPASSWORD": password, "LANG": "C.UTF-8"}
    command = ["bash", "-euo", "pipefail", "-c", script]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", "env", *[f"{k}={v}" for k, v in env.items()], *command]
    return subprocess.run(command, env=env, input=stdin, capture_output=True, text=True, timeout=120)


def databases(port: int, password: str) -> set[str]:
    connection = psycopg2.connect(host="127.0.0.1", port=port, user="mlflow", password=password,
                                  dbname="mlflow", connect_timeout=10)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE NOT datistemplate")
            return {row[0] for row in cursor.fetchall()}
    finally:
        connection.close()


def test_the_guides_own_cluster_keeps_the_two_databases_across_a_restart():
    block = the_block()
    port, password = free_port(), secrets.token_urlsafe(12)
    home = Path(tempfile.mkdtemp(prefix="instructor-home-"))
    home.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    script = block.replace("5432", str(port))
    start = next(line for line in script.splitlines() if line.startswith("pg_ctl "))
    try:
        made = bash(script, home, password, stdin=f"{password}\n{password}\n")  # initdb --pwprompt
        assert made.returncode == 0, made.stdout + made.stderr
        assert {"mlflow", "mlflow_auth"} <= databases(port, password)
        path = script.splitlines()[0]  # the guide's PATH line (Debian and Ubuntu)
        restarted = bash(f"{path}\npg_ctl -D ~/class-postgres stop\n{start}", home, password)
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        assert {"mlflow", "mlflow_auth"} <= databases(port, password), "the restart lost a database"
        log = (home / "class-postgres" / "postgres.log").read_text(encoding="utf-8")
        assert password not in log
    finally:
        bash(f"{script.splitlines()[0]}\npg_ctl -D ~/class-postgres -m immediate stop || true", home, password)
        shutil.rmtree(home, ignore_errors=True)

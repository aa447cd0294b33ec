"""The deployment files the lab ships, read as Docker Compose and nginx read them (no Docker here:
the compose file's server is the one the class tests start; test_classroom_two_servers.py runs the
nginx site with a real nginx)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def example() -> dict[str, str]:
    lines = (DEPLOY / "class.env.example").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z0-9_]+=", line))


def guide_two_servers() -> list[list[str]]:
    """The arguments of INSTRUCTORS.md's two `python -m classroom serve` commands ("Two servers")."""
    import shlex

    guide = (ROOT / "INSTRUCTORS.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```[a-z]*\n(.*?)```", guide, re.S) if "--state .classroom/server-a" in b)
    return [shlex.split(line)[3:] for line in block.splitlines() if line.strip().startswith("python -m classroom")]


def test_the_server_waits_for_postgres_minio_and_the_bucket():
    """Does the MLflow service start only once PostgreSQL and MinIO are healthy and the bucket exists?"""
    services = compose()["services"]
    assert services["mlflow"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "minio": {"condition": "service_healthy"},
        "minio-create-bucket": {"condition": "service_completed_successfully"},
    }
    assert services["minio"]["healthcheck"]["test"] and services["postgres"]["healthcheck"]["test"]
    creator = services["minio-create-bucket"]
    assert creator["depends_on"] == {"minio": {"condition": "service_healthy"}}
    script = "\n".join(creator["command"])
    assert re.search(r"mc mb --ignore-existing \"class/\$\$CLASS_BUCKET\"", script), script
    assert "anonymous" not in script, "the bucket is never opened to anyone without a key"


def test_the_server_keeps_artifacts_proxied_in_minio():
    """Is the server `python -m classroom serve` with its artifacts in MinIO's bucket, and its keys
    the storage user's, not MinIO's root?"""
    mlflow = compose()["services"]["mlflow"]
    env = mlflow["environment"]
    assert mlflow["command"].startswith("python -m classroom serve")
    assert env["CLASS_ARTIFACTS"].startswith("s3://${CLASS_BUCKET")
    assert env["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert env["AWS_ACCESS_KEY_ID"] == "${CLASS_S3_ACCESS_KEY}"
    assert env["AWS_SECRET_ACCESS_KEY"] == "${CLASS_S3_SECRET_KEY}"
    assert "MINIO_ROOT_PASSWORD" not in str(env)


def test_every_secret_comes_from_the_env_file():
    """Is every variable the compose file needs in class.env.example, and no secret written in it?"""
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    assert used <= set(example()), f"not in class.env.example: {used - set(example())}"
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
    secrets = {"POSTGRES_PASSWORD", "MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY",
               "MINIO_ROOT_PASSWORD", "CLASS_S3_SECRET_KEY"}
    assert secrets <= required, f"a secret without a required value: {secrets - required}"
    assert all(example()[name] == "" for name in secrets), "the example holds no secret"
    assert not re.search(r"(PASSWORD|SECRET[A-Z_]*|_KEY):\s+[^$\s{][^\n]*", text), "a secret written in the file"


def test_the_nginx_site_sends_requests_to_the_other_server_when_one_is_down():
    """Does the shipped site name two servers and retry a refused request on the other one?"""
    site = (DEPLOY / "nginx-class.conf").read_text(encoding="utf-8")
    upstream = re.search(r"upstream mlflow_class \{(.*?)\}", site, re.S).group(1)
    assert len(re.findall(r"^\s*server \S+", upstream, re.M)) == 2
    assert re.search(r"proxy_next_upstream error timeout", site)
    assert "proxy_pass http://mlflow_class;" in site
    assert re.search(r"client_max_body_size \d+[mg];", site), "models upload through nginx"


def test_the_guides_two_servers_share_the_bucket_behind_the_shipped_site():
    """Do the guide's two `serve` commands parse, with the same bucket, their own ports and states,
    and are those ports the ones the shipped nginx site sends requests to?"""
    import sys

    sys.path.insert(0, str(ROOT))
    from classroom.cli import parse_args

    commands = guide_two_servers()
    parsed = [parse_args(argv) for argv in commands]
    assert len(parsed) == 2 and all(args.command == "serve" for args in parsed)
    assert {args.artifacts for args in parsed} == {"s3://mlflow-artifacts/class"}, "one bucket for both"
    assert len({args.port for args in parsed}) == 2 and len({args.state for args in parsed}) == 2
    site = (DEPLOY / "nginx-class.conf").read_text(encoding="utf-8")
    assert {f"127.0.0.1:{args.port}" for args in parsed} == set(re.findall(r"server (127\.0\.0\.1:\d+) ", site))


def test_the_guides_two_servers_accept_the_name_students_use():
    """nginx sends the students' Host (its server_name); do the guide's two `serve` commands on one
    machine accept it? Without --allowed-hosts, MLflow answers 403 "Invalid Host header"."""
    import shlex
    import sys

    sys.path.insert(0, str(ROOT))
    from classroom.cli import parse_args

    commands = guide_two_servers()
    site = (DEPLOY / "nginx-class.conf").read_text(encoding="utf-8")
    name = re.search(r"^\s*server_name (\S+);", site, re.M).group(1)
    for argv in commands:
        assert name in parse_args(argv).allowed_hosts.split(","), f"{shlex.join(argv)}: no --allowed-hosts {name}"


def test_a_server_with_allowed_hosts_still_answers_the_instructor_on_loopback(tmp_path):
    """`--allowed-hosts mlflow.example.edu` replaces MLflow's default (loopback); the class server
    must still accept the instructor's `--server http://127.0.0.1:PORT` (checked by MLflow's own
    Host check on the arguments the server is started with)."""
    import sys

    sys.path.insert(0, str(ROOT))
    from mlflow.server.security_utils import is_allowed_host_header

    from classroom.server import ServerConfig

    config = ServerConfig("postgresql://u@h/db", "postgresql://u@h/auth", tmp_path, "p" * 12, "s" * 24,
                          port=5001, allowed_hosts="mlflow.example.edu", storage={})
    command = config.command()
    accepted = command[command.index("--allowed-hosts") + 1].split(",")
    for host in ("mlflow.example.edu", "127.0.0.1:5001", "localhost:5001", "[::1]:5001", "localhost"):
        assert is_allowed_host_header(accepted, host), f"{host} refused by {accepted}"
    for host in ("evil.example.org", "mlflow.example.edu.evil.org", "10.0.0.5:5001"):
        assert not is_allowed_host_header(accepted, host), f"{host} accepted by {accepted}"


# The log of a class server started at the same moment as another on new databases (this
# machine, PostgreSQL 15, MLflow 3.17): the one that lost stopped on the other's alembic table.
RACE_LOG = """\
2026/12/06 18:17:41 INFO mlflow.store.db.utils: Creating initial MLflow database tables...
2026/12/06 18:17:41 INFO mlflow.store.db.utils: Updating database tables
2026/12/06 18:17:43 ERROR mlflow.cli: Error initializing backend store
2026/12/06 18:17:43 ERROR mlflow.cli: (psycopg2.errors.UniqueViolation) duplicate key value violates \
unique constraint "pg_type_typname_nsp_index"
DETAIL:  Key (typname, typnamespace)=(alembic_version, 2200) already exists.
"""


def test_two_servers_started_at_once_are_told_to_start_one_after_the_other():
    """The guide says to start the second server once the first is ready; one started at the same
    time exits: is the log it leaves recognised (for its one line), and only that log?"""
    import sys

    sys.path.insert(0, str(ROOT))
    from classroom.server import DATABASE_REFUSED, TABLES_RACE

    assert TABLES_RACE.search(RACE_LOG)
    refused = ('2026/12/06 18:17:43 ERROR mlflow.cli: Error initializing backend store\n'
               '(psycopg2.OperationalError) connection to server failed\n  FATAL:  password authentication failed')
    assert DATABASE_REFUSED.search(refused) and not TABLES_RACE.search(refused)


def test_the_guides_two_servers_take_no_port_the_lab_uses():
    """Do the two servers' ports (the guide's and the nginx site's) stay clear of every port the lab
    itself listens on: the class server's and the UI's default, the students' `mlflow models serve`
    (LAB.md and README.md, and its fallback), the UI's ports when 5000 is taken, the board, MinIO?"""
    import sys

    sys.path.insert(0, str(ROOT))
    from classroom.cli import parse_args
    from labkit.commands.cli import UI_PORT_IF_TAKEN
    from labkit.commands.serving import DEFAULT_PORT
    from labkit.tracking import UI_PORT

    used = {UI_PORT, DEFAULT_PORT, *range(UI_PORT_IF_TAKEN, UI_PORT_IF_TAKEN + 50),
            parse_args(["serve"]).port, parse_args(["board", "--roster", "r.csv", "--server", "http://x"]).port}
    for guide in ("LAB.md", "LAB.es.md", "README.md", "README.es.md"):  # `-p 5001`, `--port 5002`, `:5001`
        text = (ROOT / guide).read_text(encoding="utf-8")
        used |= {int(port) for port in re.findall(r"(?:-p |--port |127\.0\.0\.1:|localhost:)(\d{4,5})\b", text)}
    compose_text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    used |= {int(port) for port in re.findall(r":-?(\d{4,5})\b", compose_text)}
    assert {5000, 5001, 5002, 5050, 8050, 9000, 9001} <= used, sorted(used)  # the reading found them
    guide_ports = {parse_args(argv).port for argv in guide_two_servers()}
    site = (DEPLOY / "nginx-class.conf").read_text(encoding="utf-8")
    site_ports = {int(port) for port in re.findall(r"server 127\.0\.0\.1:(\d+) ", site)}
    assert guide_ports == site_ports and len(guide_ports) == 2
    assert not guide_ports & used, f"taken by the lab: {sorted(guide_ports & used)}"


def test_the_image_holds_what_the_commands_read():
    """Does deploy/Dockerfile copy every package the lab installs, the data the grader re-fits on and
    the Spanish catalogs (without locale/, `--lang es` in the container would speak English)?"""
    import sys
    import tomllib

    sys.path.insert(0, str(ROOT))
    from labkit.i18n import LOCALE_DIR

    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    copied = {Path(source).name for line in re.findall(r"^COPY (.+?) \S+$", dockerfile, re.M)
              for source in line.split()}
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    needed = {name.split(".")[0] for name in packages} | {"data", LOCALE_DIR.relative_to(ROOT).parts[0],
                                                           "pyproject.toml", "requirements-class.txt"}
    assert needed <= copied, f"not in the image: {sorted(needed - copied)}"

"""Artifacts in S3-compatible storage next to today's folder, and one class server against two.

Starts a throwaway PostgreSQL, moto's S3 server (test/s3_storage.py; MinIO in production), and
in one run measures, on the same machine:

1. per student, with the artifacts in a folder (the baseline) and in a bucket: the real
   ``solutions/task3_compare.py`` run as the student (a fresh interpreter, the student's
   connection file), and the gradebook (``python -m classroom gradebook``) per student;
2. the class's throughput: students running task 3 at once (``--parallel``) against one server,
   then against two servers behind Debian's nginx with the lab's site (deploy/nginx-class.conf),
   both with S3 artifacts; runs per minute and each server's memory.

    .venv/bin/python bench/bench_s3.py [--students 3] [--runs 8] [--parallel 4]

Figures depend on the machine and its load: compare the two columns of one run, not runs.
"""

from __future__ import annotations

import argparse
import csv
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "test"))

from classroom.connection import read_env_file  # noqa: E402
from classroom.postgres import Cluster, free_port  # noqa: E402
from classroom.server import ServerConfig, ServerProcess  # noqa: E402
from nginx_proxy import Nginx  # noqa: E402
from s3_storage import MotoS3  # noqa: E402

SOLUTIONS = ROOT / "solutions"
DATABASES = ("folder", "folder_auth", "s3", "s3_auth")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CLASS_", "AWS_"))}
    return {**env, "PYTHONUTF8": "1", **extra}


class Class:
    """A class server (or nginx's address in front of two) and its students."""

    def __init__(self, folder: Path, url: str, admin_password: str) -> None:
        self.folder, self.url, self.password = folder, url, admin_password
        self.connections = folder / "connections"
        folder.mkdir(parents=True, exist_ok=True)

    def admin_env(self) -> dict[str, str]:
        return clean_env(MLFLOW_TRACKING_USERNAME="admin", MLFLOW_TRACKING_PASSWORD=self.password)

    def command(self, *args: str) -> None:
        result = subprocess.run([sys.executable, "-m", "classroom", *args], env=self.admin_env(), cwd=ROOT,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"python -m classroom {args[0]} failed:\n{result.stderr[-2000:]}")

    def provision(self, usernames: list[str]) -> Path:
        roster = self.folder / f"roster-{len(list(self.folder.glob('roster-*')))}.csv"
        roster.write_text("username\n" + "".join(f"{u}\n" for u in usernames), encoding="utf-8")
        self.command("provision", "--roster", str(roster), "--server", self.url, "--out", str(self.connections),
                     "--state", str(self.folder / "state"))
        return roster

    def run(self, username: str, script: str) -> float:
        env = clean_env(**read_env_file(self.connections / f"{username}.env"))
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(SOLUTIONS / script)], env=env, cwd=self.folder,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"{username}: {script} failed:\n{result.stderr[-2000:]}")
        return time.monotonic() - started

    def gradebook(self, roster: Path, jobs: int) -> tuple[float, set[str]]:
        out = self.folder / f"grades-{time.monotonic_ns()}"
        started = time.monotonic()
        self.command("gradebook", "--roster", str(roster), "--server", self.url, "--out", str(out),
                     "--jobs", str(jobs), "--state", str(self.folder / "state"))
        seconds = time.monotonic() - started
        with open(out / "gradebook.csv", newline="", encoding="utf-8") as handle:
            return seconds, {row["total"] for row in csv.DictReader(handle)}


def per_student(room: Class, students: int, jobs: int) -> dict[str, float | str]:
    """Task 3's run per student (after tasks 1-2), and the gradebook per student (tasks 1-4)."""
    names = [f"student-{i}" for i in range(students)]
    roster = room.provision(names)
    task3 = []
    for name in names:  # one after the other: the time of one student's run, not of a crowd
        room.run(name, "task1_baseline.py")
        room.run(name, "task2_sweep.py")
        task3.append(room.run(name, "task3_compare.py"))
        room.run(name, "task4_registry.py")
    seconds, totals = room.gradebook(roster, jobs)
    return {"task3": sum(task3) / len(task3), "gradebook": seconds / students, "totals": ", ".join(sorted(totals))}


def throughput(room: Class, runs: int, parallel: int, tag: str) -> float:
    """Task 3 runs per minute with ``parallel`` students at once (each student did task 1 first)."""
    names = [f"{tag}-{i}" for i in range(parallel)]
    room.provision(names)
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda n: room.run(n, "task1_baseline.py"), names))
        started = time.monotonic()
        list(pool.map(lambda i: room.run(names[i % parallel], "task3_compare.py"), range(runs)))
    return runs / (time.monotonic() - started) * 60


def memory_mb(server: ServerProcess) -> float:
    """The resident memory of a server's whole process group (the server and its workers)."""
    import psutil

    total = 0
    for process in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(process.pid) == server.process.pid:
                total += process.memory_info().rss
        except (psutil.Error, OSError):
            continue
    return total / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=3, help="students per storage for the per-student figures")
    parser.add_argument("--runs", type=int, default=8, help="task-3 runs per throughput figure")
    parser.add_argument("--parallel", type=int, default=4, help="students running at once for the throughput")
    parser.add_argument("--jobs", type=int, default=(os.cpu_count() or 2) + 1, help="the gradebook's --jobs")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-s3-"))
    password, secret_key = secrets.token_urlsafe(16), secrets.token_hex(16)
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, folder, ignore_errors=True)  # last: after every server stopped
        postgres = stack.enter_context(Cluster(databases=DATABASES))
        s3 = stack.enter_context(MotoS3())

        def server(name: str, database: str, artifacts, port: int | None = None) -> ServerProcess:
            config = ServerConfig(postgres.uri(database), postgres.uri(f"{database}_auth"), artifacts, password,
                                  secret_key, port=port or free_port(), state=folder / f"state-{name}",
                                  storage=s3.storage)
            process = ServerProcess(config).start()
            stack.callback(process.stop)
            return process

        local = server("folder", "folder", folder / "artifacts")
        bucket = server("s3", "s3", "s3://bench-artifacts/class")
        figures = {}
        for name, process in (("folder", local), ("s3", bucket)):
            figures[name] = per_student(Class(folder / name, process.config.url, password), args.students, args.jobs)
        one = throughput(Class(folder / "one", bucket.config.url, password), args.runs, args.parallel, "one")
        second = server("s3-b", "s3", "s3://bench-artifacts/class")
        nginx = stack.enter_context(Nginx(folder / "nginx", [f"127.0.0.1:{p.config.port}" for p in (bucket, second)]))
        two = throughput(Class(folder / "two", nginx.url, password), args.runs, args.parallel, "two")
        memory = [memory_mb(p) for p in (local, bucket, second)]
        served = nginx.upstreams()

    print(f"Artifacts in S3-compatible storage (moto's S3 server) next to a folder, {args.students} students each, "
          f"{os.cpu_count()} cores")
    print(f"  {'':34}{'folder (baseline)':>20}{'s3 bucket':>14}")
    print(f"  {'task 3 run per student':34}{figures['folder']['task3']:18.1f} s{figures['s3']['task3']:12.1f} s")
    print(f"  {'gradebook per student':34}{figures['folder']['gradebook']:18.1f} s{figures['s3']['gradebook']:12.1f} s")
    print(f"  {'scores seen':34}{figures['folder']['totals']:>20}{figures['s3']['totals']:>14}")
    print(f"Class throughput, S3 artifacts, {args.parallel} students at once, {args.runs} task-3 runs")
    print(f"  {'':34}{'one server (baseline)':>24}{'two behind nginx':>18}")
    print(f"  {'task 3 runs per minute':34}{one:24.1f}{two:18.1f}")
    print(f"  requests each server answered through nginx: {', '.join(f'{a}: {n}' for a, n in served.items())}")
    print(f"  memory per server (resident, with its 2 workers): {memory[0]:.0f} MB (folder), "
          f"{memory[1]:.0f} MB and {memory[2]:.0f} MB (s3)")


if __name__ == "__main__":
    main()

"""Time the progress board on a simulated class, next to the gradebook on the same class.

The class is bench/bench_classroom.py's: a throwaway PostgreSQL, the class server, N
students (default 100) provisioned and their complete lab work logged straight through
the MLflow client. Then, in one run, with the read-only grading user as the real
commands use it:

1. the gradebook grades the class (``Gradebook.grade_all``, the baseline);
2. the board's first refresh grades everyone (its first full pass);
3. a refresh where nobody changed (it only looks at each workspace);
4. 10 students log a new task-1 run, and a refresh grades those 10 again.

    .venv/bin/python bench/bench_board.py [--students 100] [--changed 10] [--jobs 3]

Targets (issue 13, 100 students on 2 cores): step 3 under 2 s, step 4 under 10 s.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_classroom import fitted, log_one, quiet  # noqa: E402 - the simulated class
from classroom.board import Board  # noqa: E402
from classroom.board_changes import fingerprint_all  # noqa: E402
from classroom.gradebook import Gradebook  # noqa: E402
from classroom.postgres import Cluster, free_port  # noqa: E402
from classroom.roster import Student  # noqa: E402
from classroom.server import ServerConfig, ServerProcess  # noqa: E402


def log_new_run(args) -> None:
    """One more task-1 run in a student's workspace: what re-running task 1 logs."""
    env, workspace = args
    os.environ.update(env, MLFLOW_WORKSPACE=workspace)
    import mlflow

    from labkit import lab as names

    _, metrics = fitted()["baseline"]
    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    mlflow.set_experiment(names.EXPERIMENT_TASK1)
    with mlflow.start_run(run_name=names.RUN_BASELINE):
        mlflow.log_params({names.PARAM_MODEL_TYPE: names.LINEAR_REGRESSION,
                           names.PARAM_RANDOM_STATE: names.SPLIT_SEED, names.PARAM_TEST_SIZE: names.TEST_SIZE})
        mlflow.log_metrics(metrics)


def timed(action):
    started = time.monotonic()
    result = action()
    return time.monotonic() - started, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=(os.cpu_count() or 2) + 1)  # the commands' default
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="bench-board-"))
    password = secrets.token_urlsafe(16)
    admin = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": password,
             "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3"}
    students = [Student(f"student-{i:03d}") for i in range(args.students)]
    with Cluster() as postgres:
        config = ServerConfig(postgres.uri("mlflow"), postgres.uri("mlflow_auth"), folder / "artifacts",
                              password, secrets.token_hex(16), port=free_port(), state=folder / "state")
        with ServerProcess(config) as server:
            os.environ.update(admin)
            from classroom.grading_user import grading_env
            from classroom.provision import Provisioner

            provisioner = Provisioner(config.url, config.url, folder / "connections")
            for student in students:
                provisioner.provision(student)
            env = {**admin, "MLFLOW_TRACKING_URI": config.url}
            logging_s, _ = timed(lambda: _in_pool(log_one, [(env, s.workspace) for s in students]))
            grader = grading_env(provisioner.auth, config.url, folder / "state", [s.workspace for s in students])
            os.environ.update(grader)  # from here on, as the board: the read-only grading user
            grading = {**admin, **grader}
            quiet_out = open(os.devnull, "w")
            book_s, rows = timed(lambda: Gradebook(config.url, grading, folder / "gradebook", jobs=args.jobs,
                                                   progress=quiet_out).grade_all(students))
            board = Board(Gradebook(config.url, grading, folder / "board", jobs=args.jobs, progress=quiet_out),
                          students)
            first = board.refresh()
            same = board.refresh()
            look_s, _ = timed(lambda: fingerprint_all(config.url, [s.workspace for s in students]))
            changed = students[:: max(1, len(students) // args.changed)][: args.changed]
            _in_pool(log_new_run, [(env, s.workspace) for s in changed])
            after = board.refresh()
            snapshot = board.snapshot()
    n = len(students)
    print(f"class of {n} on PostgreSQL + mlflow server ({args.jobs} graded at once, {os.cpu_count()} cores); "
          f"their work logged in {logging_s:.0f} s; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after (other work on the machine slows every figure alike)")
    print(f"  gradebook, whole class               {book_s:7.1f} s   {book_s / n:5.2f} s/student"
          f"   scores: {', '.join(sorted({str(r.get('total')) for r in rows}))}")
    print(f"  board, first full pass               {first.seconds:7.1f} s   {first.seconds / n:5.2f} s/student"
          f"   graded {len(first.regraded)}")
    print(f"  board, refresh, nobody changed       {same.seconds:7.1f} s   (target < 2 s)   graded {len(same.regraded)}")
    print(f"    of which looking at {n} workspaces  {look_s:7.1f} s")
    print(f"  board, refresh, {len(changed)} changed           {after.seconds:7.1f} s   (target < 10 s)  "
          f"graded {len(after.regraded)}")
    wrong = set(after.regraded) != {s.username for s in changed} or same.regraded
    agree = {r["student"]: r["total"] for r in rows} == {r["student"]: r["total"] for r in snapshot["rows"]}
    if wrong or not agree:
        print(f"  WARNING: the board graded {sorted(after.regraded)} after {sorted(s.username for s in changed)} "
              f"changed (nobody changed: {same.regraded}); board and gradebook totals agree: {agree}")


def _in_pool(work, items) -> None:
    with Pool(4, initializer=quiet) as pool:
        pool.map(work, items)


if __name__ == "__main__":
    main()

"""Time the progress board on a simulated class, next to the gradebook on the same class.

The class is bench/bench_classroom.py's: a throwaway PostgreSQL, the class server, N
students (default 100) provisioned and their complete lab work logged straight through
the MLflow client. Then, in one run, with the read-only grading user as the real
commands use it:

1. the gradebook grades the class (``Gradebook.grade_all``, the baseline);
2. the board's first refresh grades everyone (its first full pass);
3. a refresh where nobody changed (it only looks at each workspace), and the looks alone three
   ways: over HTTP as the grading user (what the board does by default), over HTTP as the admin
   (no permission checks: for comparison only), and from the database through MLflow's own
   SqlAlchemy stores as a read-only PostgreSQL role (classroom/board_database.py);
4. a refresh where nobody changed, looking from the database: its one pass over the tables
   (timed alone too), then a look only at a workspace whose rows changed;
5. N students (--changed) log a new task-1 run and a refresh grades them again, looking over
   HTTP; N others do the same and a refresh looks from the database.

Each figure is printed with its wall and CPU seconds (CPU: everything the bench started, the
board, its grading children, the class server and PostgreSQL, read with psutil: on a loaded
machine compare those), next to its target and to the gradebook's figure of the same run (its
seconds per student times the students graded). The gradebook's time to its first row counts
the grading children's fork server starting (imports, the warm-up re-fits).

It exits 1, in one line, when a refresh graded other students than those who changed, when the
two ways of looking disagree on a fingerprint, or when the board's totals differ from the
gradebook's on the same state (its first rows, the changed students graded again by a gradebook
of their own, which has no model facts kept from an earlier grade).

    .venv/bin/python bench/bench_board.py [--students 100] [--changed 10] [--jobs 3]

Targets (issues 13 and 21, 100 students on 2 cores): a refresh where nobody changed under
2 s, one where 10 changed under 10 s.
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

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_classroom import log_one, log_task1, quiet  # noqa: E402 - the simulated class
from classroom.board import Board  # noqa: E402
from classroom.board_changes import fingerprint_all  # noqa: E402
from classroom.board_database import READER_ROLE, create_reader, database_looker  # noqa: E402
from classroom.gradebook import Gradebook  # noqa: E402
from classroom.postgres import Cluster, free_port  # noqa: E402
from classroom.roster import Student  # noqa: E402
from classroom.server import ServerConfig, ServerProcess  # noqa: E402


def log_new_run(args) -> None:
    """One more task-1 run in a student's workspace: what re-running task 1 logs."""
    env, workspace = args
    os.environ.update(env, MLFLOW_WORKSPACE=workspace)
    import mlflow

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    log_task1()


def timed(action):
    started = time.monotonic()
    result = action()
    return time.monotonic() - started, result


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds used so far by the processes under ``roots`` (this process, PostgreSQL's
    postmaster): their own and their finished children's, as psutil reads them. On a loaded
    machine wall seconds stretch with the other work; CPU seconds barely do."""
    seen: dict[int, psutil.Process] = {}
    for root in roots:
        try:
            parent = psutil.Process(root)
            seen.update((p.pid, p) for p in [parent, *parent.children(recursive=True)])
        except psutil.NoSuchProcess:
            continue
    total = 0.0
    for process in seen.values():
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):  # gone meanwhile
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


class Meter:
    """Wall and CPU seconds (of everything the bench started: the board, its grading children, the
    class server, PostgreSQL) of each timed step."""

    def __init__(self, roots: list[int]) -> None:
        self.roots = roots

    def __call__(self, action):
        cpu = tree_cpu(self.roots)
        wall, result = timed(action)
        return wall, tree_cpu(self.roots) - cpu, result


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
        postmaster = int((postgres.folder / "data" / "postmaster.pid").read_text().split()[0])
        meter = Meter([os.getpid(), postmaster])
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
            book = Gradebook(config.url, grading, folder / "gradebook", jobs=args.jobs, progress=quiet_out)
            # The fork server starts with the first grading (its imports and warm-up re-fits): the
            # gradebook's time to its first graded row counts them, as the command's first row does.
            book_s, book_cpu, rows = meter(lambda: book.grade_all(students))
            first_row_s = book.first_row_s
            board = Board(Gradebook(config.url, grading, folder / "board", jobs=args.jobs, progress=quiet_out),
                          students)
            first_s, first_cpu, first = meter(board.refresh)
            same_s, same_cpu, same = meter(board.refresh)
            workspaces = [s.workspace for s in students]
            look_s, look_cpu, by_http = meter(lambda: fingerprint_all(config.url, workspaces))
            os.environ.update(admin)  # the same looks as the admin: the auth plugin checks and redacts nothing
            look_admin_s, look_admin_cpu, _ = meter(lambda: fingerprint_all(config.url, workspaces))
            os.environ.update(grader)
            # The other way: the same looks read from the database by a read-only PostgreSQL role.
            database = reader_uri(postgres)
            db_look = database_looker(database)
            look_db_s, look_db_cpu, by_db = meter(lambda: fingerprint_all(config.url, workspaces, db_look))
            same_look = all(by_http[w].digest == by_db[w].digest and not by_db[w].error for w in workspaces)
            survey_s, _ = timed(db_look.survey)  # the one pass a refresh from the database starts with
            http_look, board.look = board.look, db_look  # its looks above are the board's last ones
            same_db_s, same_db_cpu, same_db = meter(board.refresh)
            stride = students[:: max(1, len(students) // args.changed)]
            changed = stride[: args.changed]
            changed_db = [s for s in students if s not in changed][: args.changed]
            board.look = http_look
            _in_pool(log_new_run, [(env, s.workspace) for s in changed])
            after_s, after_cpu, after = meter(board.refresh)
            board.look = db_look
            _in_pool(log_new_run, [(env, s.workspace) for s in changed_db])
            after_db_s, after_db_cpu, after_db = meter(board.refresh)
            snapshot = board.snapshot()
            # The gradebook on the same state: its first rows, the changed students graded again, cold
            # (a gradebook of its own: no model facts from an earlier grade).
            cold = Gradebook(config.url, grading, folder / "again", jobs=args.jobs, progress=quiet_out)
            again = {s.username: cold.grade_student(s)[0] for s in [*changed, *changed_db]}
            expected = [again.get(r["student"], r) for r in rows]
    n, cores = len(students), os.cpu_count() or 1
    rate, rate_cpu = book_s / n, book_cpu / n

    def line(label: str, wall: float, cpu: float | None, target: float | None, baseline: str) -> None:
        verdict = "" if target is None else f"target < {target:g} s: {'met' if wall < target else 'MISSED'}"
        used = "      -     " if cpu is None else f"{cpu:7.1f} s CPU"
        print(f"  {label:<38} {wall:7.1f} s wall {used}   {verdict:<22} {baseline}")

    print(f"class of {n} on PostgreSQL + mlflow server ({args.jobs} graded at once, {cores} cores); "
          f"their work logged in {logging_s:.0f} s; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after. Other work on the machine stretches wall seconds; CPU seconds "
          f"(everything this bench started: board, grading children, class server, PostgreSQL) barely move: "
          f"on a loaded machine compare those, and each figure with the gradebook's of the same run.")
    print(f"  scores seen: {', '.join(sorted({str(r.get('total')) for r in rows}))}")
    line("gradebook, whole class (the baseline)", book_s, book_cpu, None,
         f"{rate:.2f} s/student, {rate_cpu:.2f} CPU s/student")
    line("gradebook, time to its first row", first_row_s, None, None,
         "(the fork server's imports and warm-up re-fits, then one student)")
    line("board, first full pass", first_s, first_cpu, None,
         f"graded {len(first.regraded)}; the gradebook took {book_s:.1f} s")
    line("board, refresh, nobody changed (HTTP)", same_s, same_cpu, 2, f"graded {len(same.regraded)}")
    line(f"  looking at {n} workspaces over HTTP", look_s, look_cpu, None, "the auth plugin, as the grading user")
    line("  the same looks as the admin", look_admin_s, look_admin_cpu, None,
         "no permission checks: not least privilege, for comparison")
    line("  the same looks from the database", look_db_s, look_db_cpu, None,
         f"read-only role, MLflow's stores; same fingerprints: {same_look}")
    print(f"    the database's one pass (a digest of each workspace's rows)  {survey_s:5.2f} s")
    line("board, refresh, nobody changed (db)", same_db_s, same_db_cpu, 2,
         f"graded {len(same_db.regraded)} (the survey, then a look only where a digest changed)")
    for label, wall, cpu, refresh, who in ((f"board, refresh, {len(changed)} changed (HTTP)", after_s, after_cpu, after,
                                            changed),
                                           (f"board, refresh, {len(changed_db)} changed (db)", after_db_s,
                                            after_db_cpu, after_db, changed_db)):
        line(label, wall, cpu, 10 if len(who) == 10 else None,
             f"graded {len(refresh.regraded)}; the gradebook: {rate * len(who):.1f} s, {rate_cpu * len(who):.1f} "
             f"CPU s for {len(who)} (target < 10 s for 10)")
    wrong = [(sorted(refresh.regraded), [s.username for s in who]) for refresh, who in ((same, []), (same_db, []), (after, changed),
                                                          (after_db, changed_db))
             if set(refresh.regraded) != {s.username for s in who}]
    if wrong or not same_look:
        sys.exit(f"FAIL: the board graded the wrong students (graded, changed): {wrong}; "
                 f"HTTP and database looks agree: {same_look}")
    differ = disagreements(expected, snapshot["rows"])
    if differ:
        why(expected, snapshot["rows"], differ)
        sys.exit(f"FAIL: board and gradebook totals differ for {len(differ)} students: {'; '.join(differ)}")
    print(f"  board and gradebook totals agree for all {n} students (the changed ones graded again by a "
          f"gradebook of their own, without the board's kept model facts)")


def reader_uri(postgres: Cluster) -> str:
    """The tracking database's URI for a new read-only role (classroom/board_database.py)."""
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=postgres.port, user=postgres.superuser,
                                  password=postgres.password, dbname="mlflow")
    connection.autocommit = True
    try:
        password = create_reader(connection, "mlflow")
    finally:
        connection.close()
    return f"postgresql+psycopg2://{READER_ROLE}:{password}@127.0.0.1:{postgres.port}/mlflow"


def disagreements(book_rows: list[dict], board_rows: list[dict]) -> list[str]:
    """``student: gradebook X, board Y`` for each student whose totals (or status) differ."""
    book = {r["student"]: (r.get("total"), r["status"]) for r in book_rows}
    found = []
    for row in board_rows:
        seen = (row.get("total"), row["status"])
        if book.get(row["student"]) != seen:
            total, status = book.get(row["student"], (None, "missing"))
            found.append(f"{row['student']}: gradebook {total if total is not None else status}, "
                         f"board {seen[0] if seen[0] is not None else seen[1]}")
    return found


def why(book_rows: list[dict], board_rows: list[dict], differ: list[str]) -> None:
    """For each student whose totals differ: the gradebook's problems and the board's cells that do not pass."""
    students = {line.split(":")[0] for line in differ}
    book = {r["student"]: r for r in book_rows}
    for row in board_rows:
        if row["student"] in students:
            print(f"  {row['student']}: gradebook problems: {book.get(row['student'], {}).get('problems')}")
            for cell in row.get("cells", []):
                if cell["state"] != "pass":
                    print(f"    board {cell['id']} {cell['state']}: {cell['text']}")
            if row.get("flags") or row.get("problems"):
                print(f"    board flags {row.get('flags')} problems {row.get('problems')}")


def _in_pool(work, items) -> None:
    with Pool(4, initializer=quiet) as pool:
        pool.map(work, items)
        pool.close()
        pool.join()  # reaped here: their CPU seconds are not counted in the next timed step


if __name__ == "__main__":
    main()

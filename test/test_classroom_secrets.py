"""The class keeps its secrets: no password in any file it writes but the ones meant to hold it,
and every file and folder its commands create private (0600 / 0700).

Real PostgreSQL and a real `mlflow server` (the class of test/classroom_world.py whose artifacts
are in a bucket, xdist group "classroom-s3"): provisioning, the students' tasks, the gradebook,
a reset and a remove with the default (relative) folders, the board, then every file under the
class's folders read and searched, for the passwords and the storage's secret key.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from classroom_world import EXPECTED_PASSES, log_one_model, write_roster
from test_classroom_board import RunningBoard
from classroom.connection import read_env_file

pytestmark = [pytest.mark.xdist_group("classroom-s3"), pytest.mark.postgres]

BOARD_STUDENTS = ["complete", "partial", "typed"]  # one who finished, one half-way, one who typed a metric

# The files meant to hold a secret, by name (each must be 0600).
HOLDERS = {
    "database": {"basic_auth.ini"},  # the auth database's URI, for the MLflow server
    "admin": set(),  # the admin's password lives in the instructor's environment only
    "grader": {"grading.env"},
    "storage": set(),  # the bucket's secret key: in the server's environment only (test_classroom_s3.py)
}


def files_holding(roots: list[Path], secret: str) -> set[Path]:
    found = set()
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink() and secret.encode() in path.read_bytes():
                found.add(path)
    return found


def not_private(roots: list[Path]) -> list[str]:
    found = []
    for root in roots:
        for path in [root, *root.rglob("*")]:
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and mode & (stat.S_IRWXG | stat.S_IRWXO):
                found.append(f"{path} {stat.filemode(mode)}")
    return found


def test_no_password_in_any_file_but_those_meant_to_hold_it_and_the_board_scores_exactly_with_one_server(
        classroom, gradebook, tmp_path):
    """After provision, the tasks, the gradebook, a reset and a remove (default relative folders) and
    the board, does any file hold the database, admin or grading password, except the 0600 files
    meant to hold it; and is everything the commands created private? The same board, run through
    nginx's one address while server A is down (the class of two servers: test_classroom_two_servers.py),
    gives each of the class's students their exact score. (One board for both: each board started
    costs a grading fork server.)"""
    from test_classroom_students import _log_a_run

    roster = classroom.folder / "roster_secrets.csv"
    write_roster(roster, ["keeper", "goner"])
    made = classroom.classroom("provision", "--roster", str(roster), "--server", classroom.url,
                               "--out", str(classroom.connections))
    assert made.returncode == 0, made.stderr
    log_one_model(classroom, "keeper")  # its reset backs up a logged model
    _log_a_run(classroom, "goner")  # its remove backs up a run (the same backup: one task-3 run is enough)
    here = tmp_path / "instructor-cwd"  # where the instructor types the commands (.classroom/ goes here)
    here.mkdir()
    connections = ["--connections", str(classroom.connections)]
    for command, username in (("reset", "keeper"), ("remove", "goner")):
        done = classroom.classroom(command, username, "--server", classroom.url, *connections, cwd=here)
        assert done.returncode == 0, done.stderr
    if len(classroom.servers) > 1:  # the bucket's class: server A stopped mid-class, not started again yet
        assert classroom.servers[0].process.poll() is not None, "server A is down while the board grades"
    board_roster = classroom.folder / "roster_secrets_board.csv"
    write_roster(board_roster, ["keeper", "goner", *BOARD_STUDENTS])
    board = RunningBoard(classroom, board_roster, "--every", "600", "--jobs", "2")  # forked warm
    try:
        snapshot = board.wait_for(lambda s: s["refreshes"] >= 1 and not s["running"])
    finally:
        board.stop()
    totals = {row["student"]: row["total"] for row in snapshot["rows"] if row["student"] in BOARD_STUDENTS}
    assert totals == {u: len(EXPECTED_PASSES[u]) for u in BOARD_STUDENTS}, snapshot

    server_state = classroom.server.config.state
    created = [*(server.config.state for server in classroom.servers), classroom.state, classroom.connections,
               gradebook[0], here / ".classroom"]
    if classroom.s3 is None:  # a folder's artifacts (this group's class keeps them in a bucket)
        created.append(Path(classroom.server.config.artifacts))
    assert (server_state / "server.log").stat().st_size > 0 and (here / ".classroom" / "backups").is_dir()
    secrets = {"database": classroom.database_password, "admin": classroom.admin_password,
               "grader": read_env_file(classroom.state / "grading.env")["MLFLOW_TRACKING_PASSWORD"]}
    if classroom.s3 is not None:
        secrets["storage"] = classroom.s3.storage["AWS_SECRET_ACCESS_KEY"]
    roots = [classroom.folder, here]
    for name, secret in secrets.items():
        holding = files_holding(roots, secret)
        assert {p.name for p in holding} <= HOLDERS[name], f"the {name} password is in {sorted(holding)}"
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in holding), name
    assert not_private(created) == [], "created readable by other users of the machine"


def test_status_warns_when_the_class_files_are_readable_by_others(classroom):
    """Does `status` name a class file that other users can read, and say nothing when all is private?"""
    state = classroom.server.config.state
    status = ["status", "--state", str(state)]
    quiet = classroom.classroom(*status)
    assert quiet.returncode == 0 and "Warning" not in quiet.stdout, quiet.stdout
    log = state / "server.log"
    mode = log.stat().st_mode
    log.chmod(0o644)
    try:
        warned = classroom.classroom(*status)
    finally:
        log.chmod(stat.S_IMODE(mode))
    assert warned.returncode == 0
    assert "can be read by other users" in warned.stdout and str(log) in warned.stdout
    assert "chmod -R go-rwx" in warned.stdout

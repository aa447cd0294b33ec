"""When there is nothing to grade, does the grader say so in one line that names the fix,
exit 2, show no traceback, answer within seconds, and create nothing?"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from conftest import LabStore, free_port
from test_grader_support import CHECK_PY, run_check

CANNOT_GRADE = 2


def env_for(uri: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update({"MLFLOW_TRACKING_URI": uri, "PYTHONUTF8": "1"})
    return env


def assert_cannot_grade(result, *fragments: str) -> str:
    assert result.returncode == CANNOT_GRADE, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Cannot grade: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_no_store_yet_names_the_first_task_and_creates_nothing(tmp_path):
    db = tmp_path / "mlflow.db"
    result = run_check(env_for(f"sqlite:///{db.as_posix()}"), "task1")
    assert_cannot_grade(result, f"No tracking store at {db}", "Did you run code/task1_baseline.py")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_database_file(tmp_path):
    db = tmp_path / "mlflow.db"
    db.touch()
    result = run_check(env_for(f"sqlite:///{db.as_posix()}"), "all")
    assert_cannot_grade(result, "is empty", "Did you run code/task1_baseline.py")
    assert db.read_bytes() == b""


def test_a_corrupt_database_file(tmp_path):
    db = tmp_path / "mlflow.db"
    db.write_bytes(b"this is not a database\n" * 100)
    result = run_check(env_for(f"sqlite:///{db.as_posix()}"), "task2")
    assert_cannot_grade(result, "is not an SQLite database", "python -m labkit reset")


def test_a_truncated_database_file(solutions_store, tmp_path):
    db = tmp_path / "mlflow.db"
    db.write_bytes(solutions_store.db.read_bytes()[:5000])
    result = run_check(env_for(f"sqlite:///{db.as_posix()}"), "task1")
    assert_cannot_grade(result, "cannot be read as a database", "python -m labkit reset")


def test_a_path_through_a_file_is_not_a_folder(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file where a folder should be")
    result = run_check(env_for(f"sqlite:///{(blocker / 'mlflow.db').as_posix()}"), "task1")
    assert_cannot_grade(result, f"{blocker} is a file, not a folder")


@pytest.mark.slow  # a fresh interpreter without root's capabilities, as a student runs it
def test_an_unreadable_folder(solutions_store, tmp_path):
    """Root reads any folder: as root, the grader runs without the capabilities that allow it."""
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "mlflow.db").write_bytes(solutions_store.db.read_bytes())
    locked.chmod(0)
    caps = "-dac_override,-dac_read_search"
    prefix = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"] if os.geteuid() == 0 else []
    try:
        result = subprocess.run(
            [*prefix, sys.executable, str(CHECK_PY), "task1"],
            env=env_for(f"sqlite:///{(locked / 'mlflow.db').as_posix()}"),
            capture_output=True, text=True, timeout=120,
        )
    finally:
        locked.chmod(0o700)
    assert_cannot_grade(result, f"Cannot read {locked / 'mlflow.db'}", "permission")


def test_a_server_that_is_down_is_reported_within_5_seconds():
    started = time.monotonic()
    result = run_check(env_for(f"http://127.0.0.1:{free_port()}"), "task1", timeout=60)
    elapsed = time.monotonic() - started
    assert_cannot_grade(result, "does not answer", "Is it running")
    assert elapsed < 5 + 4, elapsed  # the answer, plus Python's start-up


@pytest.fixture
def hung_server():
    """A real socket that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_server_that_never_answers_is_reported_within_5_seconds(hung_server):
    uri, accepted = hung_server
    started = time.monotonic()
    result = run_check(env_for(uri), "all", timeout=60)
    elapsed = time.monotonic() - started
    assert accepted, "the grader never connected"
    assert_cannot_grade(result, "does not answer", "timed out")
    assert elapsed < 5 + 4, elapsed


def test_an_unknown_task_is_refused_by_the_command_line(tmp_path):
    result = run_check(env_for(f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}"), "task9")
    assert result.returncode == CANNOT_GRADE
    assert "invalid choice: 'task9'" in result.stderr and "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path):
    result = run_check(env_for(f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}"), "task1", "--debug")
    assert result.returncode == CANNOT_GRADE
    assert "Traceback" in result.stderr and "Cannot grade: No tracking store" in result.stderr


def test_the_api_raises_cannot_grade_with_the_same_line(tmp_path):
    from grader.core import CannotGrade, grade

    with pytest.raises(CannotGrade, match="No tracking store at"):
        grade(["task1"], tracking_uri=LabStore(tmp_path).uri)
    with pytest.raises(CannotGrade, match="Unknown task 'task5'"):
        grade(["task5"], tracking_uri=LabStore(tmp_path).uri)

"""Does a task script whose tracking server fails mid-run (class mode) say so in one line?

Real parts: a real `mlflow server`, a real task script run with MLFLOW_TRACKING_URI
pointing at the server (forked warm: test/forked.py). The script is paused (SIGSTOP)
once its first run exists on the server, the server is then stopped, hung (SIGSTOP) or
loses its PostgreSQL, and the script resumes: it is mid-sweep, with calls still to make.
The SQLite tests share one server (it refuses one host name, hangs and recovers, then
stops: in that order, in one xdist group); a test that finds it stopped starts another.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_python
from english import assert_spanish
from forked import Forked

from labkit.net import answers, free_port, request, server_gone, stop_tree, wait_until
from labkit.paths import SOLUTIONS_DIR

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="pauses processes with SIGSTOP"),
              pytest.mark.xdist_group("dead_server")]  # one worker: the shared server

SCRIPT = SOLUTIONS_DIR / "task2_sweep.py"  # a sweep: several runs, each with several calls
START_TIMEOUT_S = 180
# The bounds, from the moment the script meets the failed server: a stopped
# server is reported within 5 s, a hung one within 30 s (the call that hangs and the
# end of its run each wait MLFLOW_HTTP_REQUEST_TIMEOUT, 10 s; nothing else waits).
STOPPED_BOUND_S = 5
HUNG_BOUND_S = 30


class TrackingServer:
    """A real `mlflow server` (one worker) on ``backend``, in its own process group; ``{port}`` in
    ``extra`` is its port. Its command line (`python -m mlflow server`) is forked warm (forked.Forked:
    the same CLI code without its seconds of imports; the uvicorn worker it starts is a new
    interpreter, as always): the subject is what a script says when this server fails, not its start
    (test_ui_command.py starts `mlflow server` fresh, through `python -m labkit ui`)."""

    def __init__(self, backend: str, folder: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        extra = tuple(arg.format(port=self.port) for arg in extra)
        self.log, self.errors = folder / "server.log", folder / "server.err"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        self.process = Forked(
            ["-m", "mlflow", "server", "--backend-store-uri", backend,
             "--artifacts-destination", str(folder / "artifacts"),
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1", *extra],
            env, folder, self.log, self.errors)
        if not wait_until(self._answers, START_TIMEOUT_S, every=0.3, unless=lambda: self.process.poll() is not None):
            self.stop()
            raise AssertionError("the tracking server did not start:\n" + self.log.read_text()
                                 + self.errors.read_text())

    def _answers(self) -> bool:
        return answers(self.url + "/health")

    def api(self, path: str, body: dict) -> dict:
        reply = request("POST", self.url + "/api/2.0/mlflow/" + path, json=body)
        reply.raise_for_status()
        return reply.json()

    def runs(self) -> int:
        """How many runs the server holds (up to 1,000)."""
        experiments = self.api("experiments/search", {"max_results": 100}).get("experiments", [])
        ids = [e["experiment_id"] for e in experiments]
        return len(ids and self.api("runs/search", {"experiment_ids": ids, "max_results": 1000})
                   .get("runs", []))

    def answers(self) -> bool:
        return self.process.poll() is None and self._answers()

    def signal(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:  # stopped already
            pass

    def stop(self) -> None:
        self.signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
        stop_tree(self.process)


class TaskScript:
    """`python solutions/task2_sweep.py` on ``server_url`` as a student runs it, forked warm
    (forked.Forked: the subject is what it says when its server fails mid-run, not its start)."""

    def __init__(self, server_url: str, folder: Path, **extra_env: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env.update(MLFLOW_TRACKING_URI=server_url, PYTHONUTF8="1", PYTHONUNBUFFERED="1", **extra_env)
        folder.mkdir(parents=True, exist_ok=True)
        self.stdout, self.stderr = folder / "stdout.txt", folder / "stderr.txt"
        self.process = Forked([SCRIPT], env, folder, self.stdout, self.stderr)
        self.stderr_seen = 0

    def output(self) -> str:
        return (f"--- stdout\n{self.stdout.read_text(errors='replace')}"
                f"\n--- stderr\n{self.stderr.read_text(errors='replace')[-6000:]}")

    def pause_mid_run(self, server: TrackingServer, runs_before: int = 0) -> None:
        """Pause the script once its first run exists on the server (the server held
        ``runs_before`` runs, of scripts paused or ended, when it started), and note its stderr."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while server.runs() <= runs_before:
            assert self.process.poll() is None, f"the script ended before its first run:\n{self.output()}"
            assert time.monotonic() < deadline, f"no run on the server yet:\n{self.output()}"
            time.sleep(0.1)
        os.killpg(self.process.pid, signal.SIGSTOP)
        assert self.process.poll() is None, f"the script ended before it was paused:\n{self.output()}"
        self.stderr_seen = self.stderr.stat().st_size

    def resume_and_time(self, limit: float) -> tuple[int, float, str]:
        """Resume; (exit code, seconds to exit, what it wrote to stderr since it was paused)."""
        started = time.monotonic()
        os.killpg(self.process.pid, signal.SIGCONT)
        try:
            code = self.process.wait(timeout=limit + 60)  # measured below, not cut short
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {limit + 60} s after it resumed:\n{self.output()}")
        seconds = time.monotonic() - started
        new_stderr = self.stderr.read_bytes()[self.stderr_seen:].decode(errors="replace")
        print(f"exit {code} after {seconds:.1f} s; stderr since the pause:\n{new_stderr}")
        return code, seconds, new_stderr

    def kill(self) -> None:
        self.process.kill()


WARNING = re.compile(r"^\S.*:\d+: \w*Warning: ")  # path:line: UserWarning: ..., then its source line


def one_line(text: str) -> str:
    """The one line a failure printed; Python warnings the task's own work printed are not
    part of it (e.g. MLflow's hint about integer columns when a dataset is logged)."""
    lines, skip_source = [], False
    for line in text.splitlines():
        if skip_source and line.startswith(" "):
            skip_source = False
        elif WARNING.match(line):
            skip_source = True
        elif line.strip():
            lines.append(line)
    assert len(lines) == 1 and "Traceback" not in text, f"expected one line, got:\n{text}"
    return lines[0]


def new_server_db(template, folder: Path) -> str:
    """A copy of the database a new server makes at its first start (conftest's
    server_db_template): the server skips MLflow's migrations, nothing else changes."""
    shutil.copyfile(template.db, folder / "server.db")
    return "sqlite:///" + (folder / "server.db").as_posix()


@pytest.fixture
def sqlite_server(tmp_path, server_db_template):
    """A real `mlflow server` of the test's own on a new SQLite store, stopped after it."""
    server = TrackingServer(new_server_db(server_db_template, tmp_path), tmp_path)
    try:
        yield server
    finally:
        server.stop()
        assert server_gone(server.process.pid, server.port), "the test's server is still running"


@pytest.fixture(scope="module")
def shared_servers(tmp_path_factory, server_db_template):
    """The module's server: the one started last while it answers, else a new one. It allows
    only the host name 127.0.0.1 (as a class server behind nginx allows only the students' name)."""
    started: list[TrackingServer] = []

    def answering() -> TrackingServer:
        if not started or not started[-1].answers():
            folder = tmp_path_factory.mktemp("tracking-server")
            started.append(TrackingServer(new_server_db(server_db_template, folder), folder,
                                          "--allowed-hosts", "127.0.0.1:{port}"))
        return started[-1]

    yield answering
    for server in started:
        server.stop()
        assert server_gone(server.process.pid, server.port), "the module's server is still running"


@pytest.fixture
def shared_server(shared_servers) -> TrackingServer:
    return shared_servers()


@pytest.mark.slow  # a real `mlflow server`
def test_a_server_that_refuses_the_host_name_says_so_not_the_workspace(shared_server):
    """Behind nginx, a server started without --allowed-hosts for the students' name answers 403
    "Invalid Host header" before any sign-in: is that named (with the fix), not "may not use
    workspace ... Is MLFLOW_WORKSPACE your own?". (The server allows 127.0.0.1, not localhost.)"""
    from labkit.store import StoreError, check_sign_in

    check_sign_in(shared_server.url)  # the name it allows: no error
    with pytest.raises(StoreError) as refused:
        check_sign_in(f"http://localhost:{shared_server.port}")
    message = str(refused.value)
    assert "refuses the host name 'localhost'" in message, message
    assert "--allowed-hosts localhost" in message, message
    assert "MLFLOW_WORKSPACE" not in message, message


@pytest.mark.slow  # it waits out the client's timeout by design
def test_a_server_that_hangs_mid_run_is_one_line_within_30_s(shared_server, tmp_path):
    """Does a hung server cost one wait per call still needed, not three, and one line?"""
    runs_before = shared_server.runs()
    script = TaskScript(shared_server.url, tmp_path)
    try:
        script.pause_mid_run(shared_server, runs_before)
        shared_server.signal(signal.SIGSTOP)  # it keeps its port and accepts, but never answers
        code, seconds, stderr = script.resume_and_time(HUNG_BOUND_S)
    finally:
        script.kill()
        shared_server.signal(signal.SIGCONT)  # the next test's server again
    line = one_line(stderr)
    assert code != 0, script.output()
    assert f"The tracking server at {shared_server.url} did not answer" in line, line
    assert seconds < HUNG_BOUND_S, f"exited {seconds:.1f} s after the server hung"


@pytest.mark.slow  # a real `mlflow server`, stopped mid-run
def test_a_server_that_stops_mid_run_is_one_line_within_seconds_in_english_and_spanish(shared_server, tmp_path):
    """Is a stopped server one line that says so and what to do, not a chained traceback? And is
    it one Spanish line for a Spanish class (crash.py's line, issue 14)? Two scripts are mid-run
    on the server when it stops: one in English, one with LAB_LANG=es."""
    runs_before = shared_server.runs()  # the hang test's, if it ran first
    english = TaskScript(shared_server.url, tmp_path / "en")
    spanish = None
    try:
        english.pause_mid_run(shared_server, runs_before)
        spanish = TaskScript(shared_server.url, tmp_path / "es", LAB_LANG="es")
        spanish.pause_mid_run(shared_server, shared_server.runs())
        shared_server.stop()
        code, seconds, stderr = english.resume_and_time(STOPPED_BOUND_S)
        spanish_code, _, spanish_stderr = spanish.resume_and_time(60)
    finally:
        english.kill()
        if spanish is not None:
            spanish.kill()
    line = one_line(stderr)
    assert code != 0, english.output()
    assert f"The tracking server at {shared_server.url} stopped answering" in line, line
    assert "Ask your instructor" in line, line
    assert seconds < STOPPED_BOUND_S, f"exited {seconds:.1f} s after the server stopped"

    line = one_line(spanish_stderr)
    assert spanish_code != 0, spanish.output()
    assert (f"El servidor de seguimiento (tracking server) en {shared_server.url} dejó de responder "
            "durante este run (") in line, line
    assert "Pregúntale a tu instructor" in line, line
    assert_spanish([line])


@pytest.mark.postgres
def test_a_database_that_goes_down_is_one_line_mid_run_and_at_the_next_start(tmp_path):
    """MLflow's /health still answers 200 when its database is down, but every call that
    needs the database answers 503: does the script say so in one line, mid-run and at
    its next start, instead of carrying on and crashing?"""
    pytest.importorskip("psycopg2")
    from classroom.postgres import Cluster, PostgresError

    try:
        postgres = Cluster().start()
    except PostgresError as exc:
        pytest.skip(str(exc))
    try:
        server = TrackingServer(postgres.uri(), tmp_path)
        try:
            script = TaskScript(server.url, tmp_path)
            try:
                script.pause_mid_run(server)
                postgres.stop()
                code, _, stderr = script.resume_and_time(STOPPED_BOUND_S)
            finally:
                script.kill()
            assert code != 0, script.output()
            assert "answers, but its database does not (HTTP 503" in one_line(stderr), stderr
            assert answers(server.url + "/health", timeout=5)

            again = TaskScript(server.url, tmp_path / "again")
            try:
                code = again.process.wait(timeout=120)
            finally:
                again.kill()
            line = one_line(again.stderr.read_text(errors="replace"))
            assert code != 0, again.output()
            # Said by the start's check, before any work: with the database's own error.
            assert re.search(r"answers, but its database does not \(HTTP 503: .+\)", line), line
            assert "Is the server's database running?" in line, line
        finally:
            server.stop()
    finally:
        postgres.stop()


def test_a_proxy_whose_server_stopped_is_one_line(tmp_path):
    """Two servers behind nginx: a request under way on the server that stops comes back
    502 from nginx, which does not resend a POST, and the lab's client does not retry (fail
    fast). Does the student get the one line that says to run the script again (it then goes
    to the server still up), not MLflow's traceback of "too many 502 error responses"?"""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Gateway(BaseHTTPRequestHandler):  # what nginx answers when its upstream is gone
        def _bad_gateway(self):
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            self.send_response(502)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _bad_gateway

        def log_message(self, *args):
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{proxy.server_address[1]}"
    script = tmp_path / "log_mid_run.py"  # what a task script does mid-run, with the lab's crash note
    script.write_text("import mlflow\nfrom labkit.crash import install_crash_note\nfrom labkit.net import fail_fast\n"
                      "fail_fast()\ninstall_crash_note()\nmlflow.MlflowClient().log_param('0' * 32, 'n', 1)\n",
                      encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_TRACKING_URI=url, PYTHONUTF8="1")
    try:
        done = run_python([script], env, tmp_path, timeout=120)  # forked warm
    finally:
        proxy.shutdown()
    assert done.returncode != 0
    assert one_line(done.stderr) == (f"The tracking server at {url} stopped answering during this run (HTTP 502 "
                                     "from the proxy in front of it). Is it still running? Ask your instructor, "
                                     "then run this script again."), done.stderr

"""The automatic path: start the model server, run every request check, stop it, give a verdict.

`python test/test_model_deployment.py [--port N]` serves the lab's staged model on a
free port, runs the checks of test_requests.py and every curl command the guides
show, stops the server, checks nothing is left running, and exits 1 on any failure.
pytest runs the same path against a store built from solutions/ in a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from labkit import lab as names
from labkit.net import stop_tree
from labkit.paths import ROOT
from labkit.commands.serving import (
    DEFAULT_PORT, HOST, ModelServer, ServeError, free_port, port_is_free, server_gone,
    staged_version,
)
from test_requests import Check, print_table, run_checks, short, verdict

DOC_FILES = ("README.md", "LAB.md", "LAB.es.md")
DOCS_ADDRESS = f"{HOST}:{DEFAULT_PORT}"  # the address the guides' curl commands use
SERVE_SCRIPT = Path(__file__).resolve().parent / "serve_model.py"
DEPLOY_SCRIPT = Path(__file__).resolve()
REQUESTS_SCRIPT = Path(__file__).resolve().parent / "test_requests.py"


# ---------------------------------------------------------------- the guides' curl commands


def docs_curl_commands(root: Path = ROOT) -> list[tuple[str, str]]:
    """(file, command) for every line starting with `curl` in a ```bash block of the guides."""
    found = []
    for name in DOC_FILES:
        path = root / name
        if path.exists():
            for block in re.findall(r"```bash\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
                joined = block.replace("\\\n", " ")  # a command continued over several lines
                found += [(name, line.strip()) for line in joined.splitlines()
                          if line.strip().startswith("curl ")]
    return found


def run_curl(command: str, url: str) -> tuple[int | None, str]:
    """Run a documented curl command against ``url`` (only the address changes)."""
    address = url.split("//", 1)[1]
    args = shlex.split(command.replace(DOCS_ADDRESS, address))
    result = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    first = result.stdout.splitlines()[0] if result.stdout else ""
    status = re.match(r"HTTP/[\d.]+ (\d{3})", first)
    if result.returncode != 0:
        return None, f"curl exited {result.returncode}: {result.stderr.strip()[:80]}"
    return (int(status.group(1)) if status else None), result.stdout


def check_docs_curl(url: str) -> list[Check]:
    commands = docs_curl_commands()
    if shutil.which("curl") is None:
        return [Check("docs", "curl is installed", False, "install curl to run the guides' commands")]
    if not commands:
        return [Check("docs", "curl commands found", False, f"no ```bash curl line in {DOC_FILES}")]
    checks, numbers = [], {}
    for doc, command in commands:
        number = numbers[doc] = numbers.get(doc, 0) + 1
        started = time.perf_counter()
        status, output = run_curl(command, url)
        ms = (time.perf_counter() - started) * 1000
        ok = status == 200
        detail = short(command, 70) if ok else f"expected HTTP 200 (curl -i), got: {short(output)}"
        checks.append(Check("docs", f"{doc} curl #{number}", ok, detail, status, ms))
    return checks


# ---------------------------------------------------------------- the automatic path


def deploy_and_check(server: ModelServer, tracking_uri: str) -> list[Check]:
    """Start the server, run every check, stop it (whatever happens) and check it is gone."""
    port = int(server.url.rsplit(":", 1)[1])
    try:
        with server:
            seconds = server.wait_until_ready()
            print(f"Model server ready at {server.url} after {seconds:.1f} s; sending requests...",
                  flush=True)
            checks = run_checks(server.url, tracking_uri) + check_docs_curl(server.url)
    except ServeError as exc:
        checks = [Check("server", "starts and answers /ping", False, str(exc))]
    gone = server.pid is not None and server_gone(server.pid, port)
    checks.append(Check("server", "no process left after stop", gone,
                        f"pid {server.pid} and its children gone, port {port} free" if gone
                        else f"pid {server.pid} or port {port} still in use after stop"))
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=None, help="default: any free port")
    args = parser.parse_args(argv)
    port = args.port or free_port()
    if not port_is_free(port):
        print(f"Port {port} is in use. Pick another with --port, or leave it out.")
        return 2
    from labkit.store import tracking_uri

    uri = tracking_uri()
    try:
        version = staged_version(uri)
    except ServeError as exc:
        print(exc)
        return 2
    print(f"Deploying {names.STAGING_URI} (version {version.version}) from {uri} on port {port}")
    checks = deploy_and_check(ModelServer(uri, port=port), uri)
    print()
    print_table(checks)
    print("\n" + verdict(checks))
    return 0 if all(c.passed for c in checks) else 1


# ---------------------------------------------------------------- pytest


def run_script(script: Path, store, *args: str, timeout: float = 180):
    """``python SCRIPT ARGS`` on ``store``, forked warm (conftest.run_python: the same code as a
    fresh interpreter, without its seconds of imports; test_release.py runs serve_model.py and
    test_requests.py fresh in a student's environment)."""
    from conftest import run_python  # pytest's: this file is also the students' script

    return run_python([str(script), *args], store.env(), ROOT, timeout)


def test_automatic_deployment_passes_every_check(solutions_store):
    """Does the automatic path serve the solutions' model, pass every check and clean up?"""
    result = run_script(DEPLOY_SCRIPT, solutions_store)
    report = f"\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr[-3000:]}"
    assert result.returncode == 0, report
    assert re.search(r"All \d+ checks passed", result.stdout), report
    for row in ("served = in-process pyfunc", "wrong content type", "one-row requests",
                "README.md curl #1", "no process left after stop"):
        assert re.search(rf"{re.escape(row)}\s+pass", result.stdout), f"no passing '{row}'{report}"


STOP_BOUND_S = 10  # what a student stops with Ctrl+C is gone within this, under load too


class ServeModelProcess:
    """`python test/serve_model.py` as a student runs it, read line by line.

    On POSIX it starts with SIGINT ignored, as a CI runner's background shell starts it:
    Ctrl+C must stop it all the same; there it is forked warm (test/forked.py: the same code
    without its seconds of imports; test_release.py starts serve_model.py in a fresh interpreter),
    its output a FIFO. Whatever happens, kill() leaves nothing of it.
    """

    def __init__(self, store, port: int, folder: Path) -> None:
        self.lines: list[str] = []
        self.server_pid: int | None = None  # the model server's process group, once started
        if sys.platform == "win32":
            self.process = subprocess.Popen(
                [sys.executable, str(SERVE_SCRIPT), "--port", str(port)], env=store.env(),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                creationflags=subprocess.CREATE_NEW_PROCESS_GROUP)
            self._output = lambda: contextlib.nullcontext(self.process.stdout)
        else:
            from forked import Forked, as_main  # pytest's: this file is also the students' script

            output = folder / "serve_model.out"
            os.mkfifo(output)
            argv = [*as_main(str(SERVE_SCRIPT), ignore_sigint=True), "--port", port]
            self.process = Forked(argv, store.env(), ROOT, output, output)
            self._output = lambda: open(output, encoding="utf-8")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        with self._output() as output:
            for line in output:
                self.lines.append(line.rstrip("\n"))
                if self.server_pid is None and (found := re.search(r"\(pid (\d+)", line)):
                    self.server_pid = int(found.group(1))

    def wait_for(self, pattern: str, timeout: float = 240) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            if not self.reader.is_alive():  # the script ended and all its output is read
                break
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r}:\n" + "\n".join(self.lines))

    def interrupt(self) -> int:
        """What Ctrl+C does to the script; its exit code, or a failure after STOP_BOUND_S."""
        sig = signal.CTRL_BREAK_EVENT if sys.platform == "win32" else signal.SIGINT
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=STOP_BOUND_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {STOP_BOUND_S} s after Ctrl+C:\n"
                                 + "\n".join(self.lines)) from None

    def kill(self) -> None:
        """Kill the script and the model server with all they started, whatever state they are in."""
        for pid in (self.process.pid, self.server_pid):
            if pid is not None:
                stop_tree(pid, grace=0)
        self.process.wait()


def test_serve_model_answers_curl_and_test_requests_then_stops_on_ctrl_c(solutions_store, tmp_path):
    """Does serve_model.py print the guides' curl, answer it and test_requests.py, then stop
    on Ctrl+C within 10 s without leaving a process?"""
    port = free_port()
    served = ServeModelProcess(solutions_store, port, tmp_path)
    try:
        ready = served.wait_for(r"ready at (http://\S+) after .* \(pid (\d+)\)")
        url, pid = ready.group(1), int(ready.group(2))
        printed = served.wait_for(r"^\s+(curl .*)$").group(1)
        assert printed.replace(f"{HOST}:{port}", DOCS_ADDRESS) in [
            command for _, command in docs_curl_commands()
        ], f"the printed command is not in README.md's serving section:\n{printed}"
        status, output = run_curl(printed, url)
        assert status == 200, output
        # terminal 2, in Spanish (the automatic path above reads the same table in English)
        checked = run_script(REQUESTS_SCRIPT, solutions_store, "--url", url, "--lang", "es")
        assert checked.returncode == 0, checked.stdout + checked.stderr[-3000:]
        assert (re.search(r"^Pasaron las \d+ verificaciones\.$", checked.stdout, re.M)
                and re.search(r"servido = pyfunc en proceso\s+pass", checked.stdout)), checked.stdout
        assert served.interrupt() == 0, "\n".join(served.lines)
        assert server_gone(pid, port), f"server pid {pid} or port {port} still in use after Ctrl+C"
    finally:
        served.kill()
    served.reader.join(timeout=5)
    assert "Model server stopped." in served.lines, "\n".join(served.lines)


def test_serve_model_without_a_store_says_run_the_tasks(lab_store):
    """With no store at all, does serve_model.py say to run the tasks, in one line?"""
    result = run_script(SERVE_SCRIPT, lab_store, "--port", str(free_port()), timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout.strip().endswith("run tasks 1 to 4 first."), result.stdout
    assert len(result.stdout.strip().splitlines()) == 1 and not result.stderr, result


def unstage(solutions_store, lab_store):
    """Make lab_store a copy of the solutions' store in which no version has an alias."""
    shutil.copyfile(solutions_store.db, lab_store.db)
    with contextlib.closing(sqlite3.connect(lab_store.db)) as db, db:
        db.execute("DELETE FROM registered_model_aliases")
    return lab_store


def test_serve_model_without_a_staged_model_says_run_task_4(solutions_store, lab_store):
    """With a store but no `staging` alias, does serve_model.py say to run task 4 first?"""
    unstaged_store = unstage(solutions_store, lab_store)
    result = run_script(SERVE_SCRIPT, unstaged_store, "--port", str(free_port()), timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "run task 4 first" in result.stdout, result.stdout
    assert len(result.stdout.strip().splitlines()) == 1, result.stdout
    assert "Traceback" not in result.stderr, result.stderr


def test_serve_model_says_when_the_port_is_taken(lab_store):
    """If the port is in use, does serve_model.py say so and suggest another?"""
    import socket

    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_script(SERVE_SCRIPT, lab_store, "--port", str(port), timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"Port {port} is in use" in result.stdout and f"--port {port + 1}" in result.stdout


def test_requests_without_a_server_says_start_it(lab_store):
    """With nothing listening, does test_requests.py say how to start the server?"""
    port = free_port()
    result = run_script(REQUESTS_SCRIPT, lab_store, "--url", f"http://{HOST}:{port}")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"--env-manager local -p {port}`" in result.stdout and not result.stderr, result


STAND_IN_SILENT = "print('stand-in server booting', flush=True); import time; time.sleep(600)"


def test_a_server_that_never_answers_is_killed_and_its_log_shown(lab_store):
    """Does a server that never answers /ping get killed after a bounded wait, with its log?"""
    port = free_port()
    server = ModelServer(lab_store.uri, port=port, command=[sys.executable, "-c", STAND_IN_SILENT])
    server.start()
    try:
        started = time.monotonic()
        error = _serve_error(server.wait_until_ready, timeout=2)
        assert time.monotonic() - started < 15
    finally:
        server.stop()
    assert "did not answer" in error and "stand-in server booting" in error, error
    assert server_gone(server.pid, port)


def test_a_server_that_crashes_is_reported_with_mlflows_own_log(solutions_store, lab_store):
    """Does a real `mlflow models serve` that cannot load its model end with its log's tail?"""
    unstaged_store = unstage(solutions_store, lab_store)
    port = free_port()
    server = ModelServer(unstaged_store.uri, model_uri="models:/no-such-model@staging", port=port)
    with server:
        error = _serve_error(server.wait_until_ready, timeout=60)
    assert "exited with code" in error and "no-such-model" in error, error
    assert server_gone(server.pid, port)


STAND_IN_HTTP = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self): self._answer()
    def do_POST(self): self.rfile.read(int(self.headers.get('Content-Length', 0))); self._answer()
    def _answer(self):
        self.send_response(200); self.send_header('Content-Length', '2'); self.end_headers()
        self.wfile.write(b'{}')
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), Handler).serve_forever()
"""


def test_failing_checks_still_stop_the_server(solutions_store, lab_store):
    """When the server answers nonsense, do the checks fail and the server still stop?"""
    unstaged_store = unstage(solutions_store, lab_store)
    port = free_port()
    server = ModelServer(unstaged_store.uri, port=port,
                         command=[sys.executable, "-c", STAND_IN_HTTP, str(port)])
    checks = deploy_and_check(server, unstaged_store.uri)
    failed = {c.name for c in checks if not c.passed}
    assert {"idle", "wrong column name", "dataframe_split"} <= failed, failed
    assert checks[-1].name == "no process left after stop" and checks[-1].passed, checks[-1]


def _serve_error(call, **kwargs) -> str:
    try:
        call(**kwargs)
    except ServeError as exc:
        return str(exc)
    raise AssertionError("expected a ServeError")


if __name__ == "__main__":
    sys.exit(main())

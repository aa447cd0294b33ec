"""Does `python -m labkit ui` serve the lab's store without the mlflow-artifacts pitfall,
say where to open it only once it answers (and note it for the task scripts), and stop whole
on Ctrl+C, SIGTERM and SIGHUP?

One real UI: the module's, on a brand-new store, started as a CI runner's background shell starts
it (SIGINT ignored), forked warm (UICommand; its `mlflow server` a new interpreter); the tests
share it and the last one stops it with Ctrl+C. SIGTERM and SIGHUP become the same
KeyboardInterrupt as Ctrl+C (checked in a process that does only that), so the same stop follows.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import run_python
from procs import POSIX, describe, descendants, kill_everything, wait_gone
from test_closing import WRONG_LOG, run_script

from labkit.commands.cli import ui_port_suggestion
from labkit.net import free_port
from labkit.tracking import UI_RECORD

if POSIX:
    from forked import Forked, as_main

# Its module-scoped fixtures are built once: the whole module runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("test_ui_command")


def get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def ui_store(tmp_path_factory):
    from conftest import LabStore

    return LabStore(tmp_path_factory.mktemp("ui_store"))


@pytest.fixture(scope="module")
def module_ui(ui_store, tmp_path_factory):
    """`python -m labkit ui` on a brand-new store, shared by the tests below, started with SIGINT
    ignored (as a CI runner's background shell starts it): the last one stops it with Ctrl+C
    (stopping it whole is checked there; SIGTERM and SIGHUP raise the same KeyboardInterrupt)."""
    ui = UICommand(ui_store, free_port(), tmp_path_factory.mktemp("ui_command"))
    try:
        yield ui, ui.wait_for_address()
    finally:
        kill_everything(ui.process, ui.server)


@pytest.fixture(scope="module")
def ui_server(module_ui):
    ui, address = module_ui
    return address, ui.port


def test_scripts_can_log_artifacts_to_an_experiment_made_in_the_ui(ui_server, ui_store):
    lab_store = ui_store
    import mlflow

    base, _ = ui_server
    created = post_json(base + "/api/2.0/mlflow/experiments/create", {"name": "made-in-the-ui"})
    mlflow.set_tracking_uri(lab_store.uri)
    experiment = mlflow.get_experiment(created["experiment_id"])
    assert not experiment.artifact_location.startswith("mlflow-artifacts:")
    with mlflow.start_run(experiment_id=created["experiment_id"]) as run:
        mlflow.log_text("hello from a script", "note.txt")
    served = get(f"{base}/get-artifact?path=note.txt&run_uuid={run.info.run_id}")
    assert served == b"hello from a script"


def test_the_ui_refuses_a_port_in_use_with_a_next_step(ui_server, ui_store, tmp_path):
    """(Forked warm: conftest.run_python; a fresh start of the command: test_ui_screenshots.py's tool.)"""
    lab_store = ui_store
    _, port = ui_server
    result = run_python(["-m", "labkit", "ui", "--port", str(port)], lab_store.env(), tmp_path, timeout=60)
    assert result.returncode == 2
    assert f"Port {port} is in use" in result.stdout, result.stdout
    suggested = int(re.search(r"--port (\d+)", result.stdout).group(1))
    assert suggested not in (port, 5001), result.stdout


def test_a_script_run_while_the_ui_serves_its_store_points_at_that_ui(ui_server, ui_store):
    """The UI notes its address beside the store; a task script's end then gives that address and
    links its run there, instead of telling the student to open a UI (a noted UI that no longer
    answers: test_closing.py). The Ctrl+C test below checks the stopped UI forgets it."""
    base, _ = ui_server
    assert (ui_store.folder / UI_RECORD).read_text(encoding="utf-8").strip() == base
    opened = run_script(ui_store, WRONG_LOG)  # forked warm, as test_closing.py's scripts
    assert opened.returncode == 0, opened.stderr
    assert "Open the UI" not in opened.stdout, opened.stdout
    assert f"See your runs at {base}, then grade with:" in opened.stdout, opened.stdout
    assert f"{base}/#/experiments/" in opened.stdout  # the run's link goes to that UI


def test_the_port_suggested_when_5000_is_taken_is_not_the_model_servers():
    """The serving bonus listens on 5001: a UI moved there would take its port."""
    assert ui_port_suggestion(5000) not in (5000, 5001)


class UICommand:
    """`python -m labkit ui` as a student starts it in a terminal, read line by line: in its own
    session (the terminal's group), with SIGINT ignored on POSIX (as a CI runner's background shell
    starts it: Ctrl+C must stop it all the same). There it is forked warm (test/forked.py: the same
    code without its seconds of imports; the `mlflow server` it starts is a new interpreter, and
    test_ui_screenshots.py's tool starts the command itself fresh), its output a FIFO."""

    def __init__(self, lab_store, port: int, folder: Path) -> None:
        self.port = port
        self.server: list[int] = []  # the server's processes under the command, once looked up
        argv = ["-m", "labkit", "ui", "--port", str(port)]
        if POSIX:
            output = folder / "ui.out"
            os.mkfifo(output)
            self.process = Forked([*as_main(argv[1], module=True, ignore_sigint=True), *argv[2:]],
                                  lab_store.env(), lab_store.folder,
                                  output, output)
            self._output = lambda: open(output, encoding="utf-8")
        else:
            self.process = subprocess.Popen(
                [sys.executable, *argv], env=lab_store.env(), cwd=lab_store.folder, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, start_new_session=True)
            self._output = lambda: contextlib.nullcontext(self.process.stdout)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        with self._output() as output:
            for line in output:
                self.lines.append(line.rstrip("\n"))

    def wait_for_address(self, timeout: float = 180) -> str:
        """The address the command tells the student to open."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.match(r"Open (http://\S+)", line):
                    return match.group(1)
            if not self.reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError("no 'Open http://...' line:\n" + "\n".join(self.lines))


def answers_and_stops_whole(ui: UICommand, lab_store, how: str) -> None:
    """Does the address printed answer at once, and does the command take the whole server
    down with it (mlflow server, uvicorn, its workers) when stopped by ``how``?"""
    address = ui.wait_for_address()
    assert get(address + "/health", timeout=5) == b"OK"  # printed once it answers, not before
    # MLflow's own command, as printed (and as LAB.md shows it, test_docs_commands.py)
    typed = ["mlflow", "server", "--backend-store-uri", lab_store.uri, "--default-artifact-root",
             (lab_store.folder / "mlartifacts").as_uri(), "--host", "127.0.0.1", "--port", str(ui.port),
             "--workers", "1"]
    assert "  " + shlex.join(typed) in ui.lines, "\n".join(ui.lines)
    record = lab_store.folder / UI_RECORD  # where the task scripts look for a UI that serves the store
    assert record.read_text(encoding="utf-8").strip() == address
    ui.server = descendants(ui.process.pid)
    assert ui.server, "no server process under the command"
    # One worker, no job runner: `mlflow server` and uvicorn (MLflow's defaults make 15).
    assert len(ui.server) <= 2, describe(ui.server)
    if how == "Ctrl+C":
        os.killpg(ui.process.pid, signal.SIGINT)
    else:
        ui.process.send_signal(getattr(signal, how))
    code = ui.process.wait(timeout=30)
    left = wait_gone(ui.server, timeout=5)
    assert not left, f"still running after {how} to the UI command:\n{describe(left)}"
    assert code == 0, "\n".join(ui.lines)
    with pytest.raises(OSError):
        get(address + "/health", timeout=2)
    assert not record.exists(), f"the UI stopped by {how} left its address behind"


# What `python -m labkit ui` does with the signals that stop it (labkit.net.stop_on_signals), in a
# process that does only that; ``nohup`` starts it with SIGHUP ignored.
SIGNALLED = """
import signal, sys, time
if sys.argv[1] == "nohup":
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
from labkit.net import stop_on_signals
stop_on_signals()
try:  # the signal may come as soon as "waiting" is read
    print("waiting", flush=True)
    time.sleep(120)
except KeyboardInterrupt:
    print("stopped", flush=True)
"""


@pytest.mark.skipif(not POSIX, reason="a closed terminal's SIGHUP")
@pytest.mark.parametrize("started, sent", [("terminal", "SIGTERM"), ("terminal", "SIGHUP"), ("nohup", "SIGHUP")])
def test_sigterm_and_sighup_stop_the_ui_command_as_ctrl_c_does_unless_nohup_ignores_sighup(started, sent):
    """SIGTERM (a timeout, `kill`) and a closed terminal's SIGHUP become the same KeyboardInterrupt
    as Ctrl+C, whose stop takes the whole server down (the module's UI, the last test: the command
    calls stop_on_signals first, or SIGTERM would leave its server running); under nohup, SIGHUP
    stays ignored."""
    process = subprocess.Popen([sys.executable, "-c", SIGNALLED, started], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout.readline() == "waiting\n"
        process.send_signal(getattr(signal, sent))
        if started == "nohup":
            with pytest.raises(subprocess.TimeoutExpired):
                process.wait(timeout=1)
            process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0 and out == "stopped\n", (process.returncode, out)


@pytest.mark.skipif(not POSIX, reason="sends a terminal's signals to a process group")
def test_the_modules_ui_answered_on_a_new_store_and_stops_whole_on_ctrl_c(module_ui, ui_store):
    """The module's UI, started on a brand-new store (MLflow made its tables) and used by the
    tests above, said where to open it once it answered, and Ctrl+C takes it down whole: Ctrl+C
    goes to the terminal's whole foreground group, and started as a CI runner's background shell
    starts it, with SIGINT ignored, the command must still stop on it. (SIGTERM and SIGHUP, the
    same KeyboardInterrupt: the test before it.)"""
    ui, _ = module_ui
    answers_and_stops_whole(ui, ui_store, "Ctrl+C")

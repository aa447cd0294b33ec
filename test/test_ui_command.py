"""Does `python -m labkit ui` serve the lab's store without the mlflow-artifacts pitfall?"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
def ui_server(ui_store):
    lab_store = ui_store
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "labkit", "ui", "--port", str(port)],
        env=lab_store.env(), cwd=lab_store.folder, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                get(base + "/health", timeout=1)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the UI did not start:\n" + process.stdout.read())
                time.sleep(0.5)
        yield base, port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


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


def test_the_ui_refuses_a_port_in_use_with_a_next_step(ui_server, ui_store):
    lab_store = ui_store
    _, port = ui_server
    result = subprocess.run([sys.executable, "-m", "labkit", "ui", "--port", str(port)],
                            env=lab_store.env(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"Port {port} is in use" in result.stdout and f"--port {port + 1}" in result.stdout

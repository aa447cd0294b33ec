"""The lab's own commands: ``python -m labkit ui|reset|demo|generate|data``."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request

from labkit.commands.net import free_port, port_is_free, start_group, stop_group, stop_on_signals
from labkit.paths import ROOT, SOLUTIONS_DIR
from labkit.store import (
    StoreError,
    artifact_root_for,
    backup_and_reset,
    is_remote,
    sqlite_path,
    tracking_uri,
    prepare_lab_store,
)

TASK_SCRIPTS = ["task1_baseline.py", "task2_sweep.py", "task3_compare.py", "task4_registry.py"]


UI_PORT_IF_TAKEN = 5050  # what to suggest when 5000 is taken: the model server uses 5001
UI_READY_TIMEOUT_S = 180.0  # one worker on a busy 2-core laptop answers well within this


def ui_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """`mlflow server` on the lab's store, with artifacts on disk beside the database.

    An explicit --default-artifact-root keeps experiments made in the UI from getting
    mlflow-artifacts:/ locations that scripts logging to the SQLite file cannot use.
    One worker is plenty for one student, and starts in a third of the time of 4.
    """
    uri = tracking_uri()
    return [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", uri,
        "--default-artifact-root", artifact_root_for(uri).as_uri(),
        "--host", host,
        "--port", str(port),
        "--workers", "1",
    ]


def ui_env() -> dict[str, str]:
    """The lab runs no server-side jobs (GenAI evaluation): skip the job runner's processes."""
    return {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def ui_port_suggestion(taken: int, host: str = "127.0.0.1") -> int:
    """A free port to suggest instead of ``taken``: 5050 or the next free one, never 5001."""
    for port in range(UI_PORT_IF_TAKEN, UI_PORT_IF_TAKEN + 50):
        if port != taken and port_is_free(port, host):
            return port
    return free_port(host)


def ui_answers(base: str, timeout: float = 2.0) -> bool:
    """True once the server answers /health (it does so only when it serves requests)."""
    try:
        with urllib.request.urlopen(base + "/health", timeout=timeout) as reply:
            return reply.status == 200
    except (OSError, ValueError):
        return False


def wait_for_ui(server: subprocess.Popen, base: str, timeout: float = UI_READY_TIMEOUT_S) -> str | None:
    """None once the UI answers, else why not (the server's own log is on the terminal)."""
    deadline = time.monotonic() + timeout
    while not ui_answers(base):
        if server.poll() is not None:
            return f"The MLflow server exited with code {server.returncode}; its log is above."
        if time.monotonic() > deadline:
            return f"The MLflow server did not answer {base}/health within {timeout:.0f} s; its log is above."
        time.sleep(0.25)
    return None


def cmd_ui(args) -> int:
    uri = tracking_uri()
    if is_remote(uri):
        print(f"Your store is the tracking server {uri}: open that address in a browser.")
        return 0
    if not port_is_free(args.port, args.host):
        print(f"Port {args.port} is in use. Is the UI already open at "
              f"http://{args.host}:{args.port}? If not, try --port {ui_port_suggestion(args.port, args.host)}.")
        return 2
    try:
        prepare_lab_store()  # create the store and experiments from the client side first
    except StoreError as exc:
        print(exc)
        return 2
    local = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    base = f"http://{local}:{args.port}"
    print(f"MLflow UI on {uri}\nStarting the MLflow server (about 10 s)...", flush=True)
    stop_on_signals()  # Ctrl+C, `kill` and a closed terminal stop the server with this command
    server = None
    try:
        # Its own process group: whatever stops this command, it stops the whole server.
        server = start_group(ui_command(args.port, args.host), env=ui_env(), stdin=subprocess.DEVNULL)
        problem = wait_for_ui(server, base)
        if problem:
            print(problem)
            return 1
        print(f"Open {base} (Ctrl+C to stop)", flush=True)
        while server.poll() is None:
            time.sleep(0.5)
        print(f"The MLflow server stopped by itself (exit code {server.returncode}); its log is above.")
        return 1
    except KeyboardInterrupt:
        print("\nStopping the MLflow UI...", flush=True)
        return 0
    finally:
        if server is not None:
            stop_group(server)


def cmd_reset(args) -> int:
    uri = tracking_uri()
    db = sqlite_path(uri)
    if db is None:
        print(f"Reset only clears a local store; {uri} is a tracking server. Unset MLFLOW_TRACKING_URI?")
        return 2
    backup = backup_and_reset(db, artifact_root_for(uri), db.parent / "backups")
    if backup is None:
        print(f"Nothing to reset: there is no store at {db} yet.")
    else:
        print(f"Moved the store to {backup}. Nothing was deleted; the next task starts a fresh store.")
    return 0


def run_scripts(folder, scripts=TASK_SCRIPTS) -> int:
    for script in scripts:
        print(f"\n$ python {folder.name}/{script}", flush=True)
        code = subprocess.call([sys.executable, str(folder / script)])
        if code != 0:
            print(f"{script} failed with exit code {code}.")
            return code
    return 0


def no_solutions() -> bool:
    """True (and one line saying so) in a student's copy of the lab, which has no solutions/."""
    if (SOLUTIONS_DIR / TASK_SCRIPTS[0]).is_file():
        return False
    print(f"This copy of the lab has no {SOLUTIONS_DIR.name}/ (a student release): "
          "the demo and code generation are for the instructor's copy.")
    return True


def cmd_demo(args) -> int:
    if no_solutions():
        return 2
    code = run_scripts(SOLUTIONS_DIR)
    if code != 0:
        return code
    check = ROOT / "grader" / "check.py"
    if not check.exists():
        return 0
    print("\n$ python grader/check.py all", flush=True)
    return subprocess.call([sys.executable, str(check), "all"])


def cmd_generate(args) -> int:
    if no_solutions():
        return 2
    from labkit.maintainers import codegen

    code = codegen.main([])
    if code != 0:
        return code
    try:
        from labkit.maintainers import notebooks
    except ImportError:
        print("Skipped the notebooks: nbformat is missing. "
              "Did you run `python -m pip install -r requirements-dev.txt`?")
        return 1
    return notebooks.main([])


def cmd_data(args) -> int:
    from labkit.maintainers import generate_data

    generate_data.main([])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ui = sub.add_parser("ui", help="open the MLflow UI on the lab's store")
    ui.add_argument("--port", type=int, default=5000)
    ui.add_argument("--host", default="127.0.0.1")
    ui.set_defaults(func=cmd_ui)
    sub.add_parser("reset", help="back up the store, then start afresh").set_defaults(func=cmd_reset)
    sub.add_parser("demo", help="run the four solutions, then grade them").set_defaults(func=cmd_demo)
    sub.add_parser("generate", help="write code/ and the notebooks from solutions/").set_defaults(func=cmd_generate)
    sub.add_parser("data", help="regenerate data/devops_metrics.csv").set_defaults(func=cmd_data)
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONUTF8", "1")
    return args.func(args)

"""The lab's own commands: ``python -m labkit ui|reset|demo|generate|data``."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from labkit.net import port_is_free
from labkit.paths import ROOT, SOLUTIONS_DIR
from labkit.store import (
    StoreError,
    artifact_root_for,
    backup_and_reset,
    is_remote,
    sqlite_path,
    tracking_uri,
    use_lab_store,
)

TASK_SCRIPTS = ["task1_baseline.py", "task2_sweep.py", "task3_compare.py", "task4_registry.py"]


def ui_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """`mlflow server` on the lab's store, with artifacts on disk beside the database.

    An explicit --default-artifact-root keeps experiments made in the UI from getting
    mlflow-artifacts:/ locations that scripts logging to the SQLite file cannot use.
    """
    uri = tracking_uri()
    return [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", uri,
        "--default-artifact-root", artifact_root_for(uri).as_uri(),
        "--host", host,
        "--port", str(port),
    ]


def cmd_ui(args) -> int:
    uri = tracking_uri()
    if is_remote(uri):
        print(f"Your store is the tracking server {uri}: open that address in a browser.")
        return 0
    if not port_is_free(args.port, args.host):
        print(f"Port {args.port} is in use. Is the UI already open at "
              f"http://{args.host}:{args.port}? If not, try --port {args.port + 1}.")
        return 2
    try:
        use_lab_store()  # create the store and experiments from the client side first
    except StoreError as exc:
        print(exc)
        return 2
    print(f"MLflow UI on {uri}\nOpen http://{args.host}:{args.port} (Ctrl+C to stop)")
    try:
        return subprocess.call(ui_command(args.port, args.host))
    except KeyboardInterrupt:
        return 0


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


def cmd_demo(args) -> int:
    code = run_scripts(SOLUTIONS_DIR)
    if code != 0:
        return code
    check = ROOT / "grader" / "check.py"
    if not check.exists():
        return 0
    print("\n$ python grader/check.py all", flush=True)
    return subprocess.call([sys.executable, str(check), "all"])


def cmd_generate(args) -> int:
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

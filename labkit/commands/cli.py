"""The lab's own commands: ``python -m labkit ui|reset|demo|generate|data [--lang es|en]``."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from labkit import i18n
from labkit.lab import SCRIPT_FILES
from labkit.net import free_port, port_is_free, start_group, stop_on_signals, stop_tree, wait_until
from labkit.paths import ROOT, SOLUTIONS_DIR
from labkit.tracking import ui_answers, ui_record
from labkit.store import (
    StoreError,
    artifact_root_for,
    backup_and_reset,
    is_remote,
    sqlite_path,
    tracking_uri,
    prepare_lab_store,
)

_, N_, _n = i18n.Domain("labkit").functions()

TASK_SCRIPTS = list(SCRIPT_FILES.values())


UI_PORT_IF_TAKEN = 5050  # what to suggest when 5000 is taken: the model server uses 5001
# Seconds from the command to /health answering, measured on a 2-core machine
# (bench/bench_startup.py prints the figure next to plain `mlflow server`).
UI_START_S = 25
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


def shown_command(argv: list[str]) -> str:
    """``argv`` as a student would type it with .venv active: ``mlflow ...``, not the interpreter's path."""
    if argv[:3] == [sys.executable, "-m", "mlflow"]:
        argv = ["mlflow", *argv[3:]]
    return subprocess.list2cmdline(argv) if os.name == "nt" else shlex.join(argv)


def ui_env() -> dict[str, str]:
    """The lab runs no server-side jobs (GenAI evaluation): skip the job runner's processes."""
    return {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def ui_port_suggestion(taken: int, host: str = "127.0.0.1") -> int:
    """A free port to suggest instead of ``taken``: 5050 or the next free one, never 5001."""
    for port in range(UI_PORT_IF_TAKEN, UI_PORT_IF_TAKEN + 50):
        if port != taken and port_is_free(port, host):
            return port
    return free_port(host)


def wait_for_ui(server: subprocess.Popen, base: str, timeout: float = UI_READY_TIMEOUT_S) -> str | None:
    """None once the UI answers, else why not (the server's own log is on the terminal)."""
    if wait_until(lambda: ui_answers(base), timeout, unless=lambda: server.poll() is not None):
        return None
    if server.poll() is not None:
        return _("The MLflow server exited with code {code}; its log is above.", code=server.returncode)
    return _("The MLflow server did not answer {url}/health within {seconds:.0f} s; its log is above.",
             url=base, seconds=timeout)


def cmd_ui(args) -> int:
    uri = tracking_uri()
    if is_remote(uri):
        print(_("Your store is the tracking server {uri}: open that address in a browser.", uri=uri))
        return 0
    if not port_is_free(args.port, args.host):
        print(_("Port {port} is in use. Is the UI already open at http://{host}:{port}? "
                "If not, try --port {suggestion}.",
                port=args.port, host=args.host, suggestion=ui_port_suggestion(args.port, args.host)))
        return 2
    try:
        prepare_lab_store()  # create the store and experiments from the client side first
    except StoreError as exc:
        print(exc)
        return 2
    local = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    base = f"http://{local}:{args.port}"
    command = ui_command(args.port, args.host)
    print(_("MLflow UI on {uri}", uri=uri))
    print(_("MLflow's own command, run for you:"))
    print(f"  {shown_command(command)}")
    print(_("Starting the MLflow server (up to {seconds} s on a busy 2-core laptop)...",
            seconds=UI_START_S), flush=True)
    stop_on_signals()  # Ctrl+C, `kill` and a closed terminal stop the server with this command
    server = None
    record = ui_record(uri)
    try:
        # Its own process group: whatever stops this command, it stops the whole server.
        started = time.monotonic()
        server = start_group(command, env=ui_env(), stdin=subprocess.DEVNULL)
        problem = wait_for_ui(server, base)
        if problem:
            print(problem)
            return 1
        note_address(record, base)
        print(_("Ready after {seconds:.0f} s.", seconds=time.monotonic() - started))
        print(_("Open {url} (Ctrl+C to stop)", url=base), flush=True)
        while server.poll() is None:
            time.sleep(0.5)
        print(_("The MLflow server stopped by itself (exit code {code}); its log is above.",
                code=server.returncode))
        return 1
    except KeyboardInterrupt:
        print("\n" + _("Stopping the MLflow UI..."), flush=True)
        return 0
    finally:
        if server is not None:
            stop_tree(server)
        forget_address(record, base)


def note_address(record: Path | None, base: str) -> None:
    """Tell the task scripts where this UI serves the store (labkit/tracking.py reads it)."""
    if record is not None:
        try:
            record.write_text(base + "\n", encoding="utf-8")
        except OSError:
            pass  # a read-only folder: the scripts then suggest the default address


def forget_address(record: Path | None, base: str) -> None:
    """Remove the note, unless another UI on this store has written its own since."""
    try:
        if record is not None and record.read_text(encoding="utf-8").strip() == base:
            record.unlink()
    except OSError:
        pass


def cmd_reset(args) -> int:
    uri = tracking_uri()
    db = sqlite_path(uri)
    if db is None:
        print(_("Reset only clears a local store; {uri} is a tracking server. Unset MLFLOW_TRACKING_URI?",
                uri=uri))
        return 2
    backup = backup_and_reset(db, artifact_root_for(uri), db.parent / "backups")
    if backup is None:
        print(_("Nothing to reset: there is no store at {db} yet.", db=db))
    else:
        print(_("Moved the store to {backup}. Nothing was deleted; the next task starts a fresh store.",
                backup=backup))
    return 0


def child_env() -> dict[str, str]:
    """A child's environment: this one, speaking this command's language (``--lang``)."""
    return {**os.environ, **i18n.environment_for()}


def run_scripts(folder, scripts=TASK_SCRIPTS) -> int:
    for script in scripts:
        print(f"\n$ python {folder.name}/{script}", flush=True)
        code = subprocess.call([sys.executable, str(folder / script)], env=child_env())
        if code != 0:
            print(_("{script} failed with exit code {code}.", script=script, code=code))
            return code
    return 0


def no_solutions() -> bool:
    """True (and one line saying so) in a student's copy of the lab, which has no solutions/."""
    if (SOLUTIONS_DIR / TASK_SCRIPTS[0]).is_file():
        return False
    print(_("This copy of the lab has no {folder}/ (a student release): "
            "the demo and code generation are for the instructor's copy.", folder=SOLUTIONS_DIR.name))
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
    return subprocess.call([sys.executable, str(check), "all"], env=child_env())


def cmd_generate(args) -> int:
    if no_solutions():
        return 2
    from labkit.maintainers import codegen

    # The scripts' language is --lang's alone (LAB_LANG changes messages, never code/).
    choice = ["--lang", getattr(args, "lang", None) or "en"]
    if args.out is not None:
        choice += ["--out", str(args.out)]
    code = codegen.main(choice)
    if code != 0:
        return code
    from labkit.maintainers import notebooks  # JSON, written with the standard library

    code = notebooks.main(choice)
    if code != 0 or args.out is not None:
        return code
    from labkit.maintainers import guides  # the guides' TODO blocks and the TODO counts

    return guides.main([])


def cmd_data(args) -> int:
    from labkit.maintainers import generate_data

    generate_data.main([])
    return 0


def add_lang(parser: argparse.ArgumentParser) -> None:
    """``--lang es|en``, before or after the command (absent: the environment's language)."""
    parser.add_argument("--lang", choices=list(i18n.LANGUAGES), default=argparse.SUPPRESS,
                        help=_("the language of the messages (default: LAB_LANG, else the locale (LANG), "
                               "else this copy's language, else English)"))


def build_parser() -> argparse.ArgumentParser:
    # A student's copy (no solutions/) still answers demo and generate with one line, but its
    # help lists only the commands a student can use.
    instructor = (SOLUTIONS_DIR / TASK_SCRIPTS[0]).is_file()
    shown = ["ui", "reset", "demo", "generate", "data"] if instructor else ["ui", "reset", "data"]
    parser = argparse.ArgumentParser(
        prog="python -m labkit",
        description=_("The lab's own commands: python -m labkit {commands}.", commands="|".join(shown)))
    add_lang(parser)
    common = argparse.ArgumentParser(add_help=False)
    add_lang(common)
    hidden = {} if instructor else {"metavar": "{" + ",".join(shown) + "}"}  # argparse lists every choice
    sub = parser.add_subparsers(dest="command", required=True, **hidden)
    ui = sub.add_parser("ui", parents=[common], help=_("open the MLflow UI on the lab's store"))
    ui.add_argument("--port", type=int, default=5000, help=_("the port to serve on (default 5000)"))
    ui.add_argument("--host", default="127.0.0.1", help=_("the address to listen on (default 127.0.0.1)"))
    ui.set_defaults(func=cmd_ui)
    for name, function, text in [
        ("reset", cmd_reset, _("back up the store, then start afresh")),
        ("demo", cmd_demo, _("run the four solutions, then grade them")),
        ("generate", cmd_generate, _("write code/, the notebooks, and the guides' TODO blocks and "
                                     "counts from solutions/ (--lang es --out DIR: the Spanish "
                                     "scripts and notebooks, in DIR)")),
        ("data", cmd_data, _("regenerate data/devops_metrics.csv")),
    ]:
        listed = {"help": text} if name in shown else {}  # no help: not in the list (3.11's SUPPRESS shows)
        command = sub.add_parser(name, parents=[common], **listed)
        command.set_defaults(func=function)
        if name == "generate":
            command.add_argument("--out", type=Path, default=None,
                                 help=_("where to write (default: code/ and the notebooks' folders)"))
    return parser


def main(argv: list[str] | None = None) -> int:
    i18n.early_language(argv)
    args = build_parser().parse_args(argv)
    i18n.set_language(getattr(args, "lang", None))
    os.environ.setdefault("PYTHONUTF8", "1")
    return args.func(args)

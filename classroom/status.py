"""What the class server is doing: ``<state>/serve.json`` while it runs, and how to read it.

``python -m classroom serve`` records its processes, address, database (without its
password), artifacts and log when the MLflow server starts, and removes the record when
it stops. ``python -m classroom status`` reads the record and checks it against the
machine: are those processes alive, does the address answer?
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

STATUS_FILE = "serve.json"


def record(state: Path, info: dict) -> None:
    state.mkdir(parents=True, exist_ok=True)
    path = state / STATUS_FILE
    partial = path.with_suffix(".json.tmp")
    partial.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


def update(state: Path, **changes) -> None:
    info = read(state)
    if info is not None:
        record(state, {**info, **changes})


def read(state: Path) -> dict | None:
    try:
        return json.loads((state / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def clear(state: Path, server_pid: int) -> None:
    """Remove the record, if it is still this server's."""
    info = read(state)
    if info is not None and info.get("server_pid") == server_pid:
        (state / STATUS_FILE).unlink(missing_ok=True)


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe(state: Path) -> tuple[bool, str]:
    """(running, the lines that say what runs, where and since when)."""
    from classroom.server import health

    info = read(state)
    if info is None:
        return False, (f"No class server is running from {state} (no {state / STATUS_FILE}). "
                       "Start one with `python -m classroom serve`.")
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info["started"]))
    if not alive(info.get("server_pid")):
        return False, (f"The class server recorded in {state / STATUS_FILE} (pid {info.get('server_pid')}, "
                       f"started {since}) is not running: it stopped without cleaning up. "
                       f"Its log: {info.get('log')}")
    answering = "yes" if health(info["url"]) else "no (still starting, or hung: see the log)"
    lines = [
        f"Class server running at {info['url']} since {since} ({_duration(time.time() - info['started'])})",
        f"  answering:  {answering}",
        f"  processes:  mlflow server (pid {info['server_pid']}), started by pid {info.get('supervisor_pid')}"
        + ("" if alive(info.get("supervisor_pid")) else " (gone: the server runs on its own)"),
        f"  database:   {info.get('database')}",
        f"  artifacts:  {info.get('artifacts')}",
        f"  log:        {info.get('log')}",
    ]
    if info.get("throwaway_postgres"):
        lines.append(f"  throwaway PostgreSQL in {info['throwaway_postgres']} (pid {info.get('postgres_pid')}): "
                     "deleted when the server stops")
    return True, "\n".join(lines)


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"up {minutes} min"
    return f"up {minutes // 60} h {minutes % 60:02d} min"

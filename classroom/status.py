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

from classroom.object_store import is_object_store
from classroom.private import exposed, open_private, private_folder
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()

STATUS_FILE = "serve.json"


def record(state: Path, info: dict) -> None:
    private_folder(state)
    path = state / STATUS_FILE
    partial = path.with_suffix(".json.tmp")
    with open_private(partial, encoding="utf-8") as handle:
        handle.write(json.dumps(info, indent=2) + "\n")
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
    """(running, the lines that say what runs, where and since when, and what others can read)."""
    running, text = _describe(state)
    info = read(state) or {}
    roots = [state, *sorted(p for p in state.resolve().parent.glob("grades*") if p.is_dir())]
    if info.get("artifacts") and not is_object_store(info["artifacts"]):
        roots.append(Path(info["artifacts"]))
    found, count = exposed(roots)
    if count:
        text += "\n" + _n("Warning: {count} file or folder of the class can be read by other users of this machine: "
                          "{paths}{more}. Make them private: chmod -R go-rwx {roots}",
                          "Warning: {count} files or folders of the class can be read by other users of this "
                          "machine: {paths}{more}. Make them private: chmod -R go-rwx {roots}",
                          count, count=count, paths=", ".join(map(str, found)),
                          more=", …" if count > len(found) else "",
                          roots=" ".join(str(r) for r in roots if r.exists()))
    return running, text


def _describe(state: Path) -> tuple[bool, str]:
    from classroom.server import health

    info = read(state)
    if info is None:
        return False, _("No class server is running from {state} (no {file}). "
                        "Start one with `python -m classroom serve`.", state=state, file=state / STATUS_FILE)
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info["started"]))
    if not alive(info.get("server_pid")):
        return False, _("The class server recorded in {file} (pid {pid}, started {since}) is not running: "
                        "it stopped without cleaning up. Its log: {log}",
                        file=state / STATUS_FILE, pid=info.get("server_pid"), since=since, log=info.get("log"))
    answering = _("yes") if health(info["url"]) else _("no (still starting, or hung: see the log)")
    processes = _("mlflow server (pid {pid}), started by pid {supervisor}",
                  pid=info["server_pid"], supervisor=info.get("supervisor_pid"))
    if not alive(info.get("supervisor_pid")):
        processes += " " + _("(gone: the server runs on its own)")
    fields = [(_("answering:"), answering), (_("processes:"), processes), (_("database:"), info.get("database")),
              (_("artifacts:"), _artifacts(info)), (_("log:"), info.get("log"))]
    width = max(len(label) for label, _value in fields) + 2
    lines = [_("Class server running at {url} since {since} ({duration})",
               url=info["url"], since=since, duration=_duration(time.time() - info["started"]))]
    lines += [f"  {label:<{width}}{value}" for label, value in fields]
    if info.get("throwaway_postgres"):
        lines.append("  " + _("throwaway PostgreSQL in {folder} (pid {pid}): deleted when the server stops",
                              folder=info["throwaway_postgres"], pid=info.get("postgres_pid")))
    return True, "\n".join(lines)


def _artifacts(info: dict) -> str:
    if info.get("artifacts_endpoint"):
        return _("{uri} (S3-compatible storage at {endpoint}; only the server holds its keys)",
                 uri=info["artifacts"], endpoint=info["artifacts_endpoint"])
    return info.get("artifacts")


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return _("up {minutes} min", minutes=minutes)
    return _("up {hours} h {minutes:02d} min", hours=minutes // 60, minutes=minutes % 60)

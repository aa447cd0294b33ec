"""What ``python -m classroom status`` says: the class server's record (classroom/status.py)
checked against the machine. Are its processes alive, does its address answer, and can
other users of this machine read the class's files?
"""

from __future__ import annotations

import time
from pathlib import Path

from classroom.object_store import is_object_store
from classroom.private import exposed
from classroom.server import health
from classroom.status import STATUS_FILE, alive, read, server_states
from labkit.i18n import Domain

_, N_, _n = Domain("classroom").functions()


def describe(states: Path | list[Path]) -> tuple[bool, str]:
    """(every server running, the lines that say what runs, where and since when, and what others
    can read). Every server started from ``states`` or their subfolders is described (two servers
    behind one address: ``.classroom/server-a`` and ``server-b``), each in its own block."""
    given = [states] if isinstance(states, Path) else list(states)
    servers = server_states(given)
    described = [_describe(state) for state in servers]
    running = all(up for up, _text in described)
    if len(servers) == 1:
        text = described[0][1]
    else:
        up = sum(1 for alive_, _text in described if alive_)
        header = _n("{running} of {count} class server recorded in {states} is running.",
                    "{running} of {count} class servers recorded in {states} are running.",
                    len(servers), running=up, count=len(servers), states=", ".join(map(str, given)))
        blocks = [f"{state}:\n" + _indent(block) for state, (_up, block) in zip(servers, described)]
        text = "\n\n".join([header, *blocks])
    roots = [*given, *sorted({p for state in given for p in state.resolve().parent.glob("grades*") if p.is_dir()})]
    for state in servers:
        info = read(state) or {}
        if info.get("artifacts") and not is_object_store(info["artifacts"]):
            roots.append(Path(info["artifacts"]))
    found, count = exposed(list(dict.fromkeys(roots)))
    if count:
        text += "\n" + _n("Warning: {count} file or folder of the class can be read by other users of this machine: "
                          "{paths}{more}. Make them private: chmod -R go-rwx {roots}",
                          "Warning: {count} files or folders of the class can be read by other users of this "
                          "machine: {paths}{more}. Make them private: chmod -R go-rwx {roots}",
                          count, count=count, paths=", ".join(map(str, found)),
                          more=", …" if count > len(found) else "",
                          roots=" ".join(str(r) for r in roots if r.exists()))
    return running, text


def _indent(text: str) -> str:
    return "\n".join("  " + line if line else line for line in text.splitlines())


def _describe(state: Path) -> tuple[bool, str]:
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

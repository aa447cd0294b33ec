"""What the class server is doing: ``<state>/serve.json`` while it runs, and how to read it.

``python -m classroom serve`` records its processes, address, database (without its
password), artifacts and log when the MLflow server starts, and removes the record when
it stops. ``python -m classroom status`` reads the record and checks it against the
machine (classroom/status_report.py): are those processes alive, does the address answer?
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from classroom.private import open_private, private_folder

STATUS_FILE = "serve.json"
SERVER_FILES = (STATUS_FILE, "basic_auth.ini")  # what a state folder a server ran from holds


def server_states(states: list[Path]) -> list[Path]:
    """The state folders of the class servers started from ``states``: each folder a server ran
    from (its ``serve.json``, or the ``basic_auth.ini`` every start writes), and those among its
    subfolders (two servers on one machine: ``.classroom/server-a``, ``.classroom/server-b``).
    A folder where no server ever ran is kept when nothing else is found, for status to say so."""
    found = []
    for state in states:
        candidates = [state, *sorted(p for p in state.glob("*") if p.is_dir())]
        found += [folder for folder in candidates if any((folder / name).is_file() for name in SERVER_FILES)]
    return list(dict.fromkeys(found)) or list(dict.fromkeys(states))


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

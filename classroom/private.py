"""The class's files are private: only the instructor's user reads them.

The state folder holds the server log, the auth config (the auth database's password), the
grading user's password, the connection files and the backups; ``grades*/`` holds e-mails
and grades; the artifacts folder holds every student's models. The instructor's commands
run with the umask ``PRIVATE_UMASK`` (classroom/cli.py), and so does the MLflow server they
start (classroom/server.py): whatever they create is 0700 (folders) or 0600 (files).
Folders that already existed keep their mode; ``python -m classroom status`` names those
that other users of the machine can read (``exposed``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
OTHERS = stat.S_IRWXG | stat.S_IRWXO  # any permission for the group or the others


def private_folder(path: Path) -> Path:
    """``path`` and its missing parents, created 0700 (whatever the process's umask)."""
    missing = [p for p in [path, *path.parents] if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for folder in missing:
        folder.chmod(0o700)
    return path


def open_private(path: Path, mode: str = "w", **kwargs):
    """``open(path, mode)`` for a file that is created 0600 (an existing file keeps its mode)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    return os.fdopen(os.open(path, flags, 0o600), mode, **kwargs)


def exposed(roots: list[Path], limit: int = 5) -> tuple[list[Path], int]:
    """Up to ``limit`` files or folders under ``roots`` that others can read or enter, and how
    many there are in all (a folder open to others is named; what is inside it is counted)."""
    found: list[Path] = []
    count = 0
    for root in roots:
        if not root.exists():
            continue
        for path in [root, *root.rglob("*")]:
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            if stat.S_ISLNK(mode) or not mode & OTHERS:
                continue
            count += 1
            if len(found) < limit:
                found.append(path)
    return found, count

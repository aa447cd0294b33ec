"""Small network helpers shared by the UI command and the model server."""

from __future__ import annotations

import socket
import sys

HOST = "127.0.0.1"
WINDOWS = sys.platform == "win32"


def port_is_free(port: int, host: str = HOST) -> bool:
    """True if a server could listen on the port now (as uvicorn does, with SO_REUSEADDR,
    so connections of a stopped server still closing do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if not WINDOWS:  # on Windows this option would allow binding over a live server
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True

"""Serve the staged model as a REST API: `python test/serve_model.py [--port N]`.

Serves models:/api-response-time@staging from the lab's store with
`mlflow models serve`, on 127.0.0.1, until you press Ctrl+C. Then, in another
terminal, send it requests: `python test/test_requests.py` or the curl commands
in README.md.
"""

from __future__ import annotations

import argparse
import sys
import time

from grader import lab as names
from labkit.commands.serving import (
    DEFAULT_PORT, HOST, ModelServer, ServeError, example_curl, port_is_free, staged_version,
)
from labkit.commands.net import stop_on_signals
from labkit.store import tracking_uri


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"the port to serve on (default {DEFAULT_PORT}; the UI uses 5000)")
    return parser.parse_args(argv)


def port_taken_message(port: int) -> str:
    return (f"Port {port} is in use. Is the model server already running "
            f"(curl http://{HOST}:{port}/ping)? If not, use another port: --port {port + 1}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not port_is_free(args.port):
        print(port_taken_message(args.port))
        return 2
    uri = tracking_uri()
    try:
        version = staged_version(uri)
    except ServeError as exc:
        print(exc)
        return 2
    print(f"Serving {names.STAGING_URI} (version {version.version}, run {version.run_id})")
    print(f"Tracking store: {uri}")
    stop_on_signals()  # Ctrl+C, `kill` and a closed terminal all stop the server
    server = ModelServer(uri, port=args.port)
    try:
        server.start()
        print(f"Starting `mlflow models serve` (pid {server.pid}, about 10 s)...", flush=True)
        return serve_until_interrupted(server)
    except ServeError as exc:
        print(exc)
        return 1
    except KeyboardInterrupt:
        print("\nStopping the model server...", flush=True)
        return 0
    finally:
        server.stop()
        if server.pid is not None:
            print("Model server stopped.", flush=True)


def serve_until_interrupted(server: ModelServer) -> int:
    seconds = server.wait_until_ready()
    print(f"\nModel server ready at {server.url} after {seconds:.1f} s (pid {server.pid}).")
    print("Send it a request from another terminal:\n")
    print(f"  {example_curl(server.url)}\n")
    print(f"or run every check: python test/test_requests.py --url {server.url}")
    print("Press Ctrl+C to stop. The server's log follows.\n", flush=True)
    shown = len(server.log_text())  # the start-up lines were read already
    while server.process.poll() is None:
        time.sleep(0.3)
        shown = _show_new_log(server, shown)
    _show_new_log(server, shown)
    print(f"The model server stopped by itself (exit code {server.process.returncode}).")
    return 1


def _show_new_log(server: ModelServer, shown: int) -> int:
    text = server.log_text()
    if len(text) > shown:
        print(text[shown:], end="", flush=True)
    return len(text)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl+C before the server started: nothing to stop
        sys.exit(130)

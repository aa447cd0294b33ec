"""What ``python test/serve_model.py [--port N] [--lang es|en]`` says and does.

test/serve_model.py is the entry point the guides name; its options, its lines and its
loop live here so that the catalog tool extracts its messages with labkit's.
"""

from __future__ import annotations

import argparse
import time

from labkit import lab as names
from labkit import i18n
from labkit.commands.cli import add_lang, shown_command
from labkit.i18n import early_language
from labkit.net import stop_on_signals
from labkit.commands.serving import (
    DEFAULT_PORT, HOST, SERVE_START_S, ModelServer, ServeError, example_curl, port_is_free,
    staged_version,
)
from labkit.store import tracking_uri

_, N_, _n = i18n.Domain("labkit").functions()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    early_language(argv)  # `--lang es --help` shows the help in Spanish
    parser = argparse.ArgumentParser(
        description=_("Serve the staged model as a REST API: `python test/serve_model.py [--port N]`."))
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=_("the port to serve on (default {port}; the UI uses 5000)", port=DEFAULT_PORT))
    add_lang(parser)
    args = parser.parse_args(argv)
    i18n.set_language(getattr(args, "lang", None))
    return args


def port_taken_message(port: int) -> str:
    return _("Port {port} is in use. Is the model server already running "
             "(curl http://{host}:{port}/ping)? If not, use another port: --port {next}",
             port=port, host=HOST, next=port + 1)


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
    print(_("Serving {uri} (version {version}, run {run_id})",
            uri=names.STAGING_URI, version=version.version, run_id=version.run_id))
    print(_("Tracking store: {uri}", uri=uri))
    stop_on_signals()  # Ctrl+C, `kill` and a closed terminal all stop the server
    server = ModelServer(uri, port=args.port)
    try:
        print(_("MLflow's own command, run for you:"))
        print(f"  {shown_command(server.command)}")
        server.start()
        print(_("Starting `mlflow models serve` (pid {pid}, up to {seconds} s on a busy 2-core laptop)...",
                pid=server.pid, seconds=SERVE_START_S), flush=True)
        return serve_until_interrupted(server)
    except ServeError as exc:
        print(exc)
        return 1
    except KeyboardInterrupt:
        print("\n" + _("Stopping the model server..."), flush=True)
        return 0
    finally:
        server.stop()
        if server.pid is not None:
            print(_("Model server stopped."), flush=True)


def serve_until_interrupted(server: ModelServer) -> int:
    seconds = server.wait_until_ready()
    print("\n" + _("Model server ready at {url} after {seconds:.1f} s (pid {pid}).",
                   url=server.url, seconds=seconds, pid=server.pid))
    print(_("Send it a request from another terminal:") + "\n")
    print(f"  {example_curl(server.url)}\n")
    print(_("or run every check: python test/test_requests.py --url {url}", url=server.url))
    print(_("Press Ctrl+C to stop. The server's log follows.") + "\n", flush=True)
    shown = len(server.log_text())  # the start-up lines were read already
    while server.process.poll() is None:
        time.sleep(0.3)
        shown = _show_new_log(server, shown)
    _show_new_log(server, shown)
    print(_("The model server stopped by itself (exit code {code}).", code=server.process.returncode))
    return 1


def _show_new_log(server: ModelServer, shown: int) -> int:
    text = server.log_text()
    if len(text) > shown:
        print(text[shown:], end="", flush=True)
    return len(text)

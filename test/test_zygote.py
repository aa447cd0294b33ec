"""test/zygote.py, the suite's warm forks: what a forked script starts with, and the grading fork
server a forked class command starts (forked from the warm process, or spawned as multiprocessing
does when forking is unsafe), which ends with the command that started it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import psutil
import zygote

from labkit.net import wait_until

ROOT = Path(__file__).resolve().parents[1]

# In a forked child: start multiprocessing's fork server as classroom/isolation.py does (optionally
# with a thread running), ask it for one child, print what the server and the child are, then wait
# for the file argv[2] (the test has read the fork server's command line) before it ends.
FORK_SERVER = """
import json, multiprocessing, os, sys, threading, time
from multiprocessing import forkserver

def report(sender):
    sender.send({"pid": os.getpid(), "mlflow": "mlflow" in sys.modules})

if __name__ == "__main__":
    threaded = sys.argv[1] == "threaded"
    if threaded:
        threading.Thread(target=threading.Event().wait, daemon=True).start()
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tomllib"] if threaded else ["grader.core"])  # a new one: a light preload
    forkserver.ensure_running()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=report, args=(sender,))
    child.start()
    answer = receiver.recv()
    child.join(30)
    print(json.dumps({"server": forkserver._forkserver._forkserver_pid, "me": os.getpid(), **answer}), flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
        time.sleep(0.02)
"""


def gone(pid: int, seconds: float = 10) -> bool:
    """True once ``pid`` has exited (a zombie counts: nothing reaps orphans on some machines)."""
    def exited() -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    return bool(wait_until(exited, seconds, every=0.1))


def test_a_forked_script_starts_with_the_preloads_and_mlflows_map_of_installed_packages(tmp_path):
    code = ("import json, sys; from mlflow.utils import requirements_utils as r; "
            "print(json.dumps({'map': r._MODULES_TO_PACKAGES is not None, "
            "'preloaded': [m for m in __import__('zygote').PRELOAD if m not in sys.modules]}))")
    ran = zygote.run(["-c", code], {**os.environ}, tmp_path, timeout=120)
    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout)
    assert seen == {"map": True, "preloaded": []}, seen


def start_a_fork_server(tmp_path: Path, mode: str) -> tuple[dict, str]:
    """Run FORK_SERVER forked warm; what it printed, and its fork server's command line (read
    while the command waits for it)."""
    script, out, read = tmp_path / "fork_server.py", tmp_path / "out", tmp_path / "read"
    script.write_text(FORK_SERVER, encoding="utf-8")
    child = zygote.start([str(script), mode, str(read)], {**os.environ}, tmp_path, out, tmp_path / "err")
    try:
        printed = wait_until(lambda: out.exists() and out.read_text().strip(), 120,
                             unless=lambda: child.exitcode is not None)
        assert printed, (tmp_path / "err").read_text()
        seen = json.loads(printed)
        server = psutil.Process(seen["server"])
        assert server.ppid() == child.pid, "the fork server was not the command's child"
        line = " ".join(server.cmdline())
    finally:
        read.touch()
        child.join(120)
    assert child.exitcode == 0, (tmp_path / "err").read_text()
    assert seen["pid"] != seen["server"], seen
    assert gone(seen["server"]), "the fork server outlived the command that started it"
    return seen, line


def test_a_fork_server_is_forked_warm_and_ends_with_the_command_that_started_it(tmp_path):
    seen, line = start_a_fork_server(tmp_path, "alone")
    assert seen["mlflow"], "the grading child did not start with what the warm process imported"
    # a fork of the warm process (zygote's own fork server's command line), not a new interpreter
    assert "'zygote_warmup']" in line and "forkserver import main; main" in line, line


def test_a_process_with_threads_spawns_its_fork_server_as_multiprocessing_does(tmp_path):
    _seen, line = start_a_fork_server(tmp_path, "threaded")
    assert "from multiprocessing.forkserver import main" in line and "['tomllib']" in line, line

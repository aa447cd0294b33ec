"""A script forked warm (test/zygote.py) and left running, watched like a subprocess.Popen.

For the tests whose subject is what a running script or command does (a server that dies under
it, a report it prints, Ctrl+C), not its start: the same code as a fresh interpreter, without its
seconds of imports. POSIX only, as test/zygote.py. (Not in the students' release.)
"""

from __future__ import annotations

import os
import signal
import subprocess

import zygote

def as_main(target: str, *, module: bool = False, ignore_sigint: bool = False, first: str = "") -> list[str]:
    """Argv after `python` that runs ``python TARGET ARGS`` (or ``python -m TARGET ARGS`` with
    ``module``) as __main__: [*as_main(TARGET, ...), *ARGS], for a Forked child, whose interpreter
    is the fork server's. ``ignore_sigint``: SIGINT ignored, as a background job of a script (or a
    CI runner) starts it. ``first``: Python statements run before it."""
    code = "import os, runpy, signal, sys; "
    if ignore_sigint:
        code += "signal.signal(signal.SIGINT, signal.SIG_IGN); "
    code += first + "sys.argv = sys.argv[1:]; "
    if module:
        code += "runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)"
    else:
        code += ("sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0])); "
                 "runpy.run_path(sys.argv[0], run_name='__main__')")
    return ["-c", code, target]


class Forked:
    """``python ARGV`` forked warm from test/zygote.py's fork server and left running (zygote.run
    waits for its child; this one is watched like a subprocess.Popen): in its own session (its pid
    is its process group), its output in the files ``stdout`` and ``stderr``. The same code as a
    fresh interpreter, without its seconds of imports: for tests whose subject is not the start."""

    def __init__(self, argv: list, env: dict[str, str], cwd, stdout, stderr, **options) -> None:
        """``options``: zygote.start's (``append``, ``umask``)."""
        self.args = [str(a) for a in argv]
        self._child = zygote.start(self.args, env, cwd, stdout, stderr, **options)
        self.pid = self._child.pid

    def poll(self) -> int | None:
        return self._child.exitcode

    @property
    def returncode(self) -> int | None:
        return self._child.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._child.join(timeout)
        if self._child.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout)
        return self._child.exitcode

    def send_signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL to its process group (to it alone if it has not made the group yet), then reap it."""
        if self._child.exitcode is not None:
            return
        for kill, target in ((os.killpg, self.pid), (os.kill, self.pid)):
            try:
                kill(target, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._child.join()

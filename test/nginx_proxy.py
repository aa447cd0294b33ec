"""Debian's nginx, run by a test as an ordinary process, with the site the lab ships
(deploy/nginx-class.conf) in front of two class servers on this machine.

The site is used as it is, with its two upstream addresses and its `listen` line changed;
around it, a minimal nginx.conf of the test's own (pid, logs and temporary files in a folder
of its own, in the foreground), so nothing of the machine's nginx service is used or touched.
.ci/setup.d/40-nginx.sh installs the package.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from labkit.net import answers, free_port, start_group, stop_tree, wait_until

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "deploy" / "nginx-class.conf"
SHIPPED_BACKENDS = ("127.0.0.1:5101", "127.0.0.1:5102")


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise AssertionError("nginx is not installed: run .ci/setup.d/40-nginx.sh")
    return found


def site_for(backends: list[str], port: int) -> str:
    """The shipped site, pointed at ``backends`` and listening on 127.0.0.1:``port``."""
    text = SITE.read_text(encoding="utf-8")
    for shipped, backend in zip(SHIPPED_BACKENDS, backends, strict=True):
        assert f"server {shipped} " in text, f"{SITE} no longer names {shipped}"
        text = text.replace(f"server {shipped} ", f"server {backend} ")
    text, count = re.subn(r"^(\s*)listen 80;", rf"\1listen 127.0.0.1:{port};", text, flags=re.M)
    assert count == 1, f"{SITE} has no `listen 80;` line"
    return text


class Nginx:
    def __init__(self, folder: Path, backends: list[str]) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.backends = backends
        self.process: subprocess.Popen | None = None

    def start(self) -> "Nginx":
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "temp").mkdir(exist_ok=True)
        site = self.folder / "site.conf"
        site.write_text(site_for(self.backends, self.port), encoding="utf-8")
        temp = self.folder / "temp"
        conf = self.folder / "nginx.conf"
        conf.write_text("\n".join([
            *(["user root;"] if os.geteuid() == 0 else []),  # the workers write the temporary files
            "daemon off;", "worker_processes 1;", f"pid {self.folder / 'nginx.pid'};",
            f"error_log {self.folder / 'error.log'} warn;",
            "events { worker_connections 512; }",
            "http {",
            "  log_format upstreams '$upstream_addr $upstream_status $request_method $uri';",
            f"  access_log {self.folder / 'access.log'} upstreams;",
            *(f"  {kind}_temp_path {temp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")),
            f"  include {site};",
            "}", ""]), encoding="utf-8")
        self.process = start_group([nginx_binary(), "-p", str(self.folder), "-c", str(conf)],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=open(self.folder / "stderr.log", "wb"))
        if wait_until(lambda: answers(self.url + "/health", timeout=5), 30,
                      unless=lambda: self.process.poll() is not None):
            return self
        if self.process.poll() is not None:
            raise AssertionError("nginx exited: " + (self.folder / "stderr.log").read_text()
                                 + (self.folder / "error.log").read_text(errors="replace"))
        raise AssertionError("nginx did not answer: " + (self.folder / "error.log").read_text(errors="replace"))

    def upstreams(self) -> dict[str, int]:
        """How many requests each server answered so far (a retried request counts for both)."""
        counts: dict[str, int] = {}
        log = self.folder / "access.log"
        for line in log.read_text(encoding="utf-8").splitlines() if log.exists() else []:
            for address in line.split(" ", 1)[0].split(","):
                counts[address.strip()] = counts.get(address.strip(), 0) + 1
        return counts

    def stop(self) -> None:
        if self.process is not None:
            stop_tree(self.process)
            self.process = None

    def __enter__(self) -> "Nginx":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

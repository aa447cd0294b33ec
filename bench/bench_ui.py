"""How soon does the lab's UI answer? `python bench/bench_ui.py [--rounds N]`.

Starts, on an empty store in a temporary folder, `mlflow server` as `python -m labkit ui`
runs it (one worker, no job runner) and, as the baseline, the same command with
MLflow's defaults (4 workers, the job runner on), alternately, and prints for each the
seconds from start to the first answer of /health and the number of processes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labkit.commands.cli import ui_command, ui_env
from labkit.net import answers, family, free_port, start_group, stop_tree, wait_until


def time_to_health(command: list[str], env: dict[str, str], port: int) -> tuple[float, int]:
    started = time.perf_counter()
    server = start_group(command, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_until(lambda: answers(f"http://127.0.0.1:{port}/health"), 600, every=0.1,
                          unless=lambda: server.poll() is not None):
            raise SystemExit(f"the server did not answer /health (exit code {server.returncode})")
        return time.perf_counter() - started, len(family(server.pid))
    finally:
        stop_tree(server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MLFLOW_TRACKING_URI"] = "sqlite:///" + (Path(tmp) / "mlflow.db").as_posix()
        lab_env = ui_env()
        default_env = {k: v for k, v in lab_env.items() if k != "MLFLOW_SERVER_ENABLE_JOB_EXECUTION"}
        results: dict[str, list[tuple[float, int]]] = {"lab (1 worker, no jobs)": [],
                                                        "mlflow defaults": []}
        for _ in range(args.rounds):
            port = free_port()
            lab = ui_command(port)
            results["lab (1 worker, no jobs)"].append(time_to_health(lab, lab_env, port))
            port = free_port()
            default = ui_command(port)[:-2]  # without its closing "--workers", "1"
            results["mlflow defaults"].append(time_to_health(default, default_env, port))
    print(f"{'command':<26}{'median s to /health':>22}{'runs (s)':>26}{'processes':>11}")
    for name, rows in results.items():
        seconds = [s for s, _ in rows]
        shown = " ".join(f"{s:.1f}" for s in seconds)
        print(f"{name:<26}{statistics.median(seconds):>22.1f}{shown:>26}{rows[-1][1]:>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

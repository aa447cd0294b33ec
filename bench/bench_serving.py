"""How fast is the served model? `python bench/bench_serving.py [--requests N]`.

Builds a store by running solutions/task3 and task4 in a temporary folder, then
measures, in one run: the cold start of `mlflow models serve` (start to first /ping),
p50/p99 latency of one-row requests over loopback, throughput over a few keep-alive
connections, and, as the baseline, the same one-row prediction with the same model
version loaded in-process with mlflow.pyfunc.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from labkit import lab as names
from labkit.paths import SOLUTIONS_DIR
from labkit.commands.serving import SCENARIOS, ModelServer, free_port, server_gone

ROW = SCENARIOS["normal"]
BODY = json.dumps({"dataframe_records": [ROW]})
WARMUP = 20


def build_store(folder: Path) -> str:
    uri = "sqlite:///" + (folder / "mlflow.db").as_posix()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_TRACKING_URI"] = uri
    for script in ("task3_compare.py", "task4_registry.py"):
        subprocess.run([sys.executable, str(SOLUTIONS_DIR / script)], env=env, cwd=folder,
                       check=True, capture_output=True, timeout=300)
    return uri


def percentile(sorted_ms: list[float], q: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]


def summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"p50": statistics.median(ordered), "p99": percentile(ordered, 0.99),
            "mean": statistics.fmean(ordered)}


def timed_posts(port: int, count: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("POST", "/invocations", BODY, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            raise SystemExit(f"The server answered {answer.status}; run test_model_deployment.py")
        times.append((time.perf_counter() - started) * 1000)
    connection.close()
    return times


def throughput(port: int, requests: int, connections: int) -> float:
    share = requests // connections
    threads = [threading.Thread(target=timed_posts, args=(port, share)) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return share * connections / (time.perf_counter() - started)


def bench_server(uri: str, requests: int, connections: int) -> dict[str, float]:
    port = free_port()
    server = ModelServer(uri, port=port)
    with server:
        cold = server.wait_until_ready()
        timed_posts(port, WARMUP)
        latency = summary(timed_posts(port, requests))
        one = throughput(port, requests, 1)
        many = throughput(port, requests, connections)
    if not server_gone(server.pid, port):
        raise SystemExit(f"The model server (pid {server.pid}) was left running.")
    return {"cold_s": cold, **latency, "rps_1": one, "rps_n": many}


def bench_in_process(uri: str, requests: int) -> dict[str, float]:
    import mlflow
    import pandas as pd

    mlflow.set_tracking_uri(uri)
    started = time.perf_counter()
    model = mlflow.pyfunc.load_model(names.STAGING_URI)
    load_s = time.perf_counter() - started
    frame = pd.DataFrame([ROW]).astype("float64")
    for _ in range(WARMUP):
        model.predict(frame)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        model.predict(frame)
        times.append((time.perf_counter() - started) * 1000)
    latency = summary(times)
    return {"cold_s": load_s, **latency, "rps_1": 1000 / latency["mean"], "rps_n": float("nan")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as folder:
        print("Building a store from solutions/task3 and task4...", flush=True)
        uri = build_store(Path(folder))
        print(f"Serving {names.STAGING_URI}; {args.requests} one-row requests per figure.",
              flush=True)
        served = bench_server(uri, args.requests, args.connections)
        local = bench_in_process(uri, args.requests)
    rows = [
        ("cold start (s): serve to first /ping | load_model", "cold_s", "{:.2f}"),
        ("one-row latency p50 (ms)", "p50", "{:.2f}"),
        ("one-row latency p99 (ms)", "p99", "{:.2f}"),
        ("throughput, 1 connection (req/s)", "rps_1", "{:.0f}"),
        (f"throughput, {args.connections} connections (req/s)", "rps_n", "{:.0f}"),
    ]
    print(f"\n{'measure':<52}{'mlflow models serve':>20}{'in-process pyfunc':>20}")
    for label, key, fmt in rows:
        local_cell = "-" if local[key] != local[key] else fmt.format(local[key])
        print(f"{label:<52}{fmt.format(served[key]):>20}{local_cell:>20}")
    print(f"\nServing costs {served['p50'] / local['p50']:.1f}x the in-process p50 per one-row "
          "prediction (HTTP, JSON parsing and schema enforcement on top of predict).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Deterministic generator of data/devops_metrics.csv.

Run ``python -m labkit data`` to rebuild the file; the same seed gives the
same bytes on every machine (values are rounded and written with fixed decimals).
The data card (data/README.md) describes the formula implemented here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261122
N_ROWS = 3000
NOISE_SD_MS = 14.0  # standard deviation of the irreducible noise, in milliseconds

FEATURE_DECIMALS = {
    "cpu_usage_pct": 1,
    "memory_usage_pct": 1,
    "disk_io_mbps": 1,
    "network_latency_ms": 1,
    "concurrent_users": 0,
}


def response_time(df: pd.DataFrame) -> np.ndarray:
    """Noise-free response time (ms) of the service for the given system metrics."""
    cpu = df["cpu_usage_pct"].to_numpy() / 100.0
    mem = df["memory_usage_pct"].to_numpy()
    disk = df["disk_io_mbps"].to_numpy()
    latency = df["network_latency_ms"].to_numpy()
    users = df["concurrent_users"].to_numpy()
    base = 40.0
    cpu_queue = 12.0 / (1.04 - cpu)  # queueing: grows sharply as the CPU saturates
    swapping = 4.0 * np.clip(mem - 80.0, 0.0, None) ** 1.5  # past 80 % memory the host swaps
    network = 1.6 * latency  # each millisecond of latency adds directly
    load = 0.05 * users  # per-request work from concurrent users
    disk_wait = 0.08 * disk
    return base + cpu_queue + swapping + network + load + disk_wait


def generate(seed: int = SEED, n_rows: int = N_ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    users = rng.gamma(shape=2.0, scale=250.0, size=n_rows).clip(5, 3000)
    cpu = (15 + users / 3000 * 70 + rng.normal(0, 12, n_rows)).clip(2, 99.5)
    memory = (35 + rng.beta(2.0, 2.0, n_rows) * 60).clip(20, 99)
    disk = rng.lognormal(mean=3.5, sigma=0.8, size=n_rows).clip(0, 600)
    latency = rng.gamma(shape=3.0, scale=10.0, size=n_rows).clip(1, 300)
    df = pd.DataFrame(
        {
            "cpu_usage_pct": cpu,
            "memory_usage_pct": memory,
            "disk_io_mbps": disk,
            "network_latency_ms": latency,
            "concurrent_users": users,
        }
    )
    for column, decimals in FEATURE_DECIMALS.items():
        df[column] = df[column].round(decimals)
    df["concurrent_users"] = df["concurrent_users"].astype(int)
    noise = rng.normal(0.0, NOISE_SD_MS, n_rows)
    df["response_time_ms"] = (response_time(df) + noise).round(2)
    return df


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write with fixed formatting so the bytes never depend on the platform."""
    lines = [",".join(df.columns)]
    formats = {**FEATURE_DECIMALS, "response_time_ms": 2}
    for row in df.itertuples(index=False):
        cells = [f"{value:.{formats[name]}f}" for name, value in zip(df.columns, row)]
        lines.append(",".join(cells))
    path.write_bytes(("\n".join(lines) + "\n").encode("ascii"))


def main(argv: list[str] | None = None) -> None:
    from labkit.paths import DATA_FILE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA_FILE, help="where to write the CSV")
    args = parser.parse_args(argv)
    write_csv(generate(), args.out)
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()

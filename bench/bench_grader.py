"""How long does grading take? check.py per task and for all, next to the import floor.

In one run on this machine: the four solutions run once into a temporary store, then
each command is timed REPEATS times (median), interleaved with the floor
`python -c "import mlflow"`. Targets: a task within the floor + 1.5 s, `all` within
the floor + 4 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK = ROOT / "grader" / "check.py"
SOLUTIONS = ["task1_baseline.py", "task2_sweep.py", "task3_compare.py", "task4_registry.py"]
TARGETS = {"task1": 1.5, "task2": 1.5, "task3": 1.5, "task4": 1.5, "all": 4.0}
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))


def timed(args: list[str], env: dict[str, str], ok=(0,)) -> float:
    started = time.perf_counter()
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in ok:
        sys.exit(f"{' '.join(args)} exited {result.returncode}:\n{result.stderr[-2000:]}")
    return elapsed


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-grader-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env["MLFLOW_TRACKING_URI"] = "sqlite:///" + (Path(folder) / "mlflow.db").as_posix()
        print("Running the four solutions into a temporary store...", flush=True)
        for script in SOLUTIONS:
            timed([sys.executable, str(ROOT / "solutions" / script)], env)
        floor: list[float] = []
        times: dict[str, list[float]] = {task: [] for task in TARGETS}
        for _ in range(REPEATS):
            for task in TARGETS:
                floor.append(timed([sys.executable, "-c", "import mlflow"], env))
                times[task].append(timed([sys.executable, str(CHECK), task], env))
    base = statistics.median(floor)
    print(f"\nmedian of {REPEATS} runs; floor `python -c \"import mlflow\"`: {base:.2f} s\n")
    print(f"{'command':<28}{'time':>8}{'over floor':>12}{'target':>10}  ok")
    for task, runs in times.items():
        median = statistics.median(runs)
        over = median - base
        ok = "yes" if over <= TARGETS[task] else "NO"
        print(f"{'check.py ' + task:<28}{median:>7.2f}s{over:>+11.2f}s{TARGETS[task]:>+9.1f}s  {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

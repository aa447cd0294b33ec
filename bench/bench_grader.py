"""How long does grading take? check.py per task and for all, next to the import floor.

In one run on this machine: the four solutions run once into a temporary store, then
each command is timed REPEATS times (median), interleaved with the floor
`python -c "import mlflow"`. Targets: a task within the floor + 1.5 s, `all` within
the floor + 4 s. CPU seconds (user + system) are shown too: on a loaded machine they
move less than wall-clock time.

    .venv/bin/python bench/bench_grader.py [--against OTHER_CHECKOUT]

``--against`` times another checkout's grader (e.g. `git archive` of an older commit)
on the same store, interleaved with this one, to show a change's effect in one run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ["task1_baseline.py", "task2_sweep.py", "task3_compare.py", "task4_registry.py"]
TARGETS = {"task1": 1.5, "task2": 1.5, "task3": 1.5, "task4": 1.5, "all": 4.0}
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))


def timed(args: list[str], env: dict[str, str], ok=(0,)) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in ok:
        sys.exit(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout[-1000:]}{result.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", type=Path, help="another checkout whose grader to time too")
    args = parser.parse_args()
    graders = {"this": (ROOT, {})}
    if args.against:
        other = args.against.resolve()
        graders["against"] = (other, {"PYTHONPATH": str(other)})  # its grader and labkit
    with tempfile.TemporaryDirectory(prefix="bench-grader-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env["MLFLOW_TRACKING_URI"] = "sqlite:///" + (Path(folder) / "mlflow.db").as_posix()
        print("Running the four solutions into a temporary store...", flush=True)
        for script in SOLUTIONS:
            timed([sys.executable, str(ROOT / "solutions" / script)], env)
        floor: list[tuple[float, float]] = []
        times = {(who, task): [] for who in graders for task in TARGETS}
        for _ in range(REPEATS):
            for task in TARGETS:
                floor.append(timed([sys.executable, "-c", "import mlflow"], env))
                for who, (root, extra) in graders.items():
                    check = str(root / "grader" / "check.py")
                    times[who, task].append(timed([sys.executable, check, task], {**env, **extra}))
    base = statistics.median(w for w, _ in floor)
    base_cpu = statistics.median(c for _, c in floor)
    print(f"\nmedian of {REPEATS} runs; floor `python -c \"import mlflow\"`: {base:.2f} s "
          f"(cpu {base_cpu:.2f} s)\n")
    print(f"{'command':<36}{'time':>8}{'over floor':>12}{'target':>10}  ok  {'cpu over floor':>15}")
    for (who, task), runs in times.items():
        median = statistics.median(w for w, _ in runs)
        cpu_over = statistics.median(c for _, c in runs) - base_cpu
        over = median - base
        ok = "yes" if over <= TARGETS[task] else "NO "
        name = f"check.py {task}" + (f" ({args.against.name})" if who == "against" else "")
        print(f"{name:<36}{median:>7.2f}s{over:>+11.2f}s{TARGETS[task]:>+9.1f}s  {ok}{cpu_over:>+14.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long does grading take? Each `check.py taskN` next to the run of solutions/taskN,
and `check.py all` next to the floor `python -c "import mlflow, sklearn"`.

In one run on this machine: the four solutions run REPEATS times into a temporary
store (timed: what a student waits for a task), then each grading command is timed
REPEATS times, interleaved with the floor. Medians. Targets: a task's grade takes no
longer than the task itself; `all` within the floor + 6 s. CPU seconds (user + system)
are shown too: on a loaded machine they move less than wall-clock time.

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

from labkit.lab import SCRIPT_FILES

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = SCRIPT_FILES
FLOOR = [sys.executable, "-c", "import mlflow, sklearn"]
ALL_OVER_FLOOR_S = 6.0
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


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


def median(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in samples), statistics.median(c for _, c in samples)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", type=Path, help="another checkout whose grader to time too")
    args = parser.parse_args()
    graders = {"this": (ROOT, {})}
    if args.against:
        other = args.against.resolve()
        graders[args.against.name] = (other, {"PYTHONPATH": str(other)})  # its grader and labkit
    with tempfile.TemporaryDirectory(prefix="bench-grader-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env["MLFLOW_TRACKING_URI"] = "sqlite:///" + (Path(folder) / "mlflow.db").as_posix()
        print(f"Running the four solutions {REPEATS} times into a temporary store...", flush=True)
        tasks = {t: [] for t in SOLUTIONS}
        for _ in range(REPEATS):
            for task, script in SOLUTIONS.items():
                tasks[task].append(timed([sys.executable, str(ROOT / "solutions" / script)], env))
        floor: list[tuple[float, float]] = []
        checks = {(who, task): [] for who in graders for task in [*SOLUTIONS, "all"]}
        for _ in range(REPEATS):
            floor.append(timed(FLOOR, env))
            for who, task in checks:
                root, extra = graders[who]
                checks[who, task].append(timed([sys.executable, str(root / "grader" / "check.py"), task],
                                               {**env, **extra}))
    base, base_cpu = median(floor)
    print(f"\nmedian of {REPEATS} runs; floor `{' '.join(FLOOR[1:])}`: {base:.2f} s (cpu {base_cpu:.2f} s)\n")
    print(f"{'command':<34}{'time':>8}{'cpu':>8}   {'compared with':<28}{'its time':>9}  ok")
    for (who, task), samples in checks.items():
        wall, cpu = median(samples)
        name = f"check.py {task}" + ("" if who == "this" else f" ({who})")
        if task == "all":
            limit, against = base + ALL_OVER_FLOOR_S, f"floor + {ALL_OVER_FLOOR_S:.0f} s"
        else:
            limit, against = median(tasks[task])[0], f"solutions/{SOLUTIONS[task]}"
        ok = "yes" if wall <= limit else "NO"
        print(f"{name:<34}{wall:>7.2f}s{cpu:>7.2f}s   {against:<28}{limit:>8.2f}s  {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

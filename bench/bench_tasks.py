"""How long does a student wait? Each solution end to end, next to the baselines.

Prints, from one run on this machine:
- the floor: `python -c "import mlflow"`;
- each solution task, run as a student runs it, into a fresh temporary store;
- task 3 with MLflow's default log_model (pip requirements inferred), the baseline the
  lab's explicit SKLEARN_LOG_OPTIONS are measured against.
- the three log_model calls of task 3 alone, warm in one process, both ways;
- task 3 with Python's default garbage collector, the baseline of labkit.quick_gc.
Targets: the four solutions under 30 s together; task 3 at least 3x faster than default.
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
SOLUTIONS = ROOT / "solutions"
TASKS = ["task1_baseline.py", "task2_sweep.py", "task3_compare.py", "task4_registry.py"]
REPEATS = int(os.environ.get("BENCH_REPEATS", "2"))


def timed(args: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(args, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def store_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_TRACKING_URI"] = "sqlite:///" + (folder / "mlflow.db").as_posix()
    return env


def default_log_model_variant(folder: Path) -> Path:
    """Task 3 as MLflow's docs show it: no pip_requirements, so MLflow infers them."""
    source = (SOLUTIONS / "task3_compare.py").read_text(encoding="utf-8")
    patched = source.replace(
        "**SKLEARN_LOG_OPTIONS,",
        'skops_trusted_types=SKLEARN_LOG_OPTIONS["skops_trusted_types"],',
    )
    assert patched != source, "task 3 no longer uses SKLEARN_LOG_OPTIONS"
    path = folder / "task3_default_log_model.py"
    path.write_text(patched, encoding="utf-8")
    return path


LOG_MODEL_ONLY = """
import sys, time
import mlflow
from labkit import names, task
from labkit.data import split_data
from labkit.models import DEFAULT_HYPERPARAMS, make_model
from labkit.tracking import SKLEARN_LOG_OPTIONS
task.start("bench: log_model only")
mlflow.set_experiment(names.EXPERIMENT_TASK3)
split = split_data()
models = {m: make_model(m, **DEFAULT_HYPERPARAMS[m]).fit(split.X_train, split.y_train)
          for m in names.MODEL_TYPES}
trusted = {"skops_trusted_types": SKLEARN_LOG_OPTIONS["skops_trusted_types"]}
with mlflow.start_run():  # warm-up: the first log_model pays for imports, not for logging
    mlflow.sklearn.log_model(models[names.LINEAR_REGRESSION], name="warm-up", **SKLEARN_LOG_OPTIONS)
for label, options in (("lab", SKLEARN_LOG_OPTIONS), ("default", trusted)):
    started = time.perf_counter()
    for name, model in models.items():
        with mlflow.start_run(run_name=name):
            mlflow.sklearn.log_model(model, name=names.MODEL_NAME,
                                     input_example=split.X_test.head(5), **options)
    print(label, time.perf_counter() - started)
"""


DEFAULT_GC = """
import atexit, gc, runpy, sys
default = gc.get_threshold()
from labkit import quick_gc  # installs it: undo both halves
gc.set_threshold(*default)
atexit.unregister(quick_gc.flush_files_and_freeze)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def log_model_only(work: Path) -> dict[str, float]:
    """The three log_model calls of task 3, warm, in one process: lab options vs default."""
    result = subprocess.run([sys.executable, "-c", LOG_MODEL_ONLY], env=store_env(work), cwd=work,
                            check=True, capture_output=True, text=True)
    figures = dict(line.split() for line in result.stdout.splitlines() if line.startswith(("lab ", "default ")))
    return {"3x log_model, lab options": float(figures["lab"]),
            "3x log_model, default": float(figures["default"])}


def one_pass(work: Path) -> dict[str, float]:
    figures = {}
    env = store_env(work)
    figures["import mlflow (floor)"] = timed([sys.executable, "-c", "import mlflow"], env, work)
    for task in TASKS:
        figures[task] = timed([sys.executable, str(SOLUTIONS / task)], env, work)
    figures["all four solutions"] = sum(figures[t] for t in TASKS)
    figures["task3, default log_model"] = timed(
        [sys.executable, str(default_log_model_variant(work))], env, work
    )
    figures["task3, Python's default gc"] = timed(
        [sys.executable, "-c", DEFAULT_GC, str(SOLUTIONS / "task3_compare.py")], env, work
    )
    figures.update(log_model_only(work))
    return figures


def main() -> None:
    passes = []
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as tmp:
            passes.append(one_pass(Path(tmp)))
    median = {key: statistics.median(p[key] for p in passes) for key in passes[0]}
    print(f"Task scripts, median of {REPEATS} runs (seconds), fresh store each run")
    for key, value in median.items():
        print(f"  {key:<28} {value:6.2f}")
    total, fast, slow = median["all four solutions"], median["task3_compare.py"], median["task3, default log_model"]
    floor = median["import mlflow (floor)"]
    print(f"\n  all four solutions: {total:.1f} s (target < 30 s) -> {'OK' if total < 30 else 'OVER'}")
    print(f"  task 3 log_model work beyond the import floor: lab {fast - floor:.2f} s, "
          f"default {slow - floor:.2f} s")
    print(f"  task 3 speed-up end to end: {slow / fast:.1f}x; beyond the floor: "
          f"{(slow - floor) / (fast - floor):.1f}x (target >= 3x)")
    default_gc = median["task3, Python's default gc"]
    print(f"  labkit.quick_gc: task 3 {fast:.2f} s, with Python's default collector {default_gc:.2f} s")
    lab, default = median["3x log_model, lab options"], median["3x log_model, default"]
    print(f"  the three log_model calls alone (warm): lab {lab:.2f} s, default {default:.2f} s, "
          f"{default / lab:.0f}x faster")


if __name__ == "__main__":
    main()

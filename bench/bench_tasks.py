"""How long does a student wait? Each solution end to end, next to its plain floor.

For each task script, measured in one run on this machine, into a fresh temporary store:
- the script, run as a student runs it (`python solutions/taskN_*.py`);
- its plain floor: `python -c "import mlflow, sklearn"` plus the training the script
  does (fitting and predicting its models, timed in a process of its own). What is left
  over the floor is MLflow's logging, the figures and the lab's own start and summary;
- task 3 once more without `pip_requirements`, as MLflow's quickstart logs a model:
  MLflow then infers the requirements itself, the cost the explicit list saves.
Nothing here changes the interpreter: the scripts run exactly as students run them.

    python bench/bench_tasks.py          # BENCH_REPEATS=N for more passes (median shown)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labkit.lab import SCRIPT_FILES

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
TASKS = SCRIPT_FILES
REPEATS = int(os.environ.get("BENCH_REPEATS", "2"))
FLOOR = "import mlflow, sklearn"

# The training each script does, with the models it fits (labkit/lab.py holds the same
# hyperparameters as the scripts: test/test_contract.py). Task 4 trains nothing.
TRAINING = """
import json, time
from labkit import lab

split = lab.split_data()


def seconds(models):
    started = time.perf_counter()
    for model in models:
        model.fit(split.X_train, split.y_train)
        model.predict(split.X_test)
    return time.perf_counter() - started


print(json.dumps({
    "task1": seconds([lab.make_model(lab.LINEAR_REGRESSION)]),
    "task2": seconds([lab.make_model(lab.RANDOM_FOREST, random_state=lab.MODEL_SEED, **config)
                      for config in lab.SWEEP_CONFIGS]),
    "task3": seconds([lab.make_model(kind, **lab.DEFAULT_HYPERPARAMS[kind])
                      for kind in lab.MODEL_TYPES]),
    "task4": 0.0,
}))
"""


def timed(args: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(args, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def store_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_TRACKING_URI"] = "sqlite:///" + (folder / "mlflow.db").as_posix()
    return env


def without_pip_requirements(folder: Path) -> Path:
    """Task 3 with log_model left to infer the model's requirements."""
    source = (SOLUTIONS / TASKS["task3"]).read_text(encoding="utf-8")
    lines = [line for line in source.splitlines(keepends=True)
             if not line.strip().startswith("pip_requirements=PIP_REQUIREMENTS")]
    assert len(lines) == len(source.splitlines()) - 1, "task 3 no longer passes pip_requirements"
    path = folder / "task3_inferred_requirements.py"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def one_pass(work: Path) -> dict[str, float]:
    env = store_env(work)
    figures = {"floor": timed([sys.executable, "-c", FLOOR], env, work)}
    training = subprocess.run([sys.executable, "-c", TRAINING], env=env, cwd=work, check=True,
                              capture_output=True, text=True)
    for task, seconds in json.loads(training.stdout).items():
        figures[f"{task} training"] = seconds
    for task, script in TASKS.items():
        figures[task] = timed([sys.executable, str(SOLUTIONS / script)], env, work)
    figures["task3 inferring requirements"] = timed(
        [sys.executable, str(without_pip_requirements(work))], env, work)
    return figures


def main() -> None:
    passes = []
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as tmp:
            passes.append(one_pass(Path(tmp)))
    median = {key: statistics.median(p[key] for p in passes) for key in passes[0]}
    floor = median["floor"]
    print(f"Task scripts next to their plain floor, median of {REPEATS} passes "
          f"(seconds, a fresh store each pass)")
    print(f'  floor: python -c "{FLOOR}"  {floor:.2f}\n')
    print(f"  {'script':<20} {'script':>7} {'floor + training':>17} {'over the floor':>15}")
    total_script = total_floor = 0.0
    for task, script in TASKS.items():
        plain = floor + median[f"{task} training"]
        total_script, total_floor = total_script + median[task], total_floor + plain
        print(f"  {script:<20} {median[task]:7.2f} {plain:17.2f} {median[task] - plain:+15.2f}")
    over = total_script - total_floor
    print(f"  {'all four':<20} {total_script:7.2f} {total_floor:17.2f} {over:+15.2f}")
    inferred = median["task3 inferring requirements"]
    print(f"\n  task 3 with log_model inferring the requirements: {inferred:.2f} s "
          f"({inferred - median['task3']:+.2f} s over the explicit pip_requirements)")


if __name__ == "__main__":
    main()

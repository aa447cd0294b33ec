"""How long after a task's run ends are its verdicts on screen? `check.py --watch` next to
today's two commands, measured in the same run.

For task1 and task3, REPEATS times, each in a fresh temporary store:
1. `python grader/check.py --watch taskN` starts (a real subprocess) and waits;
2. the task's finished script runs (solutions/, what code/ is once the TODOs are done);
3. watcher: from the script's exit (and from the moment MLflow recorded the last run's end)
   to the moment the watcher has printed its final report (the last one, once the store has
   held still); earlier reports that already said the same count as that moment;
4. two commands: `python grader/check.py taskN` run after the script, timed whole (the
   second command a student types).
Medians; the machine's load average is printed before and after (`uptime`'s numbers).

    .venv/bin/python bench/bench_feedback.py
"""

from __future__ import annotations

import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK_PY = ROOT / "grader" / "check.py"
SCRIPTS = {"task1": "task1_baseline.py", "task3": "task3_compare.py"}
EXPERIMENTS = {"task1": "task1-baseline", "task3": "task3-model-comparison"}
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
SETTLED_S = 4.0  # no new report for this long after the script ended: the last one is final
GIVE_UP_S = 300.0


class Watcher:
    """The watcher as a subprocess; each report it prints, with the time it was complete."""

    def __init__(self, task: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, str(CHECK_PY), "--watch", task], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.reports: queue.Queue[tuple[float, str]] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        block: list[str] = []
        for line in self.proc.stdout:
            if line.startswith("Cannot grade yet:"):
                self.reports.put((time.time(), line))
            elif line.startswith("Grading ") or block:
                block.append(line)
                if line.startswith("Score: "):
                    self.reports.put((time.time(), "".join(block)))
                    block = []

    def next(self, timeout: float) -> tuple[float, str] | None:
        try:
            return self.reports.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)


def run(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
    if result.returncode not in (0, 1):
        sys.exit(f"{' '.join(map(str, args))} exited {result.returncode}:\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def last_run_end(env: dict[str, str], task: str) -> float:
    """When MLflow recorded the end of the task's last run to end (seconds since the epoch)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name(EXPERIMENTS[task])
    runs = client.search_runs([experiment.experiment_id])
    return max(r.info.end_time for r in runs if r.info.end_time) / 1000


def once(task: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-feedback-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env["MLFLOW_TRACKING_URI"] = "sqlite:///" + (Path(folder) / "mlflow.db").as_posix()
        watcher = Watcher(task, env)
        try:
            if watcher.next(GIVE_UP_S) is None:  # "Cannot grade yet": it is up, and waiting
                sys.exit("the watcher printed nothing")
            script = run([sys.executable, str(ROOT / "solutions" / SCRIPTS[task])], env)
            exited = time.time()
            reports = []
            while (report := watcher.next(SETTLED_S if reports else GIVE_UP_S)) is not None:
                reports.append(report)
            if not reports:
                sys.exit("the watcher printed no report after the task ran")
            shown, final = reports[-1]
            for at, text in reversed(reports):  # the final verdict, since it was first on screen
                if text != final:
                    break
                shown = at
            ended = last_run_end(env, task)
            two_commands = run([sys.executable, str(CHECK_PY), task], env)
        finally:
            watcher.stop()
    return {"script": script, "check": two_commands, "check_from_end": exited - ended + two_commands,
            "from_exit": shown - exited, "from_end": shown - ended}


def main() -> int:
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    figures = {task: [once(task) for _ in range(REPEATS)] for task in SCRIPTS}
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print(f"median of {REPEATS}; seconds from the run's end to the verdicts on screen\n")
    print(f"{'task':<7}{'the task script':>16}{'two commands':>15}{'two commands':>15}{'--watch':>10}{'--watch':>10}")
    print(f"{'':<7}{'(its run)':>16}{'(check.py)':>15}{'(run end)':>15}{'(exit)':>10}{'(run end)':>10}")
    for task, samples in figures.items():
        med = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
        print(f"{task:<7}{med['script']:>15.2f}s{med['check']:>14.2f}s{med['check_from_end']:>14.2f}s"
              f"{med['from_exit']:>9.2f}s{med['from_end']:>9.2f}s")
    print("\n(check.py): the second command's own time, from the script's exit; (exit): from the "
          "script's exit; (run end): from MLflow's end time of the last run (for two commands: the "
          "script's tail after it, then check.py). A negative figure: the verdict was on screen "
          "before the script had exited.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

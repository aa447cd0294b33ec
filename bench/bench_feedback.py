"""How long after a task's run ends are its verdicts on screen? `check.py --watch` next to
today's two commands, measured in the same run.

For task1 and task3, REPEATS times, each in a fresh temporary store:
1. `python grader/check.py --watch taskN` starts (a real subprocess) and waits;
2. the task's finished script runs (solutions/, what code/ is once the TODOs are done), twice:
   the first run finds the watcher cold (MLflow opens the store, nothing re-fitted), the
   second warm, as every later run of a session does;
3. watcher: from the script's exit (and from the moment MLflow recorded the last run's end)
   to the moment the watcher has printed its final report (the last one, once the store has
   held still); earlier reports of that run that already said the same count as that moment;
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

from labkit.lab import EXPERIMENTS as LAB_EXPERIMENTS, SCRIPT_FILES

ROOT = Path(__file__).resolve().parent.parent
CHECK_PY = ROOT / "grader" / "check.py"
SCRIPTS = {task: SCRIPT_FILES[task] for task in ("task1", "task3")}
EXPERIMENTS = {task: LAB_EXPERIMENTS[task] for task in SCRIPTS}
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


def settle(watcher: Watcher, started: float, exited: float, ended: float) -> dict[str, float]:
    """When the final verdict of a script run (started, exited: time.time()) was first on screen,
    from the script's exit and from the end of its last run."""
    reports = []
    while (report := watcher.next(SETTLED_S if reports else GIVE_UP_S)) is not None:
        reports.append(report)
    reports = [r for r in reports if r[0] >= started]
    if not reports:
        sys.exit("the watcher printed no report after the task ran")
    shown, final = reports[-1]
    for at, text in reversed(reports):  # the final verdict, since it was first on screen
        if text != final:
            break
        shown = at
    return {"from_exit": shown - exited, "from_end": shown - ended}


def once(task: str) -> dict[str, float]:
    """The task run twice in a fresh store with a watcher on it: its first run (the watcher
    still cold) and its second (warm), then `check.py TASK` on its own."""
    with tempfile.TemporaryDirectory(prefix="bench-feedback-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env["MLFLOW_TRACKING_URI"] = "sqlite:///" + (Path(folder) / "mlflow.db").as_posix()
        watcher = Watcher(task, env)
        figures = {}
        try:
            if watcher.next(GIVE_UP_S) is None:  # "Cannot grade yet": it is up, and waiting
                sys.exit("the watcher printed nothing")
            for kind in ("cold", "warm"):
                started = time.time()
                figures["script"] = run([sys.executable, str(ROOT / "solutions" / SCRIPTS[task])], env)
                exited = time.time()
                ended = last_run_end(env, task)
                seen = settle(watcher, started, exited, ended)
                figures.update({f"{kind}_{key}": value for key, value in seen.items()})
            figures["check"] = run([sys.executable, str(CHECK_PY), task], env)
            figures["check_from_end"] = exited - ended + figures["check"]
        finally:
            watcher.stop()
    return figures


def main() -> int:
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    figures = {task: [once(task) for _ in range(REPEATS)] for task in SCRIPTS}
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print(f"median of {REPEATS}; seconds from the run's end to the verdicts on screen\n")
    print(f"{'task':<7}{'script':>9}{'check.py':>10}{'two commands':>14}{'--watch':>9}{'--watch':>9}"
          f"{'--watch':>9}{'--watch':>9}")
    print(f"{'':<7}{'':>9}{'':>10}{'(run end)':>14}{'cold':>9}{'cold':>9}{'warm':>9}{'warm':>9}")
    print(f"{'':<7}{'':>9}{'':>10}{'':>14}{'(exit)':>9}{'(end)':>9}{'(exit)':>9}{'(end)':>9}")
    for task, samples in figures.items():
        med = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
        print(f"{task:<7}{med['script']:>8.2f}s{med['check']:>9.2f}s{med['check_from_end']:>13.2f}s"
              + "".join(f"{med[k]:>8.2f}s" for k in ("cold_from_exit", "cold_from_end", "warm_from_exit",
                                                        "warm_from_end")))
    print("\nscript: the task's finished script; check.py: the second command's own time, from the "
          "script's exit; two commands (run end): from MLflow's end time of the last run, the script's "
          "tail and then check.py; --watch: to the final verdict on screen, from the script's exit "
          "(exit) or from the last run's end (end), for the task's first run in a fresh store (cold: "
          "MLflow opens the store, nothing re-fitted yet) and its second (warm). A negative figure: "
          "the verdict was on screen before the script had exited.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

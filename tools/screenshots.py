"""Screenshots of the real MLflow UI for LAB.md, and a check that the UI shows what the guide says.

Runs the four solutions into a temporary store, starts the lab's own UI command
(`python -m labkit ui`) on it, and drives the UI in headless Chromium (Debian's
`chromium` package through Playwright). Every page it captures must show the names the
guide tells students to look for (SHOTS below); if one is missing it stops with the
page and the name, so a new MLflow cannot silently leave the guide behind.

    python tools/screenshots.py              # write docs/img/*.png (and the data figure)
    python tools/screenshots.py --out DIR    # write them elsewhere

The test suite runs the same capture (test/test_ui_screenshots.py) against its store.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from labkit import lab  # noqa: E402
from labkit.net import answers, free_port, start_group, stop_tree, wait_until  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1600, "height": 900}
# Open the UI as a student would after clicking "Model training", with the assistant closed.
BROWSER_SETUP = """
localStorage.setItem('mlflow.workflowType_v1', '"machine_learning"');
localStorage.setItem('mlflow.assistant.panelOpen_v1', 'false');
localStorage.setItem('mlflow.assistant.fab.autoOpenedOnFirstLoad_v1', 'true');
"""
SOLUTIONS = list(lab.SCRIPT_FILES.values())
WAIT_MS = 30_000
# The UI keeps polling some pages, so "no requests for 500 ms" may never come: wait that
# long at most for it, then capture the page as it is.
SETTLE_MS = 3_000
# Then a last pause for the page's own animations (a re-rendered table, a scrolled view), so that
# the committed pictures show none half-way. 0 for neither wait: the texts are still waited for.
PAUSE_MS = 500

# The labels LAB.md tells students to click (the UI's own words), and where they are.
UI_LABELS = {
    "mode switch": "Model training",
    "sort menu": "Sort:",
    "compare button": "Compare",
    "artifacts tab": "Artifacts",
    "registry link": "Model registry",
    "run overview tab": "Overview",
    "metrics rows": "Metrics",
    "models tab": "Models",
    "source run": "Source run",
    "version source run": "Source Run",
}
SWEEP_FILTER = 'tags.task = "hyperparameter-sweep"'  # LAB.md tells students to type this


@dataclass
class Shot:
    """One capture: the PNG it writes and the texts the page must show."""

    file: str
    caption: str
    expected: list[str]
    found: list[str] = field(default_factory=list)


SHOTS = {
    "run": Shot("ui-task1-run.png", "The task-1 run with its params and metrics",
                [UI_LABELS["run overview tab"], lab.RUN_BASELINE, lab.PARAM_MODEL_TYPE,
                 lab.PARAM_RANDOM_STATE, lab.PARAM_TEST_SIZE, *lab.TEST_METRICS]),
    "sweep": Shot("ui-task2-filtered.png", "Task 2's runs filtered by their tag, with their datasets",
                  [lab.EXPERIMENT_TASK2, f"{len(lab.SWEEP_CONFIGS)} matching runs",
                   "devops_metrics"]),
    "experiments": Shot("ui-experiments.png", "The lab's experiments",
                        [UI_LABELS["mode switch"], *lab.EXPERIMENTS.values()]),
    "sorted": Shot("ui-task3-sorted-by-r2.png", "Task 3's runs sorted by r2, the winner on top",
                   [lab.EXPERIMENT_TASK3, UI_LABELS["sort menu"] + " " + lab.METRIC_R2,
                    *lab.MODEL_TYPES, lab.REGISTERED_MODEL]),
    "compare": Shot("ui-task3-compare.png", "The three task-3 runs compared",
                    [*lab.MODEL_TYPES, *lab.TEST_METRICS]),
    "figure": Shot("ui-run-figure.png", "The comparison chart logged by the winning run",
                   [UI_LABELS["artifacts tab"], lab.FIGURE_COMPARISON, lab.FIGURE_PRED_VS_ACTUAL]),
    "registry": Shot("ui-registered-model.png", "The registered model and its staging alias",
                     [UI_LABELS["registry link"], lab.REGISTERED_MODEL, "Version 1", lab.ALIAS]),
    # The "see it in the UI" answers of the four tasks in LAB.md (each under its <details>).
    "task1-figure": Shot("ui-task1-figure.png", "The task-1 run's figure: predicted against actual",
                         [UI_LABELS["artifacts tab"], lab.FIGURE_PRED_VS_ACTUAL]),
    "sweep-compare": Shot("ui-task2-compare.png", "The sweep runs compared, their metrics side by side",
                          [UI_LABELS["metrics rows"], *map(lab.sweep_run_name, lab.SWEEP_CONFIGS),
                           *lab.TEST_METRICS]),
    "models": Shot("ui-task3-models.png", "Task 3's Models tab: three logged models with their metrics",
                   [UI_LABELS["models tab"], UI_LABELS["source run"], *lab.MODEL_TYPES, *lab.TEST_METRICS,
                    "devops_metrics-test"]),
    "version": Shot("ui-registered-version.png", "Version 1: its alias and the run it came from",
                    ["Version 1", UI_LABELS["version source run"], lab.GRADIENT_BOOSTING, lab.ALIAS]),
}


class UIMismatch(AssertionError):
    """The UI does not show a name the guide promises."""


def store_env(uri: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_TRACKING_URI=uri, PYTHONUTF8="1")
    return env


def run_solutions(uri: str) -> None:
    for script in SOLUTIONS:
        subprocess.run([sys.executable, str(ROOT / "solutions" / script)], env=store_env(uri),
                       check=True, capture_output=True, timeout=300)


@contextlib.contextmanager
def lab_ui(uri: str, port: int | None = None):
    """`python -m labkit ui` on the store ``uri``; yields its base URL, stops it after."""
    port = port or free_port()
    process = start_group([sys.executable, "-m", "labkit", "ui", "--port", str(port)],
                          env=store_env(uri), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process)
        yield base
    finally:
        stop_tree(process, grace=30)


def wait_for_health(base: str, process: subprocess.Popen, timeout: float = 120) -> None:
    if not wait_until(lambda: answers(base + "/health"), timeout, every=0.5,
                      unless=lambda: process.poll() is not None):
        stop_tree(process)
        raise RuntimeError("the lab's UI did not start:\n" + (process.stdout.read() or ""))


def expect_texts(page, shot: Shot) -> None:
    """Wait until the page shows every expected text; record what was found."""
    for text in shot.expected:
        try:
            page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=WAIT_MS)
        except Exception as exc:  # noqa: BLE001 - Playwright's timeout, renamed for the reader
            raise UIMismatch(f"{shot.file}: the UI at {page.url} does not show {text!r}") from exc
        shot.found.append(text)
    settle(page)


def settle(page) -> None:
    """Let the page finish its requests, so a capture shows no half-loaded header or table."""
    if SETTLE_MS > 0:  # Playwright's timeout=0 would wait for ever
        with contextlib.suppress(Exception):  # a page that keeps polling: capture it as it is
            page.wait_for_load_state("networkidle", timeout=SETTLE_MS)
    pause(page)


def pause(page, times: int = 1) -> None:
    if PAUSE_MS > 0:
        page.wait_for_timeout(PAUSE_MS * times)


def top_of(page, text: str) -> float:
    box = page.get_by_role("link", name=text, exact=True).first.bounding_box()
    if box is None:
        raise UIMismatch(f"the run {text!r} is not visible at {page.url}")
    return box["y"]


def in_order(page, names: list[str]) -> bool:
    """Are the runs ``names`` shown top to bottom in this order?"""
    tops = [top_of(page, name) for name in names]
    return tops == sorted(tops)


def task3_runs(uri: str) -> tuple[dict[str, str], str]:
    """Run name -> run id of the task-3 runs (best r2 first), and their experiment id."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(lab.EXPERIMENT_TASK3)
    runs = client.search_runs([experiment.experiment_id], "attributes.status = 'FINISHED'",
                              order_by=[f"metrics.{lab.METRIC_R2} DESC"])
    return {run.info.run_name: run.info.run_id for run in runs}, experiment.experiment_id


def capture(base: str, uri: str, out: Path) -> dict[str, Shot]:
    """Visit each page, check its names, and write its PNG into ``out``."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    runs, experiment_id = task3_runs(uri)
    winner = next(iter(runs))
    shots = {key: Shot(s.file, s.caption, list(s.expected)) for key, s in SHOTS.items()}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            context.add_init_script(BROWSER_SETUP)
            page = context.new_page()
            experiments_page(page, base, shots["experiments"], out)
            run_page(page, base, uri, shots["run"], out)
            sweep_page(page, base, uri, shots["sweep"], out)
            sorted_page(page, base, experiment_id, list(runs), shots["sorted"], out)
            compare_page(page, shots["compare"], out)
            figure_page(page, base, experiment_id, runs[winner], shots["figure"], out)
            registry_page(page, base, shots["registry"], out)
            task1_figure_page(page, base, uri, shots["task1-figure"], out)
            sweep_compare_page(page, base, uri, shots["sweep-compare"], out)
            models_page(page, base, experiment_id, shots["models"], out)
            version_page(page, base, shots["version"], out)
        finally:
            browser.close()
    return shots


def experiments_page(page, base, shot, out):
    page.goto(base + "/#/experiments")
    expect_texts(page, shot)
    page.screenshot(path=out / shot.file, clip={"x": 0, "y": 0, "width": 1100, "height": 420})


def run_page(page, base, uri, shot, out):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(lab.EXPERIMENT_TASK1)
    (run,) = client.search_runs([experiment.experiment_id], max_results=1)
    page.goto(f"{base}/#/experiments/{experiment.experiment_id}/runs/{run.info.run_id}")
    expect_texts(page, shot)
    page.screenshot(path=out / shot.file, clip={"x": 0, "y": 0, "width": 1600, "height": 820})


def sweep_page(page, base, uri, shot, out):
    """Type the guide's tag filter in the search box: every sweep run must match."""
    from mlflow import MlflowClient

    experiment = MlflowClient(tracking_uri=uri).get_experiment_by_name(lab.EXPERIMENT_TASK2)
    page.goto(f"{base}/#/experiments/{experiment.experiment_id}/runs")
    box = page.get_by_placeholder("metrics.rmse", exact=False).first
    box.fill(SWEEP_FILTER)
    with page.expect_response(lambda response: "runs/search" in response.url, timeout=WAIT_MS):
        box.press("Enter")
    pause(page, 2)  # let the table re-render the filtered runs (the count is waited for below)
    expect_texts(page, shot)
    page.screenshot(path=out / shot.file, clip={"x": 0, "y": 0, "width": 1600, "height": 420})


def sorted_page(page, base, experiment_id, best_first, shot, out):
    """Sort with the UI's own menu, as the guide says, then check the winner is on top."""
    page.goto(f"{base}/#/experiments/{experiment_id}/runs")
    page.get_by_text(UI_LABELS["sort menu"]).first.click()
    page.get_by_text(lab.METRIC_R2, exact=True).first.click()
    page.keyboard.press("Escape")
    expect_texts(page, shot)
    # The table re-renders once the sorted runs come back: wait for that order, as long as for a text.
    if not wait_until(lambda: in_order(page, best_first), WAIT_MS / 1000, every=0.2):
        raise UIMismatch(f"{shot.file}: runs are not in r2 order {best_first} at {page.url}")
    page.screenshot(path=out / shot.file, clip={"x": 0, "y": 0, "width": 1600, "height": 400})


def compare_page(page, shot, out):
    """Tick every run, press Compare, and show the run details with their metrics."""
    page.get_by_role("checkbox").first.click()  # the header box selects every run
    page.get_by_role("button", name=UI_LABELS["compare button"]).click()
    expect_texts(page, shot)
    page.get_by_text("Run details").first.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.screenshot(path=out / shot.file, clip={"x": 0, "y": 0, "width": 1600, "height": 720})


def figure_page(page, base, experiment_id, run_id, shot, out):
    page.goto(f"{base}/#/experiments/{experiment_id}/runs/{run_id}/artifacts")
    expect_texts(page, shot)
    page.get_by_text(lab.FIGURE_COMPARISON, exact=True).first.click()
    image = page.locator(f"img[alt='{lab.FIGURE_COMPARISON}']").first
    image.wait_for(state="visible", timeout=WAIT_MS)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(),
                           timeout=WAIT_MS)
    page.screenshot(path=out / shot.file, clip={"x": 0, "y": 0, "width": 1600, "height": 480})


def registry_page(page, base, shot, out):
    page.goto(f"{base}/#/models/{lab.REGISTERED_MODEL}")
    expect_texts(page, shot)
    page.screenshot(path=out / shot.file, clip={"x": 0, "y": 0, "width": 1600, "height": 420})


def task1_figure_page(page, base, uri, shot, out):
    """The task-1 run's Artifacts tab with its figure open."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(lab.EXPERIMENT_TASK1)
    (run,) = client.search_runs([experiment.experiment_id], max_results=1)
    page.goto(f"{base}/#/experiments/{experiment.experiment_id}/runs/{run.info.run_id}/artifacts")
    expect_texts(page, shot)
    page.get_by_text(lab.FIGURE_PRED_VS_ACTUAL, exact=True).first.click()
    image = page.locator(f"img[alt='{lab.FIGURE_PRED_VS_ACTUAL}']").first
    image.wait_for(state="visible", timeout=WAIT_MS)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(),
                           timeout=WAIT_MS)
    page.screenshot(path=out / shot.file, clip={"x": 0, "y": 0, "width": 1600, "height": 720})


def sweep_compare_page(page, base, uri, shot, out):
    """Task 2's runs, all ticked, in the compare view, scrolled to their metrics."""
    from mlflow import MlflowClient

    experiment = MlflowClient(tracking_uri=uri).get_experiment_by_name(lab.EXPERIMENT_TASK2)
    page.set_viewport_size({"width": 1600, "height": 1400})  # run names to metrics in one view
    try:
        page.goto(f"{base}/#/experiments/{experiment.experiment_id}/runs")
        page.get_by_text(lab.sweep_run_name(lab.SWEEP_CONFIGS[0])).first.wait_for(state="visible",
                                                                                 timeout=WAIT_MS)
        page.get_by_role("checkbox").first.click()  # the header box selects every run
        page.get_by_role("button", name=UI_LABELS["compare button"]).click()
        expect_texts(page, shot)
        details = page.get_by_text("Run details").first
        details.evaluate("el => el.scrollIntoView({block: 'start'})")
        pause(page)
        top = details.bounding_box()["y"] - 16
        bottom = page.get_by_text("train_time_s", exact=True).last.bounding_box()
        page.screenshot(path=out / shot.file, clip={"x": 0, "y": top, "width": 1600,
                                                    "height": bottom["y"] + bottom["height"] + 16 - top})
    finally:
        page.set_viewport_size(VIEWPORT)


def models_page(page, base, experiment_id, shot, out):
    """Task 3's Models tab: wide enough to show every metric column beside the models."""
    page.set_viewport_size({"width": 2400, "height": 500})
    try:
        page.goto(f"{base}/#/experiments/{experiment_id}/models")
        expect_texts(page, shot)
        page.screenshot(path=out / shot.file, clip={"x": 0, "y": 0, "width": 2200, "height": 330})
    finally:
        page.set_viewport_size(VIEWPORT)


def version_page(page, base, shot, out):
    page.goto(f"{base}/#/models/{lab.REGISTERED_MODEL}/versions/1")
    expect_texts(page, shot)
    page.screenshot(path=out / shot.file, clip={"x": 0, "y": 0, "width": 1600, "height": 250})


def data_figure(out: Path) -> Path:
    """The data figure of LAB.md: response time against each system metric."""
    import matplotlib

    matplotlib.use("Agg")  # draw without a screen
    import matplotlib.pyplot as plt
    import pandas as pd

    from labkit.lab import DATA_FILE, FEATURES, TARGET

    df = pd.read_csv(DATA_FILE)
    fig, axes = plt.subplots(1, len(FEATURES), figsize=(16, 3.4), sharey=True)
    for ax, feature in zip(axes, FEATURES):
        ax.scatter(df[feature], df[TARGET], s=3, alpha=0.3)
        ax.set_xlabel(feature)
    axes[0].set_ylabel(f"{TARGET}")
    fig.suptitle(f"{len(df)} minutes of a web service: response time against each system metric")
    fig.tight_layout()
    target = out / "data-overview.png"
    fig.savefig(target, dpi=90, metadata={"Software": None})
    plt.close(fig)
    return target


def exit_on_termination() -> None:
    """Turn SIGTERM/SIGHUP into SystemExit, so `finally` blocks stop the UI they started.

    The UI runs in a session of its own (its server forks workers); a plain SIGTERM to
    this tool would otherwise leave it serving after the tool is gone.
    """
    def stop(signum, frame):
        raise SystemExit(128 + signum)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


def main(argv: list[str] | None = None) -> int:
    exit_on_termination()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lab-screenshots-") as folder:
        uri = "sqlite:///" + (Path(folder) / "mlflow.db").as_posix()
        print("Running the four solutions into a temporary store...", flush=True)
        run_solutions(uri)
        with lab_ui(uri) as base:
            print(f"UI at {base}; capturing...", flush=True)
            try:
                shots = capture(base, uri, args.out)
            except UIMismatch as exc:
                print(f"The UI no longer matches the guide: {exc}")
                return 1
    for shot in shots.values():
        print(f"wrote {args.out / shot.file}: {shot.caption}")
    print(f"wrote {data_figure(args.out)}: the data")
    return 0


if __name__ == "__main__":
    sys.exit(main())

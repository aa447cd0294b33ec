"""Does every command LAB.md tells a student to type still work?

Commands come from the guide's ```bash blocks (and their `# or: <command>` alternatives);
LAB.es.md has the same ones (test_docs.py). Each must match exactly one runner below,
so a new command in the guide fails here until a test runs it. `python` is this
environment's Python, as in an activated .venv; tasks run on a temporary store
(MLFLOW_TRACKING_URI), from the repository root as the guide says. What is not run
literally, and why:
- `python -m venv .venv` runs in a temporary folder with --without-pip (seconds faster);
- `make setup` and `python -m pip install -r requirements.txt` would reinstall the
  suite's own virtual environment: make is run with --dry-run and pip with --dry-run
  (which resolves every pin against what is installed);
- make targets that depend on setup run with `-o .venv/.installed` for the same reason;
- the task scripts are the ones conftest's untouched_store runs, in the guide's order, on one
  store (task 1 in a fresh interpreter; test_tasks.py holds that each runs to the end), and
  the grader runs on that store from the repository root in a process forked from one that
  has already imported the lab's libraries (conftest.run_python): the same code as a fresh
  `python`, which test_grader.py (the grader) and test_release.py (every script and the
  grader, in a fresh virtual environment) run;
- `python -m labkit ui` (with or without `--port N`) is the command test/test_ui_command.py
  starts (forked warm: on a brand-new store, the printed address, Ctrl+C, SIGTERM, SIGHUP)
  and test/test_ui_screenshots.py's tool starts fresh,
  and `make ui` runs it (make --dry-run shows its recipe): here they must be that command;
- the serving bonus (`python test/...`, curl) is run by test/test_model_deployment.py,
  which runs the guides' curl lines itself; here they must match README's section;
- `python grader/check.py --watch task1` is the watcher test/test_grader_watch.py starts
  (a report, each change graded again, Ctrl+C): here it must be that command;
- MLflow's own commands the guide shows (`mlflow server`, `mlflow models serve` after
  `export MLFLOW_TRACKING_URI=...`) must be the commands the lab's code runs: `mlflow server`
  as typed in a store's folder is the argv `python -m labkit ui` runs, which
  test/test_ui_command.py starts on a real server; `mlflow models serve` is the argv
  test/serve_model.py starts, which test/test_model_deployment.py serves and checks with
  test/test_requests.py.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TASK_SCRIPTS, run_python
from test_docs import ENGLISH, README, SPANISH, blocks, commands, inline_commands, text

from labkit.paths import ROOT

GUIDE_COMMANDS = commands(text(ENGLISH))
# Commands the guide only mentions in passing and that no test can run here.
NOT_RUN = {
    "python -m pip install jupyterlab": "an optional download of JupyterLab",
}

RUNNERS = {
    "setup-make": r"make setup",
    "venv": r"python -m venv \.venv",
    "activate": r"source \.venv/bin/activate",
    "pip": r"python -m pip install -r requirements\.txt",
    "check-install": r"python -c .*",
    "task": r"python code/task\d_\w+\.py",
    "grade": r"python grader/check\.py (task\d|all)",
    "watch": r"python grader/check\.py --watch( task\d| all)?",
    "ui": r"python -m labkit ui( --port \d+)?",
    "make-ui": r"make ui",
    "reset": r"python -m labkit reset|make reset",
    "serving": r"python test/\w+\.py|curl .*",
    "mlflow-server": r"mlflow server .*",
    "tracking-uri": r"export MLFLOW_TRACKING_URI=.*",
    "models-serve": r"mlflow models serve .*",
}


def runner_of(command: str) -> str:
    matches = [name for name, pattern in RUNNERS.items() if re.fullmatch(pattern, command)]
    assert len(matches) == 1, f"no single test runs the guide's command {command!r}: {matches}"
    return matches[0]


def of_kind(kind: str) -> list[str]:
    return [c for c in GUIDE_COMMANDS if runner_of(c) == kind]


def shell(command: str, env: dict, cwd=ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a guide command with `python` meaning this environment's Python."""
    argv = command.replace("python ", f'"{sys.executable}" ', 1) if command.startswith("python ") else command
    return subprocess.run(["bash", "-c", argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def warm(command: str, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    """A guide's `python SCRIPT ARGS` from the repository root, forked warm (conftest.run_python)."""
    argv = shlex.split(command)
    assert argv[0] == "python", command
    return run_python(argv[1:], env, ROOT, timeout)


def test_every_command_of_the_guide_has_a_runner():
    assert len(GUIDE_COMMANDS) > 15
    for command in GUIDE_COMMANDS:
        runner_of(command)
    for command in inline_commands(text(ENGLISH)):
        assert command in GUIDE_COMMANDS or command in NOT_RUN, (
            f"LAB.md quotes {command!r} inline but no test runs it")


def test_make_setup_creates_the_venv_and_installs_the_requirements():
    (command,) = of_kind("setup-make")
    result = subprocess.run(["make", "--dry-run", "--always-make", *command.split()[1:]], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "pip install" in result.stdout and "requirements.txt" in result.stdout
    # What it installs, `-e .` among the requirements, test_release.py's smoke test installs as a
    # student does (the same requirements.txt and pyproject.toml, in a fresh virtual environment):
    # no setuptools banner, the lab importable from any folder.


def test_the_venv_commands_make_a_venv_that_activates(tmp_path):
    (make_venv,) = set(of_kind("venv"))
    (activate,) = set(of_kind("activate"))
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    assert shell(make_venv + " --without-pip", env, cwd=tmp_path).returncode == 0
    probe = shell(f'{activate} && python -c "import sys; print(sys.prefix)"', env, cwd=tmp_path)
    assert probe.stdout.strip() == str(tmp_path / ".venv"), probe.stderr
    windows = [b.body for b in blocks(text(ENGLISH)) if b.lang == "powershell"]
    bash_setup = "\n".join([make_venv, activate, *set(of_kind("pip"))])
    assert windows and all(body.replace(".venv\\Scripts\\activate", activate).strip() == bash_setup
                           for body in windows), windows


def test_pip_install_resolves_every_pin_against_this_environment():
    for command in set(of_kind("pip")):
        result = shell(command + " --dry-run", dict(os.environ), timeout=180)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        would = re.findall(r"^Would install (.*)$", result.stdout, re.M)
        assert all(p.startswith("mlflow-tracking-lab-") for line in would for p in line.split()), would


def test_the_installation_check_prints_what_the_guide_says():
    (command,) = set(of_kind("check-install"))
    result = shell(command, dict(os.environ), timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"It prints `{result.stdout.strip()}`" in text(ENGLISH)


def test_the_task_and_grading_commands_run_in_the_guide_order(untouched_store):
    """The guide's task commands are the untouched scripts in order, each before the grading
    commands of its task, and every grading command grades. The scripts' run is conftest's
    untouched_store (those scripts in that order on one store, task 1 in a brand-new interpreter:
    test_tasks.py holds that each ran to the end); the grading commands grade it from the
    repository root, forked warm (it is read-only: grading records nothing)."""
    ordered = list(dict.fromkeys(c for c in GUIDE_COMMANDS if runner_of(c) in ("task", "grade")))
    tasks = [c for c in ordered if runner_of(c) == "task"]
    grades = [c for c in ordered if runner_of(c) == "grade"]
    assert tasks == [f"python code/{script}" for script in TASK_SCRIPTS.values()], tasks
    assert len(grades) == 5
    for command in grades:  # `check.py taskN` after task N's script; `check.py all` after all four
        graded = command.split()[-1]
        ran = tasks if graded == "all" else [f"python code/{TASK_SCRIPTS[graded]}"]
        assert all(ordered.index(task) < ordered.index(command) for task in ran), ordered
    outputs = {command: warm(command, untouched_store.env()) for command in grades}
    for command in grades:
        result = outputs[command]
        assert result.returncode == 1 and "Score: 0/" in result.stdout, result.stdout + result.stderr
    # Each guide shows what the grader prints in its language (LAB.es.md: with LAB_LANG=es).
    spanish = warm("python grader/check.py task1", untouched_store.env(LAB_LANG="es"))
    for guide, result in ((ENGLISH, outputs["python grader/check.py task1"]), (SPANISH, spanish)):
        printed = [any_run_name(line) for line in result.stdout.splitlines()]
        (sample,) = [b.body for b in blocks(text(guide)) if b.lang == "text"]
        assert sample.splitlines() == printed[1:], (
            f"{guide.name}'s sample is not what the grader prints:\n" + "\n".join(printed))


def test_the_watch_command_is_the_one_test_grader_watch_starts():
    """The guide's `--watch` command is the argv test/test_grader_watch.py's watcher runs from the
    repository root (its first test: a report, each change graded again, then Ctrl+C ends it with
    "Stopped watching.", exit 0, no traceback), so it is not started a second time here."""
    from test_grader_watch import CHECK_PY, watch_argv

    for command in of_kind("watch"):
        argv = shlex.split(command)
        assert argv[0] == "python" and (ROOT / argv[1]) == CHECK_PY, argv
        assert watch_argv("task1")[2:] == [str(CHECK_PY), *argv[2:]], argv
    watching = (ROOT / "test" / "test_grader_watch.py").read_text(encoding="utf-8")
    assert 'Watcher(lab_store, "task1")' in watching and "env or store.env(), ROOT," in watching


def any_run_name(line: str) -> str:
    """The grader's line with MLflow's generated run name ('silent-goat-104') as the guides show it."""
    return re.sub(r"'[a-z]+-[a-z]+-\d+'", "'silent-goat-104'", line)


def test_reset_backs_up_the_store(tmp_path):
    from conftest import LabStore

    for index, command in enumerate(of_kind("reset")):
        store = LabStore(tmp_path / f"store{index}")
        store.folder.mkdir()
        store.db.write_bytes(b"")  # any file: reset moves it, it never reads it
        if command.startswith("make "):
            command = command.replace("make ", "make -o .venv/.installed ", 1)
        result = shell(command, store.env(), timeout=120)
        assert result.returncode == 0 and "Moved the store" in result.stdout, result.stdout + result.stderr
        assert not store.db.exists() and list((store.folder / "backups").glob("store-*/mlflow.db"))


def test_the_ui_commands_are_the_one_test_ui_command_starts():
    """`python -m labkit ui` and `... ui --port 5050` differ only by the port, and `make ui` runs
    the same command: test/test_ui_command.py starts it forked warm (a fresh store, the printed
    address, Ctrl+C, SIGTERM, SIGHUP), test_ui_screenshots.py's tool in a fresh interpreter, and
    test_release.py runs it up to its port check in a student's fresh environment."""
    without_port = {re.sub(r" --port \d+$", "", c) for c in of_kind("ui")}
    assert without_port == {"python -m labkit ui"}, without_port
    (make_ui,) = set(of_kind("make-ui"))
    dry = subprocess.run(["make", "--no-print-directory", "--dry-run", "-o", ".venv/.installed",  # run under make (CI)
                          *make_ui.split()[1:]], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [".venv/bin/python -m labkit ui"], dry.stdout
    ui_tests = (ROOT / "test" / "test_ui_command.py").read_text(encoding="utf-8")
    assert '"-m", "labkit", "ui", "--port", str(port)' in ui_tests


def test_the_serving_commands_are_the_readme_ones_run_by_the_deployment_test():
    readme = text(README)
    for command in of_kind("serving"):
        assert command in readme, f"{command!r} is not in README's serving section"
    deployment = (ROOT / "test" / "test_model_deployment.py").read_text(encoding="utf-8")
    assert '"LAB.md"' in deployment and shutil.which("curl")


# ------------------------------------------------------------- MLflow's own commands


def as_typed(command: str, folder: Path) -> list[str]:
    """The guide's command as bash reads it from the repository root (``folder`` stands for it)."""
    return shlex.split(command.replace("$PWD", folder.as_posix()))


def test_the_guides_mlflow_server_is_the_command_labkit_ui_runs(lab_store, monkeypatch):
    """Typed as written (bash reads $PWD as the folder it is typed in), it is the argv of
    `python -m labkit ui` on that folder's store, which test/test_ui_command.py starts on a real
    `mlflow server` (a brand-new store; scripts log to it through the UI, the printed address,
    Ctrl+C, SIGTERM, SIGHUP): so it is not started a second time here."""
    from labkit.commands.cli import shown_command, ui_command

    (command,) = set(of_kind("mlflow-server"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", lab_store.uri)
    runs = ui_command(5000)
    assert runs[:3] == [sys.executable, "-m", "mlflow"], runs
    assert as_typed(command, lab_store.folder) == ["mlflow", *runs[3:]], shown_command(runs)
    assert shlex.split(shown_command(runs)) == as_typed(command, lab_store.folder)
    assert runs[runs.index("--backend-store-uri") + 1] == lab_store.uri, runs  # the folder's store
    ui_tests = (ROOT / "test" / "test_ui_command.py").read_text(encoding="utf-8")
    assert '"-m", "labkit", "ui", "--port", str(port)' in ui_tests


def test_the_guides_models_serve_is_the_command_serve_model_runs(lab_store):
    """`export MLFLOW_TRACKING_URI=...` then `mlflow models serve ...`, typed as the bonus says, are
    the store and the argv test/serve_model.py serves with (labkit.commands.serving.ModelServer):
    test/test_model_deployment.py starts it on the solutions' store and passes test_requests.py."""
    from labkit.commands.serving import DEFAULT_PORT, ModelServer, serve_command

    from labkit.lab import STAGING_URI

    (export,) = set(of_kind("tracking-uri"))
    (serve,) = set(of_kind("models-serve"))
    folder = lab_store.folder  # any folder: the argv alone is compared here
    assert as_typed(export, folder) == ["export", f"MLFLOW_TRACKING_URI={lab_store.uri}"]
    assert as_typed(serve, folder) == ["mlflow", *serve_command(STAGING_URI, DEFAULT_PORT)[3:]]
    assert ModelServer(lab_store.uri, port=DEFAULT_PORT).command == serve_command(STAGING_URI, DEFAULT_PORT)
    deployment = (ROOT / "test" / "test_model_deployment.py").read_text(encoding="utf-8")
    assert "ServeModelProcess(solutions_store" in deployment and "run_script(REQUESTS_SCRIPT" in deployment

"""Is `python -m classroom release DIR` a lab a student can use and that holds no solution?

The release is written once per session (it takes seconds). The smoke test installs it as a
student does (`python -m pip install -r requirements.txt`, in a virtual environment of its
own that borrows this one's installed libraries instead of downloading them), runs the
untouched code/ from the release's folder on a store of its own, grades it, and starts the
UI and the serving command. The leak test reads every file of the release for the solutions'
lines, found by the TODO markers themselves, not by the release's own check.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import CODE_DIR, ROOT, SOLUTIONS_DIR, TASK_SCRIPTS, free_port

from grader.registry import todo_ids
from labkit.maintainers.codegen import parse

PATH_TOKEN = re.compile(r"(?<![\w/.:-])((?:\.?[\w-]+/)+[\w.-]*)")
MAKE_TARGET = re.compile(r"(?<![\w-])make ([a-z][\w-]*)(?=`|[ \t]*(?:#|;|$))", re.M)  # a command, not prose


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "mlflow-lab"
    result = subprocess.run([sys.executable, "-m", "classroom", "release", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "no solutions" in result.stdout
    return out


def solution_lines() -> set[str]:
    """The code lines of every TODO's solution that the students' code/ does not hold."""
    def normal(line: str) -> str:
        return line.strip().lstrip("#").strip()

    solved = set()
    for script in TASK_SCRIPTS.values():
        source = (SOLUTIONS_DIR / script).read_text(encoding="utf-8").splitlines(keepends=True)
        for region in parse(source, script):
            solved |= {normal(line) for line in region.solution if not line.strip().startswith("#")}
    student = {normal(line) for script in TASK_SCRIPTS.values()
               for line in (CODE_DIR / script).read_text(encoding="utf-8").splitlines()}
    return solved - student - {""}


def lines_of(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:  # an image
        return []
    if path.suffix == ".ipynb":
        text = "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
    return text.splitlines()


def leaked(folder: Path) -> list[str]:
    wanted = solution_lines()
    return [f"{path.relative_to(folder)}: {line.strip()}"
            for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".venv" not in p.parts)
            for line in lines_of(path) if line.strip().lstrip("#").strip() in wanted]


def test_no_file_of_the_release_holds_a_line_of_the_solutions(release, tmp_path):
    """Does the release hold none of the TODOs' solution lines, in any file (notebooks too)?"""
    assert len(solution_lines()) > len(todo_ids()), "the solutions' lines were not found"
    assert not (release / "solutions").exists()
    assert leaked(release) == []
    # The reading finds a leak where there is one: the repository's own tests quote the solutions,
    # and a solution line pasted into a copy of the release is found.
    assert leaked(ROOT / "test")
    planted = tmp_path / "planted"
    shutil.copytree(release / "code", planted)
    solved = (SOLUTIONS_DIR / TASK_SCRIPTS["task3"]).read_text(encoding="utf-8")
    (planted / "notes.md").write_text(solved, encoding="utf-8")
    assert leaked(planted)


def test_the_release_keeps_what_students_use_and_the_grader_whole(release):
    """Are the students' scripts, notebooks, data, grader and serving bonus there, byte for byte?"""
    for folder in ("code", "grader", "data", "labkit"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                copy = release / path.relative_to(ROOT)
                assert copy.read_bytes() == path.read_bytes(), copy
    for script in ("serve_model.py", "test_requests.py", "test_model_deployment.py"):
        assert (release / "test" / script).is_file()
    assert not (release / "bench").exists() and not (release / "tools").exists()
    assert not list(release.rglob("test_grader*.py")), "the test suite quotes the solutions"


def test_the_release_points_at_no_file_or_command_it_left_out(release):
    """Does every path a guide or the Makefile names, and every `make` target, exist in the release?"""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    lab_paths = set(tracked) | {f"{'/'.join(f.split('/')[:i])}/" for f in tracked for i in range(1, f.count("/") + 1)}
    documents = [p for p in release.rglob("*.md")] + [release / "Makefile"]
    makefile = (release / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.M))
    for document in documents:
        text = document.read_text(encoding="utf-8")
        for token in PATH_TOKEN.findall(text):
            token = token.rstrip(".")
            if token in lab_paths or token + "/" in lab_paths:
                assert (release / token).exists(), f"{document.name} names {token}, left out"
        for target in MAKE_TARGET.findall(text):
            assert target in targets, f"{document.name} names `make {target}`, which the release has not"
        assert not re.search(r"labkit (demo|generate)", text), document.name
    assert {"setup", "ui", "reset"} <= targets and not targets & {"demo", "test", "generate", "bench"}
    if shutil.which("make"):
        for target in sorted(targets):
            dry = subprocess.run(["make", "-n", target], cwd=release, capture_output=True, text=True)
            assert dry.returncode == 0, f"make -n {target}: {dry.stderr}"
        assert subprocess.run(["make", "-n", "demo"], cwd=release, capture_output=True).returncode != 0


def test_a_folder_that_is_not_empty_is_refused_in_one_line(tmp_path, release):
    """Does `release` refuse a folder with something in it (and a release of a release)?"""
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "classroom", "release", str(taken)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    assert str(taken) in result.stderr and "not empty" in result.stderr
    assert [p.name for p in taken.iterdir()] == ["keep.txt"]
    again = subprocess.run([sys.executable, "-m", "classroom", "release", str(tmp_path / "again")],
                           cwd=release, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": str(release)})
    assert again.returncode == 2 and "no solutions/" in again.stderr


def test_without_git_the_ignored_files_stay_and_a_leak_stops_the_release(tmp_path):
    """In a lab that is no git checkout: are .gitignore's files (a store, a connection file)
    left behind, and does a solution's line in a kept file stop the release, leaving nothing?"""
    from classroom.release import ReleaseError, write_release

    lab = tmp_path / "lab"
    for rel, text in {
        "solutions/task1_baseline.py": 'import mlflow\n# BEGIN TODO 1.1: Log it.\nmlflow.log_param("x", 1)\n# END TODO 1.1\n',
        "code/task1_baseline.py": 'import mlflow\n# TODO 1.1: Log it.\ntodo("1.1")\n',
        "README.md": "Run `python code/task1_baseline.py`.\n",
        ".gitignore": "/mlflow.db\n*.env\n__pycache__/\n",
        "mlflow.db": "a store", "alice.env": "MLFLOW_TRACKING_PASSWORD=secret",
        "code/__pycache__/x.pyc": "", "docs/notes.md": "The answer:\n\n    mlflow.log_param(\"x\", 1)\n",
    }.items():
        (lab / rel).parent.mkdir(parents=True, exist_ok=True)
        (lab / rel).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(ReleaseError, match="docs/notes.md:3"):
        write_release(out, root=lab)
    assert not out.exists(), "a release that leaks is not left behind"
    (lab / "docs" / "notes.md").unlink()
    written = write_release(out, root=lab)
    assert sorted(written.copied) == [".gitignore", "README.md", "code/task1_baseline.py"]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(written.copied)


def student_python(release: Path, folder: Path) -> Path:
    """A virtual environment of the student's, with this one's libraries borrowed through a .pth
    line (no download), into which the release installs itself as the README says."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    install = subprocess.run([str(python), "-m", "pip", "install", "-r", "requirements.txt"],
                             cwd=release, capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-3000:]
    return python


@pytest.mark.slow
def test_the_release_installs_runs_and_grades_untouched_code_0_with_a_hint_on_every_todo(release, tmp_path):
    """As a student: install the release, run its untouched code/ from its folder on a store of its
    own, grade it (0 points, a hint on every TODO), open the UI and try the serving command."""
    python = student_python(release, tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(MLFLOW_TRACKING_URI="sqlite:///" + (tmp_path / "store" / "mlflow.db").as_posix(), PYTHONUTF8="1")
    (tmp_path / "store").mkdir()
    where = subprocess.run([str(python), "-c", "import labkit, grader; print(labkit.__file__, grader.__file__)"],
                           cwd=release, env=env, capture_output=True, text=True, check=True).stdout
    assert where.count(str(release)) == 2, f"the release's own packages must be the ones imported: {where}"

    def run(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([str(python), *argv], cwd=release, env=env, capture_output=True, text=True,
                              timeout=timeout)

    for script in TASK_SCRIPTS.values():
        result = run(f"code/{script}")
        assert result.returncode == 0, f"{script}\n{result.stdout}\n{result.stderr[-3000:]}"
    graded = run("grader/check.py", "all", "--json")
    assert graded.returncode == 1, graded.stderr
    report = json.loads(graded.stdout)
    assert (report["score"], report["max_score"]) == (0, len(todo_ids()))
    assert [r["id"] for r in report["results"]] == todo_ids()
    for result in report["results"]:
        assert result["status"] in ("fail", "skip") and result["rationale"] and result["hint"], result

    serving = run("test/serve_model.py", "--port", str(free_port()), timeout=120)
    assert serving.returncode == 2 and "task 4" in serving.stdout.lower() + serving.stderr.lower(), serving
    assert run("test/test_requests.py", "--help", timeout=120).returncode == 0
    for command in ("demo", "generate"):  # the instructor's commands say why, in one line
        result = run("-m", "labkit", command, timeout=120)
        assert result.returncode == 2 and "no solutions/" in result.stdout, result
        assert "Traceback" not in result.stderr, result.stderr

    port = free_port()
    ui = subprocess.Popen([str(python), "-m", "labkit", "ui", "--port", str(port)], cwd=release, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and ui.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                time.sleep(0.5)
        assert ui.poll() is None, ui.communicate()[0]
        time.sleep(2)  # the command checks /health four times a second, then says where to open it
    finally:
        os.killpg(ui.pid, signal.SIGINT)
        output = ui.communicate(timeout=60)[0]
    assert f"Open http://127.0.0.1:{port}" in output and ui.returncode == 0, output


@pytest.mark.parametrize("source, script", [
    ("/home/ana/mlflow-lab/solutions/task3_compare.py", "solutions/task3_compare.py"),
    ("solutions/task1_baseline.py", "solutions/task1_baseline.py"),
    ("C:\\Users\\ana\\lab\\solutions\\task2_sweep.py", "solutions/task2_sweep.py"),
    ("/home/ana/mlflow-lab/code/task3_compare.py", None),
    ("/home/ana/solutions-notes/task3_compare.py", None),
    ("-c", None), (None, None),
])
def test_the_gradebook_knows_a_solutions_script_by_the_path_mlflow_recorded(source, script):
    """What the release keeps from students, the gradebook flags: is a run whose MLflow source is
    a script in a solutions/ folder (any system's path) known, and any other not?"""
    from classroom.gradebook import solution_script

    assert solution_script(source) == script

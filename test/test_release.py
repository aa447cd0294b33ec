"""Is `python -m classroom release DIR` a lab a student can use and that holds no solution?

The release is written once per session (it takes seconds). The smoke test installs it as a
student does (`python -m pip install -r requirements.txt`, in a virtual environment of its
own that borrows this one's installed libraries instead of downloading them), runs the
untouched code/ from the release's folder on a store of its own, grades it, and tries the
UI command (up to its port check) and the serving command. The leak test reads every file of
the release for the solutions' lines, found by the TODO markers themselves, not by the
release's own check.

A Spanish release (``--lang es``) is written too: its code/ is generated from the same
solutions with Spanish texts. It is held to the same checks; its task 1 runs and is graded
from its folder (the suite's Python, the release first on PYTHONPATH: one fresh virtual
environment, the English one, is enough to show the install; its commands forked in turn from
one interpreter that imported the release's libraries), and the other scripts are shown
to be the English program (the same syntax tree apart from docstrings, comments and printed
strings), which the English smoke test runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import CODE_DIR, ROOT, SOLUTIONS_DIR, TASK_SCRIPTS, free_port

from grader.registry import todo_ids
from labkit.maintainers import codegen, notebooks, script_texts, translation
from labkit.maintainers.markers import parse, student_version

# Its module-scoped fixtures are built once: the whole module runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("test_release")

PATH_TOKEN = re.compile(r"(?<![\w/.:-])((?:\.?[\w-]+/)+[\w.-]*)")
MAKE_TARGET = re.compile(r"(?<![\w-])make ([a-z][\w-]*)(?=`|[ \t]*(?:#|;|$))", re.M)  # a command, not prose


LANGUAGES = ("en", "es")


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "mlflow-lab"
    result = subprocess.run([sys.executable, "-m", "classroom", "release", str(out)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "no solutions" in result.stdout
    return out


@pytest.fixture(scope="module")
def spanish_release(tmp_path_factory) -> Path:
    """The release with a Spanish code/ (what `python -m classroom release DIR --lang es` writes)."""
    from classroom.release import write_release

    out = tmp_path_factory.mktemp("release-es") / "mlflow-lab"
    written = write_release(out, lang="es")
    assert sorted(written.translated) == sorted(f"code/{name}" for name in spanish_code())
    return out


def release_in(request, lang: str) -> Path:
    return request.getfixturevalue("release" if lang == "en" else "spanish_release")


def spanish_code() -> dict[str, bytes]:
    """The student scripts and notebooks generated in Spanish from solutions/, by file name."""
    scripts = {name: text.encode("utf-8") for name, text in codegen.scripts(lang="es").items()}
    return {**scripts, **notebooks.student_notebooks(lang="es")}


def solution_lines(lang: str = "en") -> set[str]:
    """The code lines of every TODO's solution that the students' code/ does not hold (in Spanish:
    the English ones and those of the Spanish solutions, whose comments and strings differ)."""
    def normal(line: str) -> str:
        return line.strip().lstrip("#").strip()

    versions = [{script: (SOLUTIONS_DIR / script).read_text(encoding="utf-8") for script in TASK_SCRIPTS.values()}]
    student = {normal(line) for script in TASK_SCRIPTS.values()
               for line in (CODE_DIR / script).read_text(encoding="utf-8").splitlines()}
    if lang != "en":
        versions.append({path.name: text for path, text in translation.sources(lang=lang).items()})
        student |= {normal(line) for script, text in versions[-1].items()
                    for line in student_version(text, script).splitlines()}
    solved = set()
    for version in versions:
        for script, text in version.items():
            for region in parse(text.splitlines(keepends=True), script):
                solved |= {normal(line) for line in region.solution if not line.strip().startswith("#")}
    return solved - student - {""}


def lines_of(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:  # an image
        return []
    if path.suffix == ".ipynb":
        text = "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
    return text.splitlines()


def leaked(folder: Path, lang: str = "en") -> list[str]:
    wanted = solution_lines(lang)
    return [f"{path.relative_to(folder)}: {line.strip()}"
            for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".venv" not in p.parts)
            for line in lines_of(path) if line.strip().lstrip("#").strip() in wanted]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_file_of_the_release_holds_a_line_of_the_solutions(request, lang, tmp_path):
    """Does the release hold none of the TODOs' solution lines, in any file (notebooks too), nor
    the solutions' catalog (it quotes the solved TODOs' comments and printed lines)?"""
    release = release_in(request, lang)
    assert len(solution_lines(lang)) > len(todo_ids()), "the solutions' lines were not found"
    assert not (release / "solutions").exists() and not list(release.rglob("es.po"))
    assert leaked(release, lang) == []
    # The reading finds a leak where there is one: the repository's own tests quote the solutions,
    # and a solution line pasted into a copy of the release is found.
    assert leaked(ROOT / "test")
    planted = tmp_path / "planted"
    shutil.copytree(release / "code", planted)
    solved = (SOLUTIONS_DIR / TASK_SCRIPTS["task3"]).read_text(encoding="utf-8")
    (planted / "notes.md").write_text(translation.translate(solved, lang), encoding="utf-8")
    found = leaked(planted, lang)
    assert found and (lang == "en" or any("# MLflow deduce de él la firma" in line for line in found)), (
        "a line only the Spanish solution has (a TODO 3.2 line with its Spanish comment) is not found")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_release_keeps_what_students_use_and_the_grader_whole(request, lang):
    """Are the students' scripts, notebooks, data, grader and serving bonus there, byte for byte
    (code/ as generated in the release's language)?"""
    release = release_in(request, lang)
    if lang == "es":
        generated = spanish_code()
        assert sorted(p.name for p in (release / "code").iterdir()) == sorted(generated)
        for name, data in generated.items():
            assert (release / "code" / name).read_bytes() == data, name
    for folder in ("code", "grader", "data", "labkit"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and not (folder == "code" and lang == "es"):
                copy = release / path.relative_to(ROOT)
                assert copy.read_bytes() == path.read_bytes(), copy
    for script in ("serve_model.py", "test_requests.py", "test_model_deployment.py"):
        assert (release / "test" / script).is_file()
    assert not (release / "bench").exists() and not (release / "tools").exists()
    assert not list(release.rglob("test_grader*.py")), "the test suite quotes the solutions"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_release_points_at_no_file_or_command_it_left_out(request, lang):
    """Does every path a guide or the Makefile names, every link, and every `make` target, exist
    in the release?"""
    release = release_in(request, lang)
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
        assert not re.search(r"labkit (demo|generate)|classroom release", text), document.name
        for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (document.parent / link).exists(), f"{document.name} links to {link}, not in the release"
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
    # `-e .`, built as pip builds it (an isolated setuptools, the pyproject.toml of the lab, which
    # `make setup` installs too): no "BuildBackendWarning: Editable installation" banner, and the
    # lab importable from any folder (found, not imported: the task runs below import it).
    shown = install.stdout + install.stderr
    assert "BuildBackendWarning" not in shown and "*****" not in shown, shown
    where = "import importlib.util as u; print(u.find_spec('labkit').submodule_search_locations[0])"
    probe = subprocess.run([str(python), "-c", where], cwd=folder, capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == str(release / "labkit"), probe.stdout + probe.stderr
    return python


class Student:
    """A student with the release installed in their own environment, a store of their own, and
    the lab's language (LAB_LANG) set to the release's."""

    def __init__(self, release: Path, folder: Path, lang: str) -> None:
        self.release = release
        self.python = student_python(release, folder / "venv")
        (folder / "store").mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PYTHON", "VIRTUAL_ENV"))}
        self.env.update(MLFLOW_TRACKING_URI="sqlite:///" + (folder / "store" / "mlflow.db").as_posix(),
                        PYTHONUTF8="1", LAB_LANG=lang)

    def run_warm(self, *commands: list[str] | tuple[list[str], dict]) -> list[subprocess.CompletedProcess]:
        """Each ``python ARGV`` of ``commands`` (or ``(ARGV, env changes)``), in turn, forked warm
        from the student's Python (run_warm below)."""
        return run_warm(self.python, self.release, self.env, commands)


# Each command: its argv, and the variables it sets (None: unset) on the batch's environment.
WARM_RUNS = """
import json, os, sys
sys.path.insert(1, sys.argv[1])  # test/zygote.py, after the release's folder
import zygote
ran = []
for argv, changes in json.loads(sys.argv[2]):
    env = {k: v for k, v in {**os.environ, **changes}.items() if v is not None}
    ran.append(zygote.run(argv, env, os.getcwd(), 300))
print(json.dumps([[r.returncode, r.stdout, r.stderr] for r in ran]))
"""


def run_warm(python: Path | str, release: Path, env: dict[str, str],
             commands) -> list[subprocess.CompletedProcess]:
    """Each ``python ARGV`` of ``commands`` (or ``(ARGV, env changes)``), in turn, from the release's
    folder, in a process forked from one of ``python`` that has imported the lab's libraries (the
    release's: its install, or PYTHONPATH) and theirs once: test/zygote.py, run by that Python. The
    same code as a fresh interpreter per command (a new __main__, its own environment, folder and
    exit code), without its seconds of imports; a student's fresh interpreter running task 1 is
    conftest's untouched_store."""
    commands = [(list(c), {}) if isinstance(c, list) else (list(c[0]), dict(c[1])) for c in commands]
    batch = subprocess.run([str(python), "-c", WARM_RUNS, str(ROOT / "test"), json.dumps(commands)],
                           cwd=release, env=env, capture_output=True, text=True, timeout=900)
    assert batch.returncode == 0, batch.stdout[-2000:] + batch.stderr[-3000:]
    ran = json.loads(batch.stdout.splitlines()[-1])
    return [subprocess.CompletedProcess(argv, code, out, err) for (argv, _), (code, out, err) in zip(commands, ran)]


@pytest.mark.slow
def test_the_release_installs_runs_and_grades_untouched_code_0_with_a_hint_on_every_todo(release, tmp_path):
    """As a student: install the release, run its untouched code/ from its folder on a store of its
    own, grade it (0 points, a hint on every TODO), try the UI command and the serving command.
    (The suite's one fresh virtual environment: the Spanish release, the same requirements.txt
    and the same program with Spanish texts, is run from its folder below.) What the install
    proves: `python -m pip install -r requirements.txt` succeeds in a new environment (every pin
    resolves, `-e .` builds with an isolated setuptools and no banner) and the release's own
    labkit and grader, importable from any folder, are the ones its commands import; the libraries
    themselves are borrowed from this environment (no download), so a missing pin is not its to find.
    The scripts and commands run forked warm from the student's Python, which imports the
    release's libraries once (test/zygote.py: a new __main__, environment and exit code each),
    instead of importing MLflow and scikit-learn again per command; the fresh interpreters of the
    student's environment are that Python and the install's probe. A brand-new interpreter running
    untouched task 1 as a student starts it: conftest's untouched_store (test_tasks.py). The UI
    command runs here up to its port check (a port taken: its one line); its real start, the
    address it prints once `mlflow server` answers and Ctrl+C, is test_ui_command.py's (the same
    labkit code, in this environment's Python) and test_ui_screenshots.py's."""
    student = Student(release, tmp_path, "en")
    others = list(TASK_SCRIPTS.items())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        where, *ran, graded, serving, helped, deployment, demo, generate, ui, english = student.run_warm(
            ["-c", WHERE], *[[f"code/{script}"] for _, script in others], ["grader/check.py", "all", "--json"],
            ["test/serve_model.py", "--port", str(free_port())], ["test/test_requests.py", "--help"],
            ["test/test_model_deployment.py", "--help"], ["-m", "labkit", "demo"], ["-m", "labkit", "generate"],
            ["-m", "labkit", "ui", "--port", str(port)],
            (["grader/check.py", "task9"], NO_LANGUAGE))  # an English release with no language set
    assert where.stdout.count(str(student.release)) == 2, (
        f"the release's own packages must be the ones imported: {where.stdout}{where.stderr}")
    for (task, _), result in zip(others, ran):
        assert result.returncode == 0, f"{task}\n{result.stdout}\n{result.stderr[-3000:]}"
    assert_untouched_grade(graded, list(TASK_SCRIPTS))
    # The serving command before task 4, and the instructor's commands, which say in one line why
    # they are not for this copy.
    assert serving.returncode == 2 and "task 4" in serving.stdout.lower() + serving.stderr.lower(), serving
    assert helped.returncode == 0, helped
    assert deployment.returncode == 0 and "--port" in deployment.stdout, deployment  # it imports what it needs
    for result in (demo, generate):
        assert result.returncode == 2 and "no solutions/" in result.stdout, result
        assert "Traceback" not in result.stderr, result.stderr
    assert english.stderr.startswith("usage: ") and "invalid choice: 'task9'" in english.stderr, english.stderr
    assert ui.returncode == 2 and f"Port {port} is in use" in ui.stdout, ui


WHERE = "import labkit, grader; print(labkit.__file__, grader.__file__)"
LANGUAGE_VARIABLES = ("LAB_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
NO_LANGUAGE = {**dict.fromkeys(LANGUAGE_VARIABLES), "LANG": "C.UTF-8"}  # None: unset


def assert_untouched_grade(graded: subprocess.CompletedProcess, tasks: list[str]) -> None:
    """0 points, every TODO of ``tasks`` failed or skipped with a rationale and a hint."""
    assert graded.returncode == 1, graded.stderr
    report = json.loads(graded.stdout)
    ids = [i for i in todo_ids() if f"task{i.split('.')[0]}" in tasks]
    assert (report["score"], report["max_score"]) == (0, len(ids))
    assert [r["id"] for r in report["results"]] == ids
    for result in report["results"]:
        assert result["status"] in ("fail", "skip") and result["rationale"] and result["hint"], result


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


# ------------------------------------------------------------------ a Spanish release speaks Spanish (issue 19)

def student_env(release: Path, **language) -> dict[str, str]:
    """A student's environment in ``release``: its own packages first, no language set but ``language``."""
    env = {k: v for k, v in os.environ.items() if k not in LANGUAGE_VARIABLES}
    return {**env, "PYTHONPATH": str(release), "LANG": "C.UTF-8", **language}


def run_in(release: Path, args: list[str], **language) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=release, env=student_env(release, **language),
                          capture_output=True, text=True, timeout=300)


def test_a_spanish_release_records_its_language_and_an_english_one_none(spanish_release, release):
    assert (spanish_release / "locale" / "default-language").read_text(encoding="utf-8") == "es\n"
    assert not (release / "locale" / "default-language").exists()


HELP_COMMANDS = (["-m", "labkit", "--help"], ["-m", "classroom", "--help"], ["grader/check.py", "--help"])


@pytest.fixture(scope="module")
def spanish_runs(spanish_release, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """What the Spanish release's commands print, run from its folder with its packages first, no
    language set and the C locale (student_env), forked warm in turn from one Python that imported
    the release's libraries once (run_warm: a new __main__, environment and exit code each; the
    English smoke test runs them so from a student's fresh environment): the grader with no store,
    with a wrong task, with --lang en, the commands' help, untouched task 1 on a store of its own
    and its grade."""
    store = {"MLFLOW_TRACKING_URI": "sqlite:///" + (tmp_path_factory.mktemp("es-store") / "mlflow.db").as_posix(),
             "PYTHONUTF8": "1"}
    commands = {
        "where": (["-c", WHERE], {}),
        "cannot grade": (["grader/check.py", "task1"], {}),
        "wrong task": (["grader/check.py", "task9"], {}),
        **{" ".join(argv): (argv, {}) for argv in HELP_COMMANDS},
        "--lang en": (["grader/check.py", "task1", "--lang", "en"], {}),
        "task1": ([f"code/{TASK_SCRIPTS['task1']}"], store),
        "graded": (["grader/check.py", "task1", "--json"], store),
    }
    ran = run_warm(sys.executable, spanish_release, student_env(spanish_release), list(commands.values()))
    runs = dict(zip(commands, ran))
    assert runs["where"].stdout.count(str(spanish_release)) == 2, (
        f"the release's own packages must be the ones imported: {runs['where'].stdout}{runs['where'].stderr}")
    return runs


@pytest.mark.slow  # the release's commands, forked from an interpreter of its own (spanish_runs)
def test_a_spanish_release_speaks_spanish_with_nothing_set(spanish_runs):
    """The grader, argparse's own words, python -m labkit and python -m classroom, with no
    LAB_LANG and the C locale, in the release's folder: Spanish."""
    graded = spanish_runs["cannot grade"]
    assert graded.returncode == 2 and graded.stderr.startswith("No se puede calificar: "), graded.stderr
    wrong = spanish_runs["wrong task"]
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("uso: python grader/check.py"), wrong.stderr
    assert "error: argumento task: valor no válido: 'task9' (elige entre 'task1'" in wrong.stderr
    for command in HELP_COMMANDS:
        shown = spanish_runs[" ".join(command)]
        assert shown.returncode == 0, shown.stderr
        for words in ("uso: ", "opciones:", "-h, --help", "muestra este mensaje de ayuda y termina"):
            assert words in shown.stdout, (command, words, shown.stdout)
        assert not re.search(r"\b(usage|options|show this help)\b", shown.stdout), shown.stdout
        if command[1:2] == ["labkit"]:  # a student's copy lists only what a student can use
            assert "{ui,reset,data}" in shown.stdout and not re.search(r"\b(demo|generate)\b", shown.stdout), shown.stdout


@pytest.mark.slow  # a task script and the grader (spanish_runs)
def test_the_spanish_releases_task_1_runs_and_grades_in_spanish_with_nothing_set(spanish_runs, spanish_release):
    """Untouched task 1 of the Spanish release, run from its folder with no language set, speaks
    Spanish and grades 0 with a hint on every TODO; its other scripts are the English program
    (the same syntax tree apart from docstrings, comments and printed strings) with the TODOs in
    Spanish, which the English release's smoke test runs."""
    ran = spanish_runs["task1"]
    assert ran.returncode == 0, ran.stdout + ran.stderr[-3000:]
    assert "Se guardó el run de referencia:" in ran.stdout, "task 1 printed no Spanish"
    assert_untouched_grade(spanish_runs["graded"], ["task1"])
    for script in TASK_SCRIPTS.values():
        text = (spanish_release / "code" / script).read_text(encoding="utf-8")
        assert script_texts.program(text) == script_texts.program((CODE_DIR / script).read_text(encoding="utf-8"))
        assert "#   Pista: " in text and "Hint:" not in text, script


def test_lab_lang_and_a_locale_still_choose_in_a_spanish_release(spanish_release):
    """The release's language comes after LAB_LANG and a locale that names a language the lab
    speaks (one interpreter for the four cases; the grader's own words with nothing set are
    the test above's)."""
    cases = [({"LAB_LANG": "en"}, "en"),
             ({"LANG": "en_US.UTF-8"}, "en"),             # a locale that names a language wins over the release's
             ({"LAB_LANG": "es", "LANG": "en_US.UTF-8"}, "es"),
             ({"LANG": "fr_FR.UTF-8"}, "es")]             # one the lab lacks: the release's
    code = ("import json, sys; from labkit import i18n; "
            "print(i18n.__file__); print(json.dumps([i18n.from_environment(e) for e in json.loads(sys.argv[1])]))")
    shown = run_in(spanish_release, ["-c", code, json.dumps([env for env, _ in cases])])
    where, chosen = shown.stdout.splitlines()
    assert where.startswith(str(spanish_release)), where
    assert json.loads(chosen) == [language for _, language in cases], shown.stdout


@pytest.mark.slow  # the grader (spanish_runs)
def test_lang_en_wins_in_a_spanish_release(spanish_runs):
    """(An English release speaks English with nothing set: the smoke test's grader of task9.)"""
    chosen = spanish_runs["--lang en"]
    assert chosen.stderr.startswith("Cannot grade: "), chosen.stderr


def test_the_figures_of_a_spanish_release_have_spanish_titles_and_axes(spanish_release):
    shown = run_in(spanish_release, ["-c", (
        "from labkit import plots\n"
        "sweep = plots.sweep_chart([{'label': '100/8/1', 'rmse': 20.0}], 'rmse').axes[0]\n"
        "scatter = plots.pred_vs_actual([1.0, 2.0], [1.5, 2.5], 'x').axes[0]\n"
        "bars = plots.comparison_chart({'ridge': {'r2': 0.5, 'rmse': 20.0}}, [1.0, 2.0], {'ridge': [1.0, 2.0]}).axes[0]\n"
        "for ax in (sweep, scatter, bars):\n"
        "    print(ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), sep='|')\n"
        "print(sweep.get_legend().get_texts()[0].get_text(), scatter.get_legend().get_texts()[0].get_text(), sep='|')\n")])
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("Barrido de hiperparámetros|"), lines
    assert lines[1] == "x|tiempo de respuesta real (ms)|tiempo de respuesta predicho (ms)", lines
    assert lines[3] == "error irreducible|predicción perfecta", lines
    for english in ("Hyperparameter", "response time", "higher is better", "lower is better", "by model"):
        assert english not in shown.stdout, shown.stdout


def test_a_spanish_release_has_its_readme_in_spanish_and_the_english_one_beside(spanish_release, release):
    spanish, english = (spanish_release / "README.md").read_text(encoding="utf-8"), (
        spanish_release / "README.en.md").read_text(encoding="utf-8")
    assert spanish.startswith("# Seguimiento de experimentos con MLflow") and "## Inicio rápido" in spanish
    assert english.startswith("# MLflow experiment tracking") and "## Quick start" in english
    assert "[README.md](README.en.md)" not in spanish and "[README.en.md](README.en.md)" in spanish
    assert "[README.md](README.md)" in english  # "This file in Spanish"
    assert not (spanish_release / "README.es.md").exists()
    assert "Para mantenedores" not in spanish and "For maintainers" not in english
    assert (release / "README.md").read_text(encoding="utf-8").startswith("# MLflow experiment tracking")
    assert not (release / "README.en.md").exists()


def test_the_release_drops_the_pointers_to_the_sections_it_cut(release):
    """INSTRUCTORS.md loses the sections on the release, the flags and the tests: nothing says
    "(runs of the solutions, below)" any more."""
    instructors = (release / "INSTRUCTORS.md").read_text(encoding="utf-8")
    original = (ROOT / "INSTRUCTORS.md").read_text(encoding="utf-8")
    assert "runs of the solutions, below" in original  # the pointer this test is about
    assert not re.search(r"\(runs of the solutions, (below|above)\)", instructors)
    for title in ("Their copy of the lab", "Runs of the solutions are flagged", "How it is tested"):
        assert title not in instructors and title in original


DEV_ONLY = ("nbformat", "nbclient", "ipykernel", "playwright", "pytest", "xdist", "jsonschema")  # requirements-dev.txt


def release_with(blocked: tuple[str, ...], out: Path) -> subprocess.CompletedProcess:
    """`python -m classroom release OUT --lang es` with the ``blocked`` modules impossible to import."""
    code = ("import sys; sys.modules.update(dict.fromkeys(sys.argv[1].split(','))); "
            "from classroom.cli import main; sys.exit(main(sys.argv[2:]))")
    return subprocess.run([sys.executable, "-c", code, ",".join(blocked), "release", str(out), "--lang", "es"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "LAB_LANG"})


@pytest.mark.slow  # two more releases written in fresh interpreters
def test_a_spanish_release_needs_requirements_class_only(tmp_path, spanish_release):
    """Without what only requirements-dev.txt installs (nbformat among them), `release --lang es`
    writes the same code/; without Babel (requirements-class.txt) it says so in one line."""
    out = tmp_path / "mlflow-lab"
    made = release_with(DEV_ONLY, out)
    assert made.returncode == 0, made.stderr
    for path in sorted((spanish_release / "code").iterdir()):
        assert (out / "code" / path.name).read_bytes() == path.read_bytes(), path.name
    refused = release_with(("babel",), tmp_path / "no-babel")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "Babel" in refused.stderr and "requirements-class.txt" in refused.stderr
    assert not (tmp_path / "no-babel").exists()
    assert "babel==" in (ROOT / "requirements-class.txt").read_text(encoding="utf-8")
    helped = subprocess.run([sys.executable, "-m", "classroom", "release", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert "requirements-class.txt" in re.sub(r"\s+", "", helped.stdout)  # argparse wraps at a hyphen

"""Do the suite's own rules (test/suite_rules.py) hold: in CI a skipped test fails and says why;
a grouped test under --dist loadgroup keeps its group; a run in which a test wrote to a folder
the tests share read-only fails, naming it? (Runs of a throwaway suite: what is left of pytest
itself to test is what the pinned pytest must keep doing.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TEST_DIR = Path(__file__).resolve().parent

CONFTEST = f"""
import sys
sys.path.insert(0, {str(TEST_DIR)!r})
from suite_rules import pytest_runtest_makereport, pytest_runtest_setup, pytest_sessionfinish  # noqa: F401
"""

TESTS = """
import pytest

def test_needs_a_tool():
    pytest.skip("no tool X here")

@pytest.mark.xdist_group("together")
def test_grouped():
    pass
"""


# Two folders shared by the workers, each built once (suite_rules.shared_folder): one only read, one
# that a test writes to, as a test that forgot to copy a shared store would.
SHARING = """
import pytest
from suite_rules import shared_folder

@pytest.fixture(scope="session")
def kept(tmp_path_factory):
    return shared_folder(tmp_path_factory, "kept", lambda folder: (folder / "data.txt").write_text("built"))

@pytest.fixture(scope="session")
def written(tmp_path_factory):
    return shared_folder(tmp_path_factory, "written", lambda folder: (folder / "data.txt").write_text("built"))

def test_reads(kept):
    assert (kept / "data.txt").read_text() == "built"
    (kept / "data.txt").write_text("built")  # the same bytes again, as MLflow's loads rewrite a file

def test_writes_where_it_should_copy(written):
    (written / "notes.txt").write_text("a test's own file")
"""


def run_suite(folder: Path, ci: str | None, *args: str, tests: str = TESTS) -> subprocess.CompletedProcess:
    (folder / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (folder / "test_throwaway.py").write_text(tests, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CI" and not k.startswith("PYTEST_")}  # not this run's worker
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", *args, str(folder)],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def test_in_ci_a_skip_fails_with_its_reason_and_a_grouped_test_keeps_its_group(tmp_path):
    """One throwaway run as .ci/run's machines make it (CI=true, two rules at once): the skip
    fails and says why; the grouped test passes under -n 1 --dist loadgroup, which is what the
    pytest pin in requirements-dev.txt depends on."""
    result = run_suite(tmp_path, "true", "-n", "1", "--dist", "loadgroup")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed, 1 passed" in result.stdout, result.stdout
    assert "skipped in CI, where every check must run" in result.stdout and "no tool X here" in result.stdout
    assert "lost this test's xdist_group" not in result.stdout
    assert "PASSED" in result.stdout and "test_grouped@together" in result.stdout, result.stdout


def test_a_run_in_which_a_test_wrote_to_a_shared_folder_fails_naming_it(tmp_path):
    """Both tests pass, yet the run fails (exit 1) and names the folder written to and its new
    file, not the folder whose file was only written again with the same bytes: as the xdist
    controller sees it, after all workers."""
    (tmp_path / "suite").mkdir()
    result = run_suite(tmp_path / "suite", None, "-n", "2", "--basetemp", str(tmp_path / "temp"),
                       tests=SHARING)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 passed" in result.stdout, result.stdout
    (line,) = [line for line in result.stdout.splitlines() if "share read-only changed" in line]
    assert "written/ (1 files: notes.txt)" in line and "kept/" not in line, line

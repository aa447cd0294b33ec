"""Do the suite's own rules (test/suite_rules.py) hold: in CI a skipped test fails and says why,
elsewhere it stays a skip; a grouped test under --dist loadgroup keeps its group?"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TEST_DIR = Path(__file__).resolve().parent

CONFTEST = f"""
import sys
sys.path.insert(0, {str(TEST_DIR)!r})
from suite_rules import pytest_runtest_makereport, pytest_runtest_setup  # noqa: F401
"""

TESTS = """
import pytest

def test_needs_a_tool():
    pytest.skip("no tool X here")

@pytest.mark.xdist_group("together")
def test_grouped():
    pass
"""


def run_suite(folder: Path, ci: str | None, *args: str) -> subprocess.CompletedProcess:
    (folder / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (folder / "test_throwaway.py").write_text(TESTS, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", *args, str(folder)],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def test_a_skip_fails_in_ci_with_its_reason(tmp_path):
    result = run_suite(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 passed" in result.stdout, result.stdout
    assert "skipped in CI, where every check must run" in result.stdout and "no tool X here" in result.stdout


def test_a_skip_stays_a_skip_outside_ci(tmp_path):
    for ci in (None, "false"):
        result = run_suite(tmp_path, ci)
        assert result.returncode == 0 and "1 passed, 1 skipped" in result.stdout, result.stdout


def test_a_grouped_test_keeps_its_group_under_loadgroup(tmp_path):
    result = run_suite(tmp_path, None, "-n", "1", "--dist", "loadgroup")
    assert result.returncode == 0 and "1 passed, 1 skipped" in result.stdout, result.stdout + result.stderr
    assert "lost this test's xdist_group" not in result.stdout

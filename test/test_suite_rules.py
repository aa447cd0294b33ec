"""Do the suite's own rules (test/suite_rules.py) hold: in CI a skipped test fails and says why;
a grouped test under --dist loadgroup keeps its group? (One run of a throwaway suite: what is
left of pytest itself to test is what the pinned pytest must keep doing.)"""

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

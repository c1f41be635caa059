"""Runs where the office runs: no POSIX-only module is needed, and no symbolic link is shipped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO


def without_fcntl(tmp_path: Path) -> dict[str, str]:
    """An environment whose Pythons cannot import fcntl, as on Windows (children included)."""
    (tmp_path / "sitecustomize.py").write_text('import sys\nsys.modules["fcntl"] = None\n')
    return {**os.environ, "PYTHONPATH": str(tmp_path)}


@pytest.mark.slow  # the journal and send tests again, in a child pytest
def test_the_journal_and_send_tests_pass_without_fcntl(tmp_path: Path) -> None:
    env = without_fcntl(tmp_path)
    probe = subprocess.run([sys.executable, "-c", "import fcntl"], env=env, capture_output=True, text=True)
    assert probe.returncode == 1 and "import of fcntl halted" in probe.stderr  # the block holds
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-x", "-m", "not slow"]
        + ["tests/test_journal.py", "tests/test_sending.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout


def test_the_repository_holds_no_symbolic_link() -> None:
    """A Windows clone checks a link out as a small text file: package data are mapped instead."""
    listed = subprocess.run(["git", "ls-files", "-s"], cwd=REPO, capture_output=True, text=True, check=True)
    links = [line.split("\t", 1)[1] for line in listed.stdout.splitlines() if line.startswith("120000 ")]
    assert links == []

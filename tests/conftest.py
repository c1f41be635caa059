"""Shared fixtures: a copy of the example programme in a temp folder, and a file-tree builder."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROJECT_PARTS = ["composer.yaml", "contacts.yaml", "issues", "recipients", "templates", "schema"]


def copy_example(dest: Path) -> Path:
    """The repo's example programme, copied so a test may edit or break it freely."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, dest / part)
        elif source.exists():
            shutil.copy2(source, dest / part)
    return dest


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "project")


@pytest.fixture
def write(example: Path) -> Callable[[str, str], Path]:
    """Write a file (dedented) into the example project; returns its path."""

    def writer(relative: str, text: str) -> Path:
        path = example / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return writer

"""`composer lists`: the mailing lists as the next send would read them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from composer.lists.recipients import Lists
from composer.workspace import Workspace


def lists(root: Path) -> Lists:
    """The project's lists with their problems (the caller decides the exit)."""
    found = Workspace(root).lists
    return replace(found, problems=[*found.problems, found.nobody]) if found.nobody else found

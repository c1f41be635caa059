"""`composer new`: next week's issue file, with the reminders it will carry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from composer.content.scaffold import NewIssue, new_issue
from composer.workspace import Workspace


def new(root: Path, *, date: dt.date | None = None, number: int | None = None) -> NewIssue:
    """Write the file for the issue after the latest one (or `number`); never overwrite a file."""
    return new_issue(Workspace(root).project, date=date, number=number)

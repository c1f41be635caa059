"""`composer inbox`: act on the unsubscribe replies and bounces in the programme's mailbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from composer.mailbox.inbox import InboxReport, read_inbox
from composer.workspace import Workspace


def inbox(
    root: Path,
    *,
    dry_run: bool = False,
    folder: Path | None = None,
    env: Mapping[str, str] | None = None,
    today: dt.date | None = None,
) -> InboxReport:
    """Handle every message not seen before; `folder` reads saved .eml files instead of IMAP.

    The mailing lists are read by the library once its lock is held, not from the workspace: a
    second run must see what the first one wrote.
    """
    project = Workspace(root).project
    return read_inbox(project, dry_run=dry_run, folder=folder, env=env, today=today)

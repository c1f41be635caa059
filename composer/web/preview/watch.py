"""The preview's watcher: poll the project's files, wait for a change to settle, rebuild.

Polling needs no dependency and sees every kind of save (an editor that writes a new file and
renames it over the old one changes the inode). The watcher does nothing else, so a save is seen
at once even while the background checks are busy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from composer.content.layout import CONTACTS_FILE, ISSUES_DIR, SETTINGS_FILE

WATCHED = (SETTINGS_FILE, CONTACTS_FILE, ISSUES_DIR, "templates", "recipients")
INTERVAL = 0.15  # seconds between two looks at the files
SETTLE = 0.1  # how long the files must stay still before a rebuild (a save may take several writes)

Snapshot = dict[Path, tuple[int, int, int]]


def snapshot(root: Path, names: Iterable[str] = WATCHED) -> Snapshot:
    """Inode, size and mtime of every watched file: any edit, even an atomic save, changes it."""
    found: Snapshot = {}
    for name in names:
        top = root / name
        for path in [top, *top.rglob("*")] if top.is_dir() else [top]:
            try:
                info = path.stat()
            except OSError:
                continue
            if not path.is_dir():
                found[path] = (info.st_ino, info.st_size, info.st_mtime_ns)
    return found


def watch(
    root: Path,
    *,
    rebuild: Callable[[], None],
    stopped: threading.Event,
    interval: float = INTERVAL,
    settle: float = SETTLE,
) -> None:
    """Call `rebuild` whenever the watched files change and then stay still for `settle` seconds,
    until `stopped` is set."""
    seen = snapshot(root)
    while not stopped.wait(interval):
        current = snapshot(root)
        if current == seen:
            continue
        while not stopped.wait(settle):
            latest = snapshot(root)
            if latest == current:
                break
            current = latest
        seen = current
        rebuild()

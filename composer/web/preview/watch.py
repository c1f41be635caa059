"""The preview's watcher: poll the project's files, wait for a change to settle, rebuild.

Polling needs no dependency and sees every kind of save (an editor that writes a new file and
renames it over the old one changes the inode). The watcher does nothing else, so a save is seen
at once even while the background checks are busy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from composer.content.layout import snapshot

INTERVAL = 0.15  # seconds between two looks at the files
SETTLE = 0.1  # how long the files must stay still before a rebuild (a save may take several writes)


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

"""One process at a time, on any operating system: a lock the OS drops if the process dies.

SQLite locks its files with fcntl on POSIX and LockFileEx on Windows. Holding an exclusive
transaction open on a small file of our own is therefore such a lock, with no POSIX-only import:
a second `composer send` (or `inbox`) is told at once, and a killed one leaves nothing stale.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class Busy(Exception):
    """Another process holds the lock."""


class ProcessLock:
    """An exclusive lock on `path` (created empty if missing) until `release` or the process ends."""

    def __init__(self, path: Path):
        self.path = path
        self._db: sqlite3.Connection | None = None

    def acquire(self) -> None:
        """Take the lock now or raise Busy; OSError when the file cannot be opened at all."""
        try:
            self.path.touch(exist_ok=True)
            db = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise OSError(f"cannot open the lock file {self.path}: {exc}") from exc
        try:
            db.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            db.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise Busy(str(self.path)) from None
            raise OSError(f"cannot lock {self.path}: {exc}") from exc
        self._db = db

    def release(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> ProcessLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

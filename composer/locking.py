"""One process at a time, on any operating system: a lock the OS drops if the process dies.

SQLite locks its files with fcntl on POSIX and LockFileEx on Windows. Holding an exclusive
transaction open on a small file of our own is therefore such a lock, with no POSIX-only import:
a second `composer send` (or `inbox`) is told at once, and a killed one leaves nothing stale.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from composer.errors import SendingError


class ProcessLock:
    """An exclusive lock on a file (created empty if missing) until `release` or the process ends."""

    def __init__(self, path: Path):
        self.path = path
        self._db: sqlite3.Connection | None = None

    def acquire(self, *, busy: str) -> None:
        """Take the lock now; SendingError(`busy`) when another process holds it, or naming the
        file when it cannot be opened or locked at all."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch(exist_ok=True)
            db = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise SendingError(f"cannot open the lock file {self.path}: {exc}") from exc
        try:
            db.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            db.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise SendingError(busy) from None
            raise SendingError(f"cannot lock {self.path}: {exc}") from exc
        self._db = db

    def release(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> ProcessLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold_lock(path: Path, *, busy: str) -> ProcessLock:
    """An exclusive lock on `path`.lock for one command at a time over a journal (send, inbox),
    held until released or the process dies, on any OS. SendingError(`busy`) when it is held."""
    lock = ProcessLock(path.parent / (path.name + ".lock"))
    lock.acquire(busy=busy)
    return lock

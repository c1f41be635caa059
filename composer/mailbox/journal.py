"""The inbox journal: which messages `composer inbox` has read, the soft bounces, and its runs.

SQLite beside the send journal. A message is known by its Message-ID (or a digest of its bytes
when it has none), so a rerun does nothing twice even for the messages it leaves in the inbox.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from composer.errors import ComposerError

INBOX_JOURNAL = "inbox.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS soft_bounce (
    email TEXT NOT NULL,
    issue INTEGER NOT NULL,
    key TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (email, issue)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS run (
    at REAL NOT NULL,
    counts TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class LastRun:
    """When `composer inbox` last ran for real, and how many messages of each kind it handled."""

    at: float
    counts: dict[str, int]


def journal_path(send_journal: Path) -> Path:
    """Beside the send journal, so one folder holds everything composer remembers."""
    return send_journal.parent / INBOX_JOURNAL


class InboxJournal:
    """One connection; every message's outcome is committed with its soft bounces, at once."""

    def __init__(self, path: Path):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path)  # DML opens a transaction; `with self._write()` ends it
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ComposerError(f"cannot open the inbox journal {path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def seen(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM seen WHERE key = ?", (key,)).fetchone() is not None

    def soft_bounces(self, email: str) -> set[int]:
        """The Updates whose copy to this address came back with a temporary failure."""
        rows = self._db.execute("SELECT issue FROM soft_bounce WHERE email = ?", (email.lower(),))
        return {issue for (issue,) in rows}

    def record(self, key: str, kind: str, summary: str, *, soft: Mapping[str, int] | None = None) -> None:
        """A message done with; `soft` maps each address it soft-bounced to its Update."""
        now = time.time()
        with self._write():
            self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?, ?, ?)", (key, kind, summary, now))
            self._db.executemany(
                "INSERT OR IGNORE INTO soft_bounce VALUES (?, ?, ?, ?)",
                ((email.lower(), issue, key, now) for email, issue in (soft or {}).items()),
            )

    def record_run(self, counts: Mapping[str, int]) -> None:
        with self._write():
            self._db.execute("INSERT INTO run VALUES (?, ?)", (time.time(), json.dumps(dict(counts))))

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One transaction: committed whole, or rolled back and reported."""
        try:
            with self._db:
                yield
        except sqlite3.Error as exc:
            raise ComposerError(f"cannot write the inbox journal {self.path}: {exc}") from exc


def last_run(path: Path) -> LastRun | None:
    """The latest real run, read without creating anything (for the preview's index)."""
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT at, counts FROM run ORDER BY at DESC LIMIT 1").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return LastRun(row[0], json.loads(row[1])) if row else None

"""The send journal: one SQLite row per issue, transport and person, so no rerun or crash sends twice.

A row is committed as `in_flight` before a message's DATA starts and as `sent` as soon as the
server accepts it. A row still `in_flight` after a crash, or after a server that never answered
the message's content, is the ambiguous case of RFC 1047 (the server may have taken the message
without our seeing its reply), so a rerun holds it. Each transport keeps its own rows: writing
the outbox is no reason to skip anyone when sending by SMTP.

WAL with synchronous=NORMAL: every commit survives the process being killed; only a power cut
of the sending machine could lose the last commits (checkpoints are synced).
"""

from __future__ import annotations

import fcntl
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from composer.errors import SendingError

State = Literal["pending", "in_flight", "sent", "deferred", "failed"]
STATES: tuple[State, ...] = ("pending", "in_flight", "sent", "deferred", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS delivery (
    issue INTEGER NOT NULL,
    transport TEXT NOT NULL,
    email TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'sent', 'deferred', 'failed')),
    edition TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    reply TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL,
    sent_at REAL,
    PRIMARY KEY (issue, transport, email)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS delivery_transport_sent_at ON delivery (transport, sent_at)
    WHERE sent_at IS NOT NULL;
"""


@dataclass(frozen=True)
class Entry:
    email: str
    state: State
    edition: str
    attempts: int
    reply: str


class Journal:
    """Where each person stands for each issue through one transport; addresses are kept lower-cased."""

    def __init__(self, path: Path, *, transport: str):
        self.path = path
        self.transport = transport
        self._lock: TextIO | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise SendingError(f"cannot open the send journal {path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()
        if self._lock is not None:
            self._lock.close()

    def lock(self) -> None:
        """Only one send at a time per journal; the OS drops the lock if the process dies."""
        self._lock = (self.path.parent / (self.path.name + ".lock")).open("a")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SendingError(
                f"another `composer send` is using {self.path}: wait for it to finish"
            ) from None

    def add_pending(self, issue: int, people: Iterable[tuple[str, str]]) -> None:
        """Record everyone this run means to send to (email, edition); existing rows are kept."""
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO delivery (issue, transport, email, state, edition, updated) "
                "VALUES (?, ?, ?, 'pending', ?, ?)",
                ((issue, self.transport, email.lower(), edition, now) for email, edition in people),
            )

    def begin(self, issue: int, email: str, *, edition: str, message_id: str) -> None:
        """Committed before DATA: from here on a crash leaves this person uncertain."""
        self._commit(
            "INSERT INTO delivery (issue, transport, email, state, edition, attempts, message_id, updated) "
            "VALUES (?, ?, ?, 'in_flight', ?, 1, ?, ?) ON CONFLICT (issue, transport, email) DO UPDATE SET "
            "state = 'in_flight', edition = excluded.edition, attempts = attempts + 1, "
            "message_id = excluded.message_id, updated = excluded.updated",
            (issue, self.transport, email.lower(), edition, message_id, time.time()),
        )

    def finish(self, issue: int, email: str, state: State, reply: str) -> None:
        """Record the outcome: the server's reply for `sent`, the last error otherwise.

        `in_flight` stays for a message whose content went out without an answer: uncertain.
        """
        now = time.time()
        self._commit(
            "UPDATE delivery SET state = ?, reply = ?, updated = ?, sent_at = ? "
            "WHERE issue = ? AND transport = ? AND email = ?",
            (state, reply, now, now if state == "sent" else None, issue, self.transport, email.lower()),
        )

    def _commit(self, sql: str, parameters: tuple[object, ...]) -> None:
        """One statement, committed on its own (the connection is in autocommit mode)."""
        try:
            self._db.execute(sql, parameters)
        except sqlite3.Error as exc:
            raise SendingError(f"cannot write the send journal {self.path}: {exc}") from exc

    def counts(self, issue: int) -> dict[State, int]:
        found = dict(
            self._db.execute(
                "SELECT state, COUNT(*) FROM delivery WHERE issue = ? AND transport = ? GROUP BY state",
                (issue, self.transport),
            ).fetchall()
        )
        return {state: found.get(state, 0) for state in STATES}

    def entries(self, issue: int, states: Iterable[State] = STATES) -> list[Entry]:
        wanted = list(states)
        rows = self._db.execute(
            f"SELECT email, state, edition, attempts, reply FROM delivery WHERE issue = ? AND transport = ? "
            f"AND state IN ({','.join('?' * len(wanted))}) ORDER BY email",
            (issue, self.transport, *wanted),
        )
        return [Entry(*row) for row in rows]

    def entry(self, issue: int, email: str) -> Entry | None:
        row = self._db.execute(
            "SELECT email, state, edition, attempts, reply FROM delivery "
            "WHERE issue = ? AND transport = ? AND email = ?",
            (issue, self.transport, email.lower()),
        ).fetchone()
        return Entry(*row) if row else None

    def sent_since(self, since: float) -> int:
        """Messages this transport had accepted since a time, across issues (for the daily limit)."""
        (count,) = self._db.execute(
            "SELECT COUNT(*) FROM delivery WHERE transport = ? AND sent_at >= ?", (self.transport, since)
        ).fetchone()
        return int(count)

    def sent_as(self, message_id: str) -> tuple[int, str] | None:
        """The issue and address a Message-ID of ours went to, through any transport (for bounces)."""
        row = self._db.execute(
            "SELECT issue, email FROM delivery WHERE message_id = ? LIMIT 1", (message_id,)
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def issues_sent(self, email: str) -> list[int]:
        """The issues this address was sent, through any transport, in order."""
        rows = self._db.execute(
            "SELECT DISTINCT issue FROM delivery WHERE email = ? AND state = 'sent' ORDER BY issue",
            (email.lower(),),
        )
        return [int(issue) for (issue,) in rows]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            yield
            self._db.execute("COMMIT")
        except BaseException as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise SendingError(f"cannot write the send journal {self.path}: {exc}") from exc
            raise

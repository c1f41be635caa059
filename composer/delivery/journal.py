"""The send journal: one SQLite row per issue, transport and person, so no rerun or crash sends twice.

A row is committed as `in_flight` before a message's DATA starts and as `sent` as soon as the
server accepts it. A row still `in_flight` after a crash, or after a server that never answered
the message's content, is the ambiguous case of RFC 1047 (the server may have taken the message
without our seeing its reply), so a rerun holds it. Each transport keeps its own rows: writing
the outbox is no reason to skip anyone when sending by SMTP.

The file carries its identity (SQLite's application_id and user_version) and passes SQLite's
quick_check before any send or dry run: an emptied, foreign or damaged file is refused with what
to do, never taken for a fresh start, since that would send everyone it recorded a second copy.

WAL with synchronous=NORMAL: every commit survives the process being killed; only a power cut
of the sending machine could lose the last commits (checkpoints are synced).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from composer.errors import SendingError
from composer.locking import ProcessLock, hold_lock

State = Literal["pending", "in_flight", "sent", "deferred", "failed"]
STATES: tuple[State, ...] = ("pending", "in_flight", "sent", "deferred", "failed")

APPLICATION_ID = 0x436D7073  # "Cmps" in the file's header: this file is a composer send journal
FORMAT = 1  # PRAGMA user_version: the layout of the tables below

_SCHEMA = (
    """CREATE TABLE delivery (
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
) WITHOUT ROWID""",
    """CREATE INDEX delivery_transport_sent_at ON delivery (transport, sent_at)
    WHERE sent_at IS NOT NULL""",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
)
_COLUMNS = {
    "delivery": "issue transport email state edition attempts reply message_id updated sent_at".split(),
    "meta": ["key", "value"],
}


@dataclass(frozen=True)
class Entry:
    """One person's row in the journal for an issue and transport."""

    email: str
    state: State
    edition: str
    attempts: int
    reply: str


class Journal:
    """Where each person stands for each issue through one transport; addresses are kept lower-cased.

    A new journal is made only where no file exists: a file that is empty, damaged or not a journal
    stops the send, since starting afresh would send a second copy to everyone it had recorded.
    """

    def __init__(self, path: Path, *, transport: str):
        self.path = path
        self.transport = transport
        self._lock: ProcessLock | None = None
        wal = path.with_name(path.name + "-wal")
        if not path.exists() and wal.exists():
            raise self._unusable(f"is missing but its write-ahead log {wal} remains")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                self._create()
            self._db = sqlite3.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise SendingError(f"cannot open the send journal {path}: {exc}") from exc
        try:
            self._verify()
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            self._db.close()
            raise self._unusable(f"is damaged ({exc})") from exc
        except SendingError:
            self._db.close()
            raise

    def _create(self) -> None:
        """Build the journal beside its place, then link it in: never a half-made file at `path`."""
        building = self.path.with_name(f"{self.path.name}.new-{os.getpid()}")
        building.unlink(missing_ok=True)
        try:
            db = sqlite3.connect(building, isolation_level=None)
            try:
                db.execute("BEGIN")
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute("INSERT INTO meta VALUES ('created', ?)", (time.strftime("%Y-%m-%d %H:%M:%S"),))
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(f"PRAGMA user_version = {FORMAT}")
                db.execute("COMMIT")
            finally:
                db.close()
            with suppress(FileExistsError):  # another send made it meanwhile: checked like any other
                os.link(building, self.path)
        finally:
            building.unlink(missing_ok=True)

    def _verify(self) -> None:
        """Refuse a file that is not an intact journal of this format (SQLite's quick_check)."""
        (application_id,) = self._db.execute("PRAGMA application_id").fetchone()
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        tables = {
            name: [column for _, column, *_ in self._db.execute(f"PRAGMA table_info({name})")]
            for (name,) in self._db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
        }
        if application_id == version == 0 and tables == {"delivery": _COLUMNS["delivery"]}:
            self._adopt()
            return self._verify()
        if not tables and application_id == 0:
            size = self.path.stat().st_size
            raise self._unusable(f"is empty ({size} bytes, no tables)")
        if application_id != APPLICATION_ID:
            raise self._unusable(f"is not a composer send journal (application id {application_id})")
        if version > FORMAT:
            raise self._unusable(f"was written by a newer composer (format {version}): upgrade composer")
        if version != FORMAT or tables != _COLUMNS:
            raise self._unusable(
                f"does not have the tables of a send journal of format {FORMAT} "
                f"(format {version}, tables {', '.join(sorted(tables)) or 'none'})"
            )
        (verdict,) = self._db.execute("PRAGMA quick_check(1)").fetchone()
        if verdict != "ok":
            raise self._unusable(f"is damaged ({' '.join(verdict.split())})")

    def _adopt(self) -> None:
        """A journal from before the header marks (its one table intact): mark it as this format."""
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute(_SCHEMA[2])
        self._db.execute("INSERT INTO meta VALUES ('created', 'before format 1')")
        self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        self._db.execute(f"PRAGMA user_version = {FORMAT}")
        self._db.execute("COMMIT")

    def _unusable(self, what: str) -> SendingError:
        return SendingError(
            f"the send journal {self.path} {what}. The journal is the only record of who has been "
            "sent each issue, so nothing was sent. Restore it from a backup; only if you are sure "
            f"it recorded no send, move it aside (mv {self.path} {self.path}.broken) and "
            "`composer send` starts a new one."
        )

    def close(self) -> None:
        self._db.close()
        if self._lock is not None:
            self._lock.release()

    def lock(self) -> None:
        """Only one send at a time per journal; the OS drops the lock if the process dies."""
        self._lock = hold_lock(
            self.path, busy=f"another `composer send` is using {self.path}: wait for it to finish"
        )

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
            raise self._failed("write", exc) from exc

    def _read(self, sql: str, parameters: tuple[object, ...]) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            raise self._failed("read", exc) from exc

    def _failed(self, action: str, exc: sqlite3.Error) -> SendingError:
        return SendingError(
            f"cannot {action} the send journal {self.path}: {exc}. Stopped there; if it is damaged, "
            "restore it from a backup before sending again"
        )

    def counts(self, issue: int) -> dict[State, int]:
        found = dict(
            self._read(
                "SELECT state, COUNT(*) FROM delivery WHERE issue = ? AND transport = ? GROUP BY state",
                (issue, self.transport),
            )
        )
        return {state: found.get(state, 0) for state in STATES}

    def entries(self, issue: int, states: Iterable[State] = STATES) -> list[Entry]:
        wanted = list(states)
        rows = self._read(
            f"SELECT email, state, edition, attempts, reply FROM delivery WHERE issue = ? AND transport = ? "
            f"AND state IN ({','.join('?' * len(wanted))}) ORDER BY email",
            (issue, self.transport, *wanted),
        )
        return [Entry(*row) for row in rows]

    def states(self, issue: int) -> dict[str, tuple[State, str]]:
        """Everyone the journal knows for this issue (lowercased address: state and last reply), in
        one query rather than one a person."""
        rows = self._read(
            "SELECT email, state, reply FROM delivery WHERE issue = ? AND transport = ?",
            (issue, self.transport),
        )
        return {email: (state, reply) for email, state, reply in rows}

    def sent_since(self, since: float) -> int:
        """Messages this transport had accepted since a time, across issues (for the daily limit)."""
        [(count,)] = self._read(
            "SELECT COUNT(*) FROM delivery WHERE transport = ? AND sent_at >= ?", (self.transport, since)
        )
        return int(count)

    def sent_as(self, message_id: str) -> tuple[int, str] | None:
        """The issue and address a Message-ID of ours went to, through any transport (for bounces)."""
        rows = self._read("SELECT issue, email FROM delivery WHERE message_id = ? LIMIT 1", (message_id,))
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def issues_sent(self, email: str) -> list[int]:
        """The issues this address was sent, through any transport, in order."""
        rows = self._read(
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
                with suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._failed("write", exc) from exc
            raise

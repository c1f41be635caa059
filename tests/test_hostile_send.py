"""Hostile and broken conditions around a send: a journal emptied, replaced or damaged, dead
addresses in a row, long backoffs, a login the server does not offer. Each runs the real command
against aiosmtpd on 127.0.0.1 and checks: exit status, the message, no traceback, nothing sent
twice, nothing written."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Cli, set_sending, write_members
from smtp_server import Recorder
from test_sending import SMALL, SMALL_ADDRESSES, received_once

from composer.content.settings import Sending, Smtp
from composer.delivery.engine import MAX_RETRY_DELAY, Delivered, Delivery, Outgoing, backoff
from composer.delivery.journal import APPLICATION_ID, FORMAT, Journal
from composer.delivery.transport import SmtpTransport
from composer.errors import SendingError

JOURNAL = Path(".composer") / "journal.sqlite"


@pytest.fixture
def small(fast: Path) -> Path:
    """Six members, as in test_sending: few enough to follow each one."""
    write_members(fast, *SMALL)
    return fast


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of the journal's folder and its bytes: to show a refused send wrote nothing."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def partial_send(project: Path, env: dict[str, str], run_cli: Cli) -> bytes:
    """Send to one network's members only (the others still pending); the journal's bytes after."""
    first = run_cli(project, "send", "--yes", "--network", "dcs", env=env)
    assert first.returncode == 0, first.stderr
    return (project / JOURNAL).read_bytes()


def emptied(path: Path) -> None:
    path.write_bytes(b"")


def foreign(path: Path) -> None:
    path.unlink()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.commit()
    db.close()


def newer(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()


def tables_dropped(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("DROP TABLE delivery")
    db.close()


def damaged(path: Path) -> None:
    """8 KB of random bytes at offset 4096, past the header: what a bad disk or a stray write does."""
    data = bytearray(path.read_bytes())
    noise = random.Random(9).randbytes(8192)
    data[4096 : 4096 + len(noise)] = noise
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("spoil", "said"),
    [
        (emptied, "is empty (0 bytes, no tables)"),
        (foreign, "is not a composer send journal"),
        (newer, "was written by a newer composer (format 99)"),
        (tables_dropped, "does not have the tables of a send journal"),
        (damaged, "is damaged"),
    ],
    ids=["emptied", "foreign", "newer", "tables-dropped", "damaged"],
)
def test_a_spoilt_journal_stops_the_send_and_the_restored_one_sends_nobody_twice(
    fast: Path,
    smtp_server,
    send_env,
    spoil: Callable[[Path], None],
    said: str,
    run_cli: Cli,
) -> None:  # type: ignore[no-untyped-def]
    """An emptied journal once sent everyone a second copy; now only a missing file starts afresh."""
    recorder: Recorder = smtp_server.recorder
    backup = partial_send(fast, send_env, run_cli)
    first = len(recorder.received)
    assert 0 < first and len(backup) > 4096 + 8192
    spoil(fast / JOURNAL)
    before = snapshot(fast / ".composer")

    for args in (["--yes"], ["--dry-run"], ["--yes", "--resend-uncertain"]):
        result = run_cli(fast, "send", *args, env=send_env)
        assert result.returncode == 1, (args, result.stdout)
        assert f"the send journal {fast / JOURNAL} {said}" in result.stderr
        assert "nothing was sent" in result.stderr and f"mv {fast / JOURNAL}" in result.stderr
        assert len(recorder.received) == first and snapshot(fast / ".composer") == before

    (fast / JOURNAL).write_bytes(backup)
    rerun = run_cli(fast, "send", "--yes", env=send_env)
    assert rerun.returncode == 0, rerun.stderr
    assert f"already sent before {first}" in rerun.stdout
    received_once(recorder)  # nobody twice
    assert len(recorder.received) > first


def test_only_a_missing_journal_is_made_afresh(fast: Path, smtp_server, send_env, run_cli: Cli) -> None:  # type: ignore[no-untyped-def]
    """Moving the file aside (the documented way out) starts a new journal, with its identity."""
    partial_send(fast, send_env, run_cli)
    damaged(fast / JOURNAL)
    (fast / JOURNAL).rename(fast / ".composer" / "journal.sqlite.broken")
    assert run_cli(fast, "send", "--dry-run", env=send_env).returncode == 0
    assert not (fast / JOURNAL).exists()  # a dry run writes nothing
    assert run_cli(fast, "send", "--yes", env=send_env).returncode == 0
    db = sqlite3.connect(fast / JOURNAL)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA user_version").fetchone()[0] == FORMAT
    db.close()
    assert not [p for p in (fast / ".composer").iterdir() if ".new-" in p.name]


def test_a_journal_from_before_the_identity_mark_is_adopted(tmp_path: Path) -> None:
    """A journal written by the previous format (its table intact, no header mark) is kept, not refused."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, transport="smtp")
    journal.begin(377, "ann@kent.example", edition="dcs", message_id="<1@x>")
    journal.finish(377, "ann@kent.example", "sent", "250 OK")
    journal.close()
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE meta; PRAGMA application_id = 0; PRAGMA user_version = 0;")
    db.close()
    again = Journal(path, transport="smtp")
    assert again.counts(377)["sent"] == 1
    again.close()


def test_a_journal_spoilt_while_open_fails_every_access_cleanly(tmp_path: Path) -> None:
    """Reads and writes after the opening check turn SQLite's errors into one naming the file."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, transport="smtp")
    journal.add_pending(377, [(f"member{n}@kent.example", "full") for n in range(40)])
    other = sqlite3.connect(path)
    other.execute("DROP TABLE delivery")  # another program at work on the file mid-send
    other.commit()
    other.close()
    calls: list[Callable[[], object]] = [
        lambda: journal.counts(377),
        lambda: journal.entries(377),
        lambda: journal.states(377),
        lambda: journal.sent_since(0),
        lambda: journal.add_pending(377, [("new@kent.example", "full")]),
        lambda: journal.begin(377, "member9@kent.example", edition="full", message_id="<9@x>"),
        lambda: journal.finish(377, "member9@kent.example", "sent", "250 OK"),
    ]
    for call in calls:
        with pytest.raises(SendingError, match=f"the send journal {path}"):
            call()
    journal.close()


def test_refused_recipients_are_their_own_result_and_never_pause_the_send(
    small: Path,
    smtp_server,
    send_env,
    run_cli: Cli,
) -> None:  # type: ignore[no-untyped-def]
    """Dead addresses in a row (550) or a mailbox busy (451 to RCPT) say nothing about the server."""
    set_sending(small, pause_after=3, retries=1, smtp={"connections": 1})
    recorder: Recorder = smtp_server.recorder
    for address in ("bob@kent.example", "cat@kent.example", "dan@kent.example"):
        recorder.always[f"RCPT:{address}"] = "550 5.1.1 no such user"
    recorder.always["RCPT:eve@kent.example"] = "451 4.2.1 mailbox busy"

    result = run_cli(small, "send", "--yes", env=send_env)

    assert result.returncode == 1  # some failed: not a success
    assert "Stopped" not in result.stdout and "paused" not in result.stdout + result.stderr
    assert "Sent 2; already sent before 0; deferred 1; failed 3; uncertain 0;" in result.stdout
    assert "bob@kent.example: 550 5.1.1 no such user" in result.stdout
    assert set(received_once(recorder)) == {"ann@kent.example", "fay@kent.example"}

    recorder.always.clear()
    recorder.always["MAIL"] = "421 4.7.0 account temporarily locked"  # the server itself: a pause
    set_sending(small, retries=5)
    paused = run_cli(small, "send", "--yes", env=send_env)
    assert paused.returncode == 1 and "Stopped: paused: the last 3 attempts all failed" in paused.stdout
    assert len(recorder.received) == 2


def test_a_retry_lets_the_connection_go_while_it_waits(
    small: Path, smtp_server, send_env, run_cli: Cli
) -> None:  # type: ignore[no-untyped-def]
    set_sending(small, retry_delay=0.3, smtp={"connections": 1})
    recorder: Recorder = smtp_server.recorder
    recorder.fault("MAIL", "451 4.3.0 try again later")

    result = run_cli(small, "send", "--yes", env=send_env)

    assert result.returncode == 0, result.stdout
    assert set(received_once(recorder)) == SMALL_ADDRESSES
    mails = [i for i, (command, _) in enumerate(recorder.seen) if command == "MAIL"]
    assert len(mails) == len(SMALL) + 1
    first, *rest = recorder.peers
    assert first not in rest  # the refused try's connection was closed, not kept through the wait
    assert len(set(rest)) == 1  # and the new one served everyone after


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    assert [backoff(n, base=5, cap=300, draw=lambda: 1.0) for n in (1, 2, 3, 7, 8, 20)] == [
        5,
        10,
        20,
        300,
        300,
        300,
    ]
    assert backoff(20, base=5, cap=300, draw=lambda: 0.0) == 150
    drawn = {backoff(3, base=5, cap=MAX_RETRY_DELAY) for _ in range(50)}
    assert len(drawn) > 1 and all(10 <= d <= 20 for d in drawn)
    assert MAX_RETRY_DELAY == 300


def test_retries_wait_no_longer_than_the_cap(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    """Four retries doubling from 0.4 s would wait 0.2 to 3.2 s each; capped at 0.2 s, none waits
    longer. The engine's clock is replaced, so every wait is seen and none is spent."""
    smtp_server.recorder.always["RCPT:ann@kent.example"] = "451 4.2.1 mailbox busy"
    sending = Sending(
        list_id="update.example.org",
        unsubscribe_url="https://example.org/unsubscribe",  # type: ignore[arg-type]
        retries=4,
        retry_delay=0.4,
        smtp=Smtp(host="127.0.0.1", port=smtp_server.port, security="none"),
    )
    waits: list[float] = []

    async def wait(stopping: asyncio.Event, seconds: float) -> None:
        waits.append(seconds)

    journal = Journal(tmp_path / "journal.sqlite", transport="smtp")
    report = Delivered()
    delivery = Delivery(
        SmtpTransport(sending.smtp, env={}),
        journal,
        issue=377,
        sender="office@example.org",
        sending=sending,
        per_minute=None,
        per_day=None,
        total=1,
        report=report,
        max_delay=0.2,
        wait=wait,
    )
    delivery.run(iter([Outgoing("ann@kent.example", "full", "<1@x>", b"Subject: hi\r\n\r\nhello\r\n")]))
    journal.close()
    assert [o.email for o in report.deferred] == ["ann@kent.example"] and report.stopped is None
    assert smtp_server.recorder.seen.count(("RCPT", "ann@kent.example")) == 5
    assert len(waits) == 4 and all(0.1 <= seconds <= 0.2 for seconds in waits), waits


def test_a_login_the_server_does_not_offer_is_named_as_such(
    small: Path, smtp_server, send_env, run_cli: Cli
) -> None:  # type: ignore[no-untyped-def]
    env = {**send_env, "COMPOSER_SMTP_USERNAME": "office", "COMPOSER_SMTP_PASSWORD": "secret"}
    result = run_cli(small, "send", "--yes", env=env)
    assert result.returncode == 1
    assert f"127.0.0.1:{smtp_server.port} offers no login (its EHLO reply lists no AUTH)" in result.stderr
    assert "username office is set" in result.stderr and "STARTTLS" not in result.stderr
    assert smtp_server.recorder.seen == [] and smtp_server.recorder.received == []
    assert set(journal_states(small)) <= {"pending"}  # nobody sent, nobody left uncertain


def journal_states(project: Path) -> dict[str, int]:
    journal = Journal(project / JOURNAL, transport="smtp")
    try:
        return {state: count for state, count in journal.counts(377).items() if count}
    finally:
        journal.close()

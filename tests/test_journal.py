"""The send journal: states per issue and person, committed as they change, one sender at a time."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from composer.delivery.journal import Entry, Journal
from composer.errors import SendingError


def entry(journal: Journal, issue: int, email: str) -> Entry | None:
    return next((e for e in journal.entries(issue) if e.email == email.lower()), None)


def test_states_move_from_pending_to_sent(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j" / "journal.sqlite", transport="smtp")
    journal.add_pending(374, [("Ann@kent.example", "dcs"), ("bob@kent.example", "send")])
    journal.add_pending(374, [("ann@kent.example", "dcs")])
    assert journal.counts(374) == {"pending": 2, "in_flight": 0, "sent": 0, "deferred": 0, "failed": 0}
    journal.begin(374, "ann@kent.example", edition="dcs", message_id="<1@x>")
    assert entry(journal, 374, "ANN@kent.example").state == "in_flight"  # type: ignore[union-attr]
    assert journal.states(374) == {"ann@kent.example": ("in_flight", ""), "bob@kent.example": ("pending", "")}
    journal.finish(374, "ann@kent.example", "sent", "250 OK queued")
    journal.begin(374, "bob@kent.example", edition="send", message_id="<2@x>")
    journal.finish(374, "bob@kent.example", "deferred", "451 try later")
    journal.begin(374, "bob@kent.example", edition="send", message_id="<2@x>")
    journal.finish(374, "bob@kent.example", "failed", "550 no such user")
    bob = entry(journal, 374, "bob@kent.example")
    assert bob is not None and (bob.state, bob.attempts, bob.reply) == ("failed", 2, "550 no such user")
    assert journal.counts(375)["sent"] == 0 and entry(journal, 375, "ann@kent.example") is None
    assert [e.email for e in journal.entries(374, ["sent"])] == ["ann@kent.example"]
    assert journal.sent_since(time.time() - 60) == 1 and journal.sent_since(time.time() + 60) == 0
    journal.close()


def test_each_transport_keeps_its_own_rows_and_daily_count(tmp_path: Path) -> None:
    """Writing the outbox is no reason to skip anyone by SMTP, nor does it use the SMTP day's quota."""
    path = tmp_path / "journal.sqlite"
    outbox, smtp = Journal(path, transport="outbox"), Journal(path, transport="smtp")
    outbox.add_pending(374, [("ann@kent.example", "dcs")])
    outbox.begin(374, "ann@kent.example", edition="dcs", message_id="<1@x>")
    outbox.finish(374, "ann@kent.example", "sent", "written to outbox/374/ann@kent.example.eml")
    assert entry(outbox, 374, "ann@kent.example") is not None and outbox.sent_since(0) == 1
    assert entry(smtp, 374, "ann@kent.example") is None and smtp.sent_since(0) == 0
    assert smtp.counts(374)["sent"] == 0 and smtp.entries(374) == []
    smtp.begin(374, "ann@kent.example", edition="dcs", message_id="<1@x>")
    smtp.finish(374, "ann@kent.example", "deferred", "451 later")
    assert entry(outbox, 374, "ann@kent.example").state == "sent"  # type: ignore[union-attr]
    outbox.close()
    smtp.close()


def test_every_change_is_committed_at_once(tmp_path: Path) -> None:
    """Another connection (as after a crash) sees each state as soon as it is written."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, transport="smtp")
    journal.begin(374, "ann@kent.example", edition="dcs", message_id="<1@x>")
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT state FROM delivery").fetchall() == [("in_flight",)]
    journal.finish(374, "ann@kent.example", "sent", "250 OK")
    assert reader.execute("SELECT state, reply FROM delivery").fetchall() == [("sent", "250 OK")]
    reader.close()
    journal.close()


def test_a_killed_writer_leaves_its_last_commit(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from composer.delivery.journal import Journal\n"
        f"j = Journal(Path({str(path)!r}), transport='smtp')\n"
        "j.begin(374, 'ann@kent.example', edition='dcs', message_id='<1@x>')\n"
        "j.finish(374, 'ann@kent.example', 'sent', '250 OK')\n"
        "j.begin(374, 'bob@kent.example', edition='dcs', message_id='<2@x>')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], check=False)
    assert result.returncode == -9
    journal = Journal(path, transport="smtp")
    assert journal.counts(374)["sent"] == 1 and journal.counts(374)["in_flight"] == 1
    journal.close()


def test_only_one_send_at_a_time(tmp_path: Path) -> None:
    first, second = (Journal(tmp_path / "journal.sqlite", transport=t) for t in ("smtp", "outbox"))
    first.lock()
    with pytest.raises(SendingError, match="another `composer send`"):
        second.lock()
    first.close()
    second.lock()
    second.close()


def test_an_unwritable_journal_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(SendingError, match="cannot open the send journal"):
        Journal(tmp_path / "file" / "journal.sqlite", transport="smtp")

"""The messages of a send edition by edition (composer/delivery/pipeline.py): an edition that cannot
be made stops the send cleanly, with everyone not sent recorded as pending for the next run and
nobody sent twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_members
from test_sending import SMALL, SMALL_ADDRESSES, journal_counts, received_once

from composer.commands.send import send
from composer.delivery.context import SendContext
from composer.email.editions import FULL, EditionKey
from composer.errors import SendingError


@pytest.fixture
def small(fast: Path) -> Path:
    write_members(fast, *SMALL)
    return fast


def test_an_edition_that_cannot_be_made_stops_the_send_and_keeps_the_rest_pending(  # type: ignore[no-untyped-def]
    small: Path, smtp_server, send_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded = SendContext.encoded

    def failing(self: SendContext, key: EditionKey, *, tag: str = "") -> object:
        if key is not FULL and "send" in key:
            raise SendingError("edition send cannot be sent: too big")
        return encoded(self, key, tag=tag)

    monkeypatch.setattr(SendContext, "encoded", failing)
    report = send(small, env=send_env)
    assert report.stopped == "edition send cannot be sent: too big" and not report.ok
    sent = set(received_once(smtp_server.recorder))
    assert sent <= {"ann@kent.example", "eve@kent.example"}  # at most the edition before, dcs
    assert (report.sent, report.not_attempted) == (len(sent), len(SMALL) - len(sent))
    counts = journal_counts(small)
    assert (counts["sent"], counts["pending"], counts["in_flight"]) == (len(sent), len(SMALL) - len(sent), 0)

    monkeypatch.undo()
    rest = send(small, env=send_env)
    assert (rest.sent, rest.plan.already_sent, rest.ok) == (len(SMALL) - len(sent), len(sent), True)
    assert set(received_once(smtp_server.recorder)) == SMALL_ADDRESSES

"""Messages made ahead in a worker process (composer/delivery/pipeline.py): what the worker cannot
make stops the send cleanly, with everyone not sent kept for the next run and nobody sent twice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import write_members
from test_sending import SMALL, SMALL_ADDRESSES, journal_counts, received_once

from composer.delivery.context import SendContext
from composer.delivery.sending import send_issue
from composer.email.editions import FULL, EditionKey
from composer.errors import SendingError


@pytest.fixture
def small(fast: Path) -> Path:
    write_members(fast, *SMALL)
    return fast


def failing_for(monkeypatch: pytest.MonkeyPatch, network: str, failure: BaseException | None) -> None:
    """Make the editions of readers in `network` fail in the worker (it inherits the patch):
    raise `failure`, or (None) end the worker process outright."""
    encoded = SendContext.encoded

    def patched(self: SendContext, key: EditionKey, *, tag: str = "") -> object:
        if key is not FULL and network in key:
            if failure is None:
                os._exit(3)
            raise failure
        return encoded(self, key, tag=tag)

    monkeypatch.setattr(SendContext, "encoded", patched)


@pytest.mark.parametrize(
    ("failure", "said"),
    [
        (SendingError("edition send cannot be sent: too big"), "edition send cannot be sent: too big"),
        (None, "the process making the messages stopped unexpectedly"),
    ],
)
def test_an_edition_the_worker_cannot_make_stops_the_send_and_keeps_the_rest(  # type: ignore[no-untyped-def]
    small: Path,
    smtp_server,
    send_env,
    monkeypatch: pytest.MonkeyPatch,
    failure: BaseException | None,
    said: str,
) -> None:
    failing_for(monkeypatch, "send", failure)
    report = send_issue(small, env=send_env)
    assert report.stopped is not None and said in report.stopped and not report.ok
    received = set(received_once(smtp_server.recorder))
    assert received == {"ann@kent.example", "eve@kent.example"}  # the first edition, before the failing one
    assert (report.sent, report.not_attempted) == (2, len(SMALL) - 2)
    counts = journal_counts(small)
    assert (counts["sent"], counts["pending"], counts["in_flight"]) == (2, len(SMALL) - 2, 0)

    monkeypatch.undo()
    rest = send_issue(small, env=send_env)
    assert (rest.sent, rest.plan.already_sent, rest.ok) == (len(SMALL) - 2, 2, True)
    assert set(received_once(smtp_server.recorder)) == SMALL_ADDRESSES

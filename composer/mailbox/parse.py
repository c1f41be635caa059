"""Reading one message's bytes into a Message with caps on its parts and nesting, checked as each
part is met, so a hostile message is refused before the rest of it is parsed.

The standard library's parser recurses once per level (1,000 nested multiparts end in
RecursionError) and keeps every part in memory (1,000,000 empty parts, 10 MB, took 1.76 GB at
50 MB); here the part that passes a cap stops the parse. The blocks of a delivery report (one per
recipient) have their own, larger cap: a report may name thousands of recipients.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.feedparser import BytesFeedParser
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import Policy, compat32

MAX_PARTS = 1_000
MAX_DEPTH = 32
MAX_REPORT_BLOCKS = 50_000
HEAD_BYTES = 64 * 1024  # what is read of a message too large to read whole: enough for its headers
_CHUNK = 64 * 1024


class Unreadable(Exception):
    """A message that cannot be read (too large, too many parts, too deep, not a message): the
    reason is recorded in the inbox journal and the message left where it is."""


@dataclass
class _Budget:
    parts: int = 0
    blocks: int = 0


class _Capped(Message):
    """A Message that counts the parts attached under it (the parser attaches each part as it
    meets its start) and refuses the one past a cap."""

    def __init__(self, budget: _Budget, policy: Policy = compat32):
        super().__init__(policy)
        self._budget, self._depth = budget, 0

    def attach(self, payload: Message) -> None:  # type: ignore[override]
        if isinstance(payload, _Capped):
            if self.get_content_type() == "message/delivery-status":
                self._budget.blocks += 1
                if self._budget.blocks > MAX_REPORT_BLOCKS:
                    raise Unreadable(f"a delivery report of more than {MAX_REPORT_BLOCKS:,} recipients")
            else:
                self._budget.parts += 1
                if self._budget.parts > MAX_PARTS:
                    raise Unreadable(f"more than {MAX_PARTS:,} parts")
            payload._depth = self._depth + 1
            if payload._depth > MAX_DEPTH:
                raise Unreadable(f"nested more than {MAX_DEPTH} deep")
        super().attach(payload)


def parse_message(data: bytes) -> Message:
    """The message, fed to the parser in chunks so that a cap stops it early; Unreadable if a cap
    is passed or the bytes have no header lines at all (random bytes, a file that is no message)."""
    budget = _Budget()

    def factory(policy: Policy = compat32) -> Message:
        return _Capped(budget, policy)

    parser = BytesFeedParser(factory)
    for start in range(0, len(data), _CHUNK):
        parser.feed(data[start : start + _CHUNK])
    message = parser.close()
    if not message.keys():
        raise Unreadable("not an email message: it has no header lines")
    return message


def message_key(data: bytes) -> str:
    """A message's identity across runs: its Message-ID, or a digest of its bytes without one.

    Read from the headers alone, so an unreadable or oversized message is known again next run.
    """
    headers = BytesHeaderParser().parsebytes(data[:HEAD_BYTES])
    value = " ".join(str(headers.get("message-id", "")).split())
    return value or "sha256:" + hashlib.sha256(data).hexdigest()

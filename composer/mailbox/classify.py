"""What one message in the programme's mailbox is: an unsubscribe request, a bounce, or neither.

Bounces are detected by Mailman's flufl.bounce (RFC 3464 reports and the non-standard forms of
Exim, Postfix, Exchange and others); this module only reads the status code and the line that
shows it, so a person can see why they were suppressed. Holiday replies are never bounces: a
message that says it was sent automatically and is no delivery report is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.iterators import typed_subpart_iterator
from email.message import Message
from email.utils import parseaddr
from typing import Literal

from flufl.bounce import all_failures

from composer.delivery.messages import OUR_MESSAGE_ID
from composer.delivery.tokens import Unsubscribe, verify_token
from composer.errors import TokenError

Kind = Literal["unsubscribe", "bounce", "soft-bounce", "ignored"]
KINDS: tuple[Kind, ...] = ("unsubscribe", "bounce", "soft-bounce", "ignored")

_TOKEN = re.compile(r"[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{22}(?![A-Za-z0-9_-])")
_NETWORK = re.compile(r"(?<![\w-])network=([a-z0-9_-]+)", re.IGNORECASE)
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_OUT_OF_OFFICE = re.compile(
    r"out of (the )?office|automatic reply|auto[- ]?reply|autoreply|away from|on (annual )?leave|"
    r"vacation|abwesenheit|absence|abwesend|r[ée]ponse automatique",
    re.IGNORECASE,
)
_DAEMON = re.compile(r"mailer-daemon|postmaster", re.IGNORECASE)
_EVIDENCE_LENGTH = 200


@dataclass(frozen=True)
class Failure:
    """One recipient a delivery report gives up on (or will retry), with the line that says so."""

    address: str
    status: str
    permanent: bool
    evidence: str


@dataclass(frozen=True)
class Finding:
    """The verdict on one message, before anyone is looked up on the lists."""

    kind: Kind
    summary: str
    request: Unsubscribe | None = None
    failures: tuple[Failure, ...] = ()
    message_ids: tuple[str, ...] = ()


def classify(message: Message, *, key: bytes) -> Finding:
    """Decide what a message is; `key` verifies unsubscribe tokens."""
    subject = header_text(message, "subject")
    if is_auto_reply(message, subject) and not _looks_like_report(message):
        return Finding("ignored", "an automatic reply (out of office, vacation)")
    failures = _failures(message)
    if failures:
        permanent = [f for f in failures if f.permanent]
        kind: Kind = "bounce" if permanent else "soft-bounce"
        shown = permanent or failures
        summary = "; ".join(f"{f.address}: {f.status}" for f in shown)
        return Finding(kind, summary, failures=tuple(shown), message_ids=_our_message_ids(message))
    if "unsubscribe" in subject.lower():
        return _unsubscribe(subject, key)
    return Finding("ignored", "neither a bounce nor an unsubscribe request")


def header_text(message: Message, name: str) -> str:
    """A header as one line of text, its encoded-words (RFC 2047) decoded."""
    raw = message.get(name)
    if raw is None:
        return ""
    try:
        text = str(make_header(decode_header(str(raw))))
    except (HeaderParseError, LookupError, UnicodeDecodeError):
        text = str(raw)
    return " ".join(text.split())


def is_auto_reply(message: Message, subject: str) -> bool:
    """RFC 3834's Auto-Submitted, the older X-Autoreply and Precedence, or an out-of-office subject."""
    submitted = str(message.get("auto-submitted", "no")).strip().lower()
    precedence = str(message.get("precedence", "")).strip().lower()
    return (
        submitted != "no"
        or message.get("x-autoreply") is not None
        or message.get("x-autorespond") is not None
        or precedence in ("auto_reply", "junk", "bulk")
        or bool(_OUT_OF_OFFICE.search(subject))
    )


def _looks_like_report(message: Message) -> bool:
    """Delivery reports carry Auto-Submitted too (RFC 3834 asks them to): tell them apart."""
    return (
        message.get_content_type() == "multipart/report"
        or message.get("x-failed-recipients") is not None
        or bool(_DAEMON.search(parseaddr(str(message.get("from", "")))[1]))
    )


def _unsubscribe(subject: str, key: bytes) -> Finding:
    candidates = _TOKEN.findall(subject)
    if not candidates:
        return Finding("ignored", "asks to unsubscribe but carries no token: handle it by hand")
    for candidate in candidates:
        try:
            request = verify_token(candidate, key=key)
        except TokenError:
            continue
        named = _NETWORK.search(subject)  # the footer's per-network links name it beside the token
        if named and request.network is None:
            request = Unsubscribe(request.email, named[1].lower())
        scope = f"network {request.network}" if request.network else "every network"
        return Finding("unsubscribe", f"{request.email} from {scope}", request=request)
    return Finding("ignored", "an unsubscribe request whose token is not valid (forged or damaged)")


def _failures(message: Message) -> tuple[Failure, ...]:
    temporary, permanent = all_failures(message)
    found = []
    for raw, is_permanent in [*((a, False) for a in temporary), *((a, True) for a in permanent)]:
        address = raw.decode("ascii", "replace").strip().strip("<>")
        status, evidence = _status(message, address, permanent=is_permanent)
        # X.2.2 (mailbox full) is persistent but transient (RFC 3463), whatever class it came in.
        soft = status.startswith("4.") or status.endswith(".2.2")
        found.append(Failure(address, status, is_permanent and not soft, evidence))
    return tuple(sorted(found, key=lambda f: f.address.lower()))


def _status(message: Message, address: str, *, permanent: bool) -> tuple[str, str]:
    """The enhanced status code for an address, and the line of the report it was read from."""
    for block in _delivery_status_blocks(message):
        recipients = str(block.get("final-recipient", "")) + " " + str(block.get("original-recipient", ""))
        if address.lower() not in recipients.lower():
            continue
        status = str(block.get("status", "")).strip()
        diagnostic = " ".join(str(block.get("diagnostic-code", "")).split())
        line = f"Diagnostic-Code: {diagnostic}" if diagnostic else f"Status: {status}"
        if _STATUS.fullmatch(status):
            return status, line[:_EVIDENCE_LENGTH]
    lines = [line.strip() for line in _report_lines(message) if line.strip()]
    with_code = [line for line in lines if _STATUS.search(line)]
    mentioning = [line for line in with_code if address.lower() in line.lower()]
    for line in mentioning + with_code:
        return _STATUS.search(line).group(0), line[:_EVIDENCE_LENGTH]  # type: ignore[union-attr]
    about = next((line for line in lines if address.lower() in line.lower()), "")
    return ("5.0.0" if permanent else "4.0.0"), about[:_EVIDENCE_LENGTH]


def _delivery_status_blocks(message: Message) -> Iterator[Message]:
    for part in typed_subpart_iterator(message, "message", "delivery-status"):
        payload = part.get_payload()  # type: ignore[attr-defined]
        if isinstance(payload, list):
            yield from (block for block in payload if isinstance(block, Message))


def _report_lines(message: Message) -> Iterator[str]:
    """The text of the report itself, not of the returned message it may attach."""
    parts = [message]
    while parts:
        part = parts.pop(0)
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            continue
        if part.is_multipart():
            parts[:0] = [child for child in part.get_payload() if isinstance(child, Message)]
        elif part.get_content_maintype() == "text":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                yield from data.decode(part.get_content_charset() or "utf-8", "replace").splitlines()


def _our_message_ids(message: Message) -> tuple[str, ...]:
    """The Message-IDs of our Updates that a report returns (in headers or attached text)."""
    found: list[str] = []
    for part in message.walk():
        texts = [str(value) for value in part.values()]
        if not part.is_multipart():
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                texts.append(data.decode("utf-8", "replace"))
        for text in texts:
            found += [m.group(0) for m in OUR_MESSAGE_ID.finditer(text) if m.group(0) not in found]
    return tuple(found)

"""What one message in the programme's mailbox is: an unsubscribe request, a delivery report, an
automatic reply, or a person's message for the office to read.

Only a message that is a delivery report by its structure (RFC 3464's multipart/report, or the
recognised forms of Exim, Postfix, Exchange and Gmail) and comes from a mailer is searched for
failed recipients, and then only by the detectors of those forms (Mailman's flufl.bounce): its
free-text heuristics take any line like "Council, me@x.example, 01344" for a failure, so they
never see a person's message. This module reads the status code and the line that shows it, so a
person can see why they were suppressed.
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

from flufl.bounce import BounceDetector
from flufl.bounce._detectors.dsn import DSN
from flufl.bounce._detectors.exchange import Exchange
from flufl.bounce._detectors.exim import Exim
from flufl.bounce._detectors.postfix import Postfix
from flufl.bounce._detectors.simplematch import PATTERNS, SimpleMatch

from composer.delivery.messages import OUR_MESSAGE_ID
from composer.delivery.tokens import Unsubscribe, verify_token
from composer.errors import TokenError

Kind = Literal["unsubscribe", "bounce", "soft-bounce", "review", "reply", "ignored", "unreadable"]
KINDS: tuple[Kind, ...] = ("unsubscribe", "bounce", "soft-bounce", "review", "reply", "ignored", "unreadable")

_TOKEN = re.compile(r"[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{22}(?![A-Za-z0-9_-])")
_NETWORK = re.compile(r"(?<![\w-])network=([a-z0-9_-]+)", re.IGNORECASE)
# ASCII digits only: a status in other digits is no status code, and rows are written in ASCII.
_STATUS = re.compile(r"(?<![0-9.])([245])\.([0-9]{1,3})\.([0-9]{1,3})(?![0-9.])")
_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"'`]+@[^\s<>()\[\],;:\"'`]+")
_OUT_OF_OFFICE = re.compile(
    r"out of (the )?office|automatic reply|auto[- ]?reply|autoreply|away from|on (annual )?leave|"
    r"vacation|abwesenheit|absence|abwesend|r[ée]ponse automatique",
    re.IGNORECASE,
)
_DAEMON = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)
_GMAIL = re.compile(r"^mailer-daemon@(googlemail|google|gmail)\.com$", re.IGNORECASE)
_EVIDENCE_LENGTH = 200
SHOWN = 4  # failed addresses named in a summary; the rest are counted


class Gmail(SimpleMatch):
    """Gmail's bounce before it sent DSNs ("Delivery to the following recipient failed"): only
    that one of SimpleMatch's patterns, none of the heuristics for other providers."""

    PATTERNS = [p for p in PATTERNS if p[0].pattern == "Delivery to the following recipient failed"]


# The detectors of the report forms recognised below, most authoritative first.
_DETECTORS: tuple[type[BounceDetector], ...] = (DSN, Exim, Postfix, Exchange, Gmail)


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


def classify(message: Message, *, signing_key: bytes) -> Finding:
    """Decide what a message is; `key` verifies unsubscribe tokens.

    A valid token wins whatever else the message holds; a delivery report from a mailer is
    searched for failed recipients; anything else that is not automatic is a person's message.
    """
    subject = header_text(message, "subject")
    request = _unsubscribe(subject, signing_key) if "unsubscribe" in subject.lower() else None
    if request is not None and request.kind == "unsubscribe":
        return request
    if is_delivery_report(message):
        failures = _failures(message)
        if not failures:
            return Finding("ignored", "a delivery report that names no failed recipient")
        permanent = [f for f in failures if f.permanent]
        kind: Kind = "bounce" if permanent else "soft-bounce"
        shown = permanent or failures
        summary = "; ".join(f"{f.address}: {f.status}" for f in shown[:SHOWN])
        if len(shown) > SHOWN:
            summary += f"; and {len(shown) - SHOWN:,} more"
        return Finding(kind, summary, failures=tuple(shown), message_ids=_our_message_ids(message))
    if is_auto_reply(message, subject):
        return Finding("ignored", "an automatic reply (out of office, vacation)")
    if request is not None:
        return request
    return Finding("reply", "a message for a person to read: left in the mailbox")


def header_text(message: Message, name: str) -> str:
    """A header as one line of text, its encoded-words (RFC 2047) decoded, and raw UTF-8 (RFC
    6532, which the parser hands back as an undecodable Header) read as UTF-8."""
    raw = message.get(name)
    if raw is None:
        return ""
    if not isinstance(raw, str):
        value = next(v for k, v in message.raw_items() if k.lower() == name.lower())
        raw = value.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    try:
        text = str(make_header(decode_header(raw)))
    except (HeaderParseError, LookupError, UnicodeError):
        text = str(raw)
    return " ".join(text.split())


def is_auto_reply(message: Message, subject: str) -> bool:
    """RFC 3834's Auto-Submitted, the older X-Autoreply and Precedence, or an out-of-office subject."""
    submitted = header_text(message, "auto-submitted").lower() or "no"
    precedence = header_text(message, "precedence").lower()
    return (
        submitted != "no"
        or message.get("x-autoreply") is not None
        or message.get("x-autorespond") is not None
        or precedence in ("auto_reply", "junk", "bulk")
        or bool(_OUT_OF_OFFICE.search(subject))
    )


def is_delivery_report(message: Message) -> bool:
    """A delivery report by its structure, sent by a mailer: only these are bounce candidates."""
    return _from_mailer(message) and (
        (
            message.get_content_type() == "multipart/report"
            and str(message.get_param("report-type", "")).lower() == "delivery-status"
        )
        or message.get("x-failed-recipients") is not None
        or message.get("x-ms-exchange-message-is-ndr") is not None
        or _postfix_notification(message)
        or bool(_GMAIL.match(_address(message, "from")))
    )


def _from_mailer(message: Message) -> bool:
    """A null or MAILER-DAEMON/postmaster return path, or Auto-Submitted; a saved message with
    no Return-Path (no envelope) is judged by its From."""
    if header_text(message, "auto-submitted").lower() not in ("", "no"):
        return True
    if message.get("return-path") is not None:
        path = header_text(message, "return-path")
        return path.strip("<> ") == "" or bool(_DAEMON.match(_address(message, "return-path")))
    return bool(_DAEMON.match(_address(message, "from")))


def _address(message: Message, name: str) -> str:
    return parseaddr(header_text(message, name))[1]


def _postfix_notification(message: Message) -> bool:
    """Postfix's report before DSNs: a multipart with a text part described as its Notification."""
    if message.get_content_type() not in ("multipart/mixed", "multipart/report"):
        return False
    return any(
        part.get_content_type() == "text/plain"
        and header_text(part, "content-description").lower() == "notification"
        for part in message.walk()
    )


def _unsubscribe(subject: str, signing_key: bytes) -> Finding:
    """The request a subject makes: an unsubscribe when a token verifies, else a person's message."""
    candidates = _TOKEN.findall(subject)
    if not candidates:
        return Finding("reply", "asks to unsubscribe but carries no token: handle it by hand")
    for candidate in candidates:
        try:
            request = verify_token(candidate, signing_key=signing_key)
        except TokenError:
            continue
        named = _NETWORK.search(subject)  # the footer's per-network links name it beside the token
        if named and request.network is None:
            request = Unsubscribe(request.email, named[1].lower())
        scope = f"network {request.network}" if request.network else "every network"
        return Finding("unsubscribe", f"{request.email} from {scope}", request=request)
    return Finding("reply", "an unsubscribe request whose token is not valid (forged or damaged)")


def _failures(message: Message) -> tuple[Failure, ...]:
    """The failed recipients the first detector that finds any names; linear in the report."""
    temporary: frozenset[bytes] = frozenset()
    permanent: frozenset[bytes] = frozenset()
    for detector in _DETECTORS:
        temporary, permanent = detector().process(message)
        if temporary or permanent:
            break
    statuses = _Statuses(message)
    found = []
    for raw, is_permanent in [*((a, False) for a in temporary), *((a, True) for a in permanent)]:
        address = raw.decode("ascii", "replace").strip().strip("<>")
        status, evidence = statuses.of(address, permanent=is_permanent)
        # X.2.2 (mailbox full) is persistent but transient (RFC 3463), whatever class it came in.
        soft = status.startswith("4.") or status.endswith(".2.2")
        found.append(Failure(address, status, is_permanent and not soft, evidence))
    return tuple(sorted(found, key=lambda f: f.address.lower()))


class _Statuses:
    """The enhanced status code for each address, and the report's line it was read from: the
    report is read once, so a report of 20,000 recipients costs 20,000 lookups, not 20,000 scans."""

    def __init__(self, message: Message):
        self.blocks: dict[str, tuple[str, str]] = {}
        for block in _delivery_status_blocks(message):
            status = _field(block, "status")
            if not _STATUS.fullmatch(status):
                continue
            diagnostic = _field(block, "diagnostic-code")
            line = f"Diagnostic-Code: {diagnostic}" if diagnostic else f"Status: {status}"
            for name in ("final-recipient", "original-recipient"):
                recipient = _field(block, name).rpartition(";")[2].strip().strip("<>").lower()
                if recipient:
                    self.blocks.setdefault(recipient, (status, line[:_EVIDENCE_LENGTH]))
        self.first_code: tuple[str, str] | None = None
        self.with_code: dict[str, tuple[str, str]] = {}
        self.mentions: dict[str, str] = {}
        for line in _report_lines(message):
            line = line.strip()
            addresses = {a.lower() for a in _ADDRESS.findall(line)}
            code = _STATUS.search(line)
            if code is not None:
                found = (code.group(0), line[:_EVIDENCE_LENGTH])
                self.first_code = self.first_code or found
                for address in addresses:
                    self.with_code.setdefault(address, found)
            for address in addresses:
                self.mentions.setdefault(address, line[:_EVIDENCE_LENGTH])

    def of(self, address: str, *, permanent: bool) -> tuple[str, str]:
        wanted = address.lower()
        found = self.blocks.get(wanted) or self.with_code.get(wanted) or self.first_code
        if found is not None:
            return found
        return ("5.0.0" if permanent else "4.0.0"), self.mentions.get(wanted, "")


def _field(block: Message, name: str) -> str:
    """A delivery-status field as one line: `header_text`, without its decoding cost for the
    plain ASCII that such fields are (a report may hold 20,000 blocks)."""
    raw = block.get(name)
    if isinstance(raw, str) and "=?" not in raw:
        return " ".join(raw.split())
    return header_text(block, name)


def _delivery_status_blocks(message: Message) -> Iterator[Message]:
    for part in typed_subpart_iterator(message, "message", "delivery-status"):
        payload = part.get_payload()  # type: ignore[attr-defined]
        if isinstance(payload, list):
            yield from (block for block in payload if isinstance(block, Message))


def text_of(part: Message) -> str:
    """A text part's content: its charset when Python knows it, else UTF-8 (`unknown-8bit` and
    the like), undecodable bytes replaced."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    try:
        return data.decode(part.get_content_charset() or "utf-8", "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _report_lines(message: Message) -> Iterator[str]:
    """The text of the report itself, not of the returned message it may attach."""
    parts = [message]
    while parts:
        part = parts.pop()
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            continue
        if part.is_multipart():
            children = [child for child in part.get_payload() if isinstance(child, Message)]
            parts.extend(reversed(children))
        elif part.get_content_maintype() == "text":
            yield from text_of(part).splitlines()


def _our_message_ids(message: Message) -> tuple[str, ...]:
    """The Message-IDs of our Updates that a report returns (in headers or attached text)."""
    found: dict[str, None] = {}
    for part in message.walk():
        texts = [str(value) for value in part.values()]
        if not part.is_multipart():
            texts.append(text_of(part))
        for text in texts:
            found.update((m.group(0), None) for m in OUR_MESSAGE_ID.finditer(text))
    return tuple(found)

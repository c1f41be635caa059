"""The messages of the inbox tests: saved bounces and replies in tests/mailbox/, plus the
unsubscribe requests, made here because their tokens depend on the test secret."""

from __future__ import annotations

import random
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote

from composer.delivery.tokens import make_token, unsubscribe_mailto

FOLDER = Path(__file__).parent / "mailbox"

# Who each message should suppress, from what, and why (None: nobody; the message stays put).
EXPECTED = {
    "postfix-dsn.eml": ("oliver.pratt@bracknell-forest.example", "", "bounced", "5.1.1"),
    "exim-bounce.eml": ("harriet.cole@buckinghamshire.example", "", "bounced", "5.1.1"),
    "exchange-ndr.eml": ("niamh.oconnor@eastsussex.example", "", "bounced", "5.1.1"),
    "gmail-bounce.eml": ("peter.greaves@eastsussex.example", "", "bounced", "5.1.1"),
    "unsubscribe-all.eml": ("catherine.blake@eastsussex.example", "", "unsubscribed", ""),
    "unsubscribe-network.eml": ("zoe.whitfield@brighton-hove.example", "complex-lac", "unsubscribed", ""),
}
SOFT = "mailbox-full.eml"  # femi.adebayo: counted, not yet suppressed
LEFT_ALONE = ("out-of-office.eml", "vacation.eml", "forged-token.eml", "unrelated.eml")


def unsubscribe_request(token: str, *, sender: str, subject: str | None = None) -> bytes:
    """What a mail client sends for the footer's or List-Unsubscribe's mailto link."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "unsubscribe@secip.example.org"
    message["Subject"] = subject or f"unsubscribe {token}"
    message["Message-ID"] = f"<{abs(hash(token))}.unsubscribe@{sender.rpartition('@')[2]}>"
    message["Date"] = "Sat, 26 Oct 2019 10:00:00 +0100"
    message.set_content("Sent from my phone\n")
    return message.as_bytes()


def fixture_messages(secret: str) -> dict[str, bytes]:
    """Every test message by file name, the unsubscribe requests signed with `secret`."""
    messages = {path.name: path.read_bytes() for path in sorted(FOLDER.glob("*.eml"))}
    key = secret.encode()
    messages["unsubscribe-all.eml"] = unsubscribe_request(
        make_token("catherine.blake@eastsussex.example", signing_key=key),
        sender="pa.to.catherine@eastsussex.example",  # from any address: the token names the person
    )
    zoe = make_token("zoe.whitfield@brighton-hove.example", signing_key=key)
    link = unsubscribe_mailto("unsubscribe@secip.example.org", zoe, "complex-lac")  # as in the footer
    messages["unsubscribe-network.eml"] = unsubscribe_request(
        zoe, sender="zoe.whitfield@brighton-hove.example", subject=unquote(link.partition("?subject=")[2])
    )
    messages["forged-token.eml"] = unsubscribe_request(
        make_token("grace.whitmore@bracknell-forest.example", signing_key=b"not-the-programme-secret"),
        sender="someone@elsewhere.example",
    )
    return messages


GRACE = "grace.whitmore@bracknell-forest.example"  # networks: dcs, peer-challenge


def human_reply(
    body: str, *, sender: str, subject: str = "Re: SECIP Update No 376 - 25 October 2019"
) -> bytes:
    """A person's reply, as Outlook sends it: plain text, no sign of being automatic."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "update@secip.example.org"
    message["Subject"] = subject
    message["Message-ID"] = f"<{abs(hash((body, sender, subject)))}.reply@{sender.rpartition('@')[2]}>"
    message["Date"] = "Mon, 28 Oct 2019 09:30:00 +0000"
    message.set_content(body)
    return message.as_bytes()


def delivery_report(recipients: list[str], *, returned_id: str = "", status: str = "5.1.1") -> bytes:
    """A Postfix DSN (RFC 3464) giving up on `recipients`, returning the headers of `returned_id`."""
    boundary = "REPORT.1572016000/mx.example"
    notes = "".join(f"<{r}>: host mx.example said: 550 {status} User unknown\n" for r in recipients)
    blocks = "".join(
        f"\nFinal-Recipient: rfc822; {r}\nAction: failed\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; 550 {status} User unknown\n"
        for r in recipients
    )
    returned = f"Message-ID: {returned_id}\n" if returned_id else ""
    return (
        "Return-Path: <>\nFrom: MAILER-DAEMON@mx.example (Mail Delivery System)\n"
        "To: update@secip.example.org\nSubject: Undelivered Mail Returned to Sender\n"
        f"Message-Id: <{abs(hash((tuple(recipients), returned_id, status)))}.dsn@mx.example>\n"
        "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\n\n'
        f"--{boundary}\nContent-Description: Notification\nContent-Type: text/plain; charset=utf-8\n\n"
        f"This is the mail system at host mx.example.\n\n{notes}\n"
        f"--{boundary}\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; mx.example\n{blocks}\n"
        f"--{boundary}\nContent-Description: Undelivered Message Headers\n"
        "Content-Type: text/rfc822-headers\n\n"
        f"From: SECIP Programme Office <update@secip.example.org>\n{returned}\n"
        f"--{boundary}--\n"
    ).encode()


def nested_multipart(depth: int) -> bytes:
    """A message whose multiparts nest `depth` deep (each one part: the next multipart)."""
    head = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(depth))
    tail = "".join(f"\n--b{i}--\n" for i in reversed(range(depth)))
    return (
        f"From: someone@elsewhere.example\nSubject: nested\nMessage-ID: <nested.{depth}@elsewhere.example>\n"
        f"MIME-Version: 1.0\n{head}Content-Type: text/plain\n\nhello\n{tail}"
    ).encode()


def empty_parts(count: int) -> bytes:
    """A multipart/mixed of `count` empty parts (10 bytes each: 1,000,000 make 10 MB)."""
    return (
        b"From: someone@elsewhere.example\nSubject: parts\nMessage-ID: <parts@elsewhere.example>\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="=_part"\n\n'
        + b"--=_part\n\n" * count
        + b"--=_part--\n"
    )


def poison_messages() -> dict[str, bytes]:
    """Each message that once stopped `composer inbox` with a traceback, by file name."""
    sender = "From: Zo\u00eb Whitfield <zoe.whitfield@brighton-hove.example>\n".encode()
    arabic = delivery_report([GRACE]).replace(b"5.1.1", "\u0665.\u0661.\u0661".encode())
    return {
        "a-raw-utf8-from.eml": sender
        + b"Subject: thanks\nMessage-ID: <zoe.raw@brighton-hove.example>\n\nThanks!\n",
        "b-empty-from.eml": b"From: \nSubject: hello\nMessage-ID: <empty.from@elsewhere.example>\n\nhello\n",
        "c-unknown-8bit.eml": delivery_report(["sunita.bains@bracknell-forest.example"])
        .replace(b"charset=utf-8", b"charset=unknown-8bit")
        .replace(b"This is the mail system", b"Das ist das Mailsystem \xe4\xf6\xfc"),
        "d-arabic-digits.eml": arabic,
        "e-deep-multipart.eml": nested_multipart(1000),
        "f-random-bytes.eml": random.Random(18).randbytes(20_000),
    }

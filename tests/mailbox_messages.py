"""The messages of the inbox tests: saved bounces and replies in tests/mailbox/, plus the
unsubscribe requests, made here because their tokens depend on the test secret."""

from __future__ import annotations

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
        make_token("catherine.blake@eastsussex.example", key=key),
        sender="pa.to.catherine@eastsussex.example",  # from any address: the token names the person
    )
    zoe = make_token("zoe.whitfield@brighton-hove.example", key=key)
    link = unsubscribe_mailto("unsubscribe@secip.example.org", zoe, "complex-lac")  # as in the footer
    messages["unsubscribe-network.eml"] = unsubscribe_request(
        zoe, sender="zoe.whitfield@brighton-hove.example", subject=unquote(link.partition("?subject=")[2])
    )
    messages["forged-token.eml"] = unsubscribe_request(
        make_token("grace.whitmore@bracknell-forest.example", key=b"not-the-programme-secret"),
        sender="someone@elsewhere.example",
    )
    return messages

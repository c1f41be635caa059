"""Where messages go: .eml files in an outbox folder, or an SMTP server through aiosmtplib.

Both take one message with an explicit envelope: the recipients are never read from the headers.
A session sends many messages in turn; SMTP sessions keep their connection open between them.
"""

from __future__ import annotations

import hashlib
import os
import re
import ssl
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal, Protocol

import aiosmtplib

from composer.content.settings import Smtp
from composer.errors import ComposerError, SendingError
from composer.tls import require_encryption, tls_context

PASSWORD_VARIABLE = "COMPOSER_SMTP_PASSWORD"
_FILE_SAFE = re.compile(r"[^a-z0-9@._+-]")


Kind = Literal["temporary", "permanent", "uncertain"]


class SmtpFailure(Exception):
    """One attempt that did not end in acceptance: what the server said and what it means.

    temporary: worth trying again later (a 4xx reply, a dropped connection, a timeout);
    permanent: a 5xx reply about this one recipient, never retried;
    uncertain: the content went out but no reply came back: the server may have taken it
    (RFC 1047), so trying again could send a second copy and the message is held.
    `server` is False when the reply is about the one recipient (RCPT) and says nothing of the server.
    """

    def __init__(
        self,
        kind: Kind,
        message: str,
        *,
        code: int | None = None,
        server: bool = True,
    ):
        self.kind, self.code, self.message, self.server = kind, code, message, server
        super().__init__(self.reply)

    @property
    def reply(self) -> str:
        return f"{self.code} {self.message}" if self.code else self.message


class Session(Protocol):
    """One open connection (or outbox writer) that delivers messages one at a time."""

    async def send(self, *, sender: str, recipient: str, data: bytes, before_data: Callable[[], None]) -> str:
        """Deliver one message (CRLF lines; dot-stuffed if the transport says so).

        `before_data` runs just before the content is handed over; after that, a missing reply
        raises an uncertain SmtpFailure, never a temporary one.
        """

    async def close(self) -> None:
        """Let the connection go; a later `send` opens a new one."""


class Transport(Protocol):
    """Where messages go (SMTP, or the outbox folder): opens sessions."""

    name: str
    connections: int
    dot_stuffed: bool

    async def open(self) -> Session:
        """A ready session; raises SendingError when the setup itself is wrong (TLS, login)."""


class Outbox:
    """One .eml file per person: the default that works on any machine, and a record to inspect."""

    name = "outbox"
    connections = 1
    dot_stuffed = False

    def __init__(self, folder: Path):
        self.folder = folder

    async def open(self) -> Session:
        probe = self.folder / ".composer-write-test"  # an unwritable folder stops the send at once
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            where = exc.filename or self.folder
            raise SendingError(f"cannot write the outbox folder {where}: {exc.strerror or exc}") from exc
        return self

    async def send(self, *, sender: str, recipient: str, data: bytes, before_data: Callable[[], None]) -> str:
        path = self.folder / eml_name(recipient)
        before_data()
        partial = path.with_suffix(".part")
        try:
            partial.write_bytes(data)
            os.replace(partial, path)
        except OSError as exc:
            raise SmtpFailure("temporary", f"cannot write {path}: {exc}") from exc
        return f"written to {path}"

    async def close(self) -> None:
        return None


def eml_name(address: str) -> str:
    """A file name per address that is safe everywhere and never shared by two addresses."""
    lowered = address.lower()
    safe = _FILE_SAFE.sub("_", lowered)
    if safe != lowered:
        safe += "-" + hashlib.sha256(lowered.encode()).hexdigest()[:8]
    return safe + ".eml"


class SmtpTransport:
    """aiosmtplib with explicit TLS: STARTTLS or implicit TLS with certificate checks.

    Plain text only to a loopback host or when allow_plaintext says so: a missing STARTTLS is an
    error, never a silent fall-back.
    """

    name = "smtp"
    dot_stuffed = True

    def __init__(self, smtp: Smtp, env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        if not smtp.host:
            raise SendingError("no SMTP host: set sending.smtp.host in composer.yaml or COMPOSER_SMTP_HOST")
        try:
            require_encryption(
                smtp.host, smtp.security, allow_plaintext=smtp.allow_plaintext, section="sending.smtp"
            )
        except ComposerError as exc:  # a send that stops before it starts
            raise SendingError(str(exc)) from None
        self.password = env.get(PASSWORD_VARIABLE) if smtp.username else None
        if smtp.username and not self.password:
            raise SendingError(
                f"the SMTP password for {smtp.username} comes from {PASSWORD_VARIABLE}: set it"
            )
        self.smtp = smtp
        self.connections = smtp.connections
        self.port = smtp.port or (465 if smtp.security == "tls" else 587)

    async def open(self) -> Session:
        session = _SmtpSession(self)
        await session.connect()
        return session

    def client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.smtp.host,
            port=self.port,
            use_tls=self.smtp.security == "tls",
            start_tls=self.smtp.security == "starttls",
            tls_context=tls_context() if self.smtp.security != "none" else None,
            timeout=self.smtp.timeout,
        )


class _SmtpSession:
    def __init__(self, transport: SmtpTransport):
        self.transport = transport
        self.client = transport.client()

    async def connect(self) -> None:
        """Connect, secure and log in; configuration problems stop the whole send."""
        where = f"{self.transport.smtp.host}:{self.transport.port}"
        self.client = self.transport.client()
        try:
            await self.client.connect()
            if self.client.is_ehlo_or_helo_needed:
                await self.client.ehlo()
            if self.transport.smtp.username:
                self._require_login(where)
                await self.client.login(self.transport.smtp.username, self.transport.password or "")
        except (ssl.SSLCertVerificationError, aiosmtplib.SMTPConnectError) as exc:
            untrusted = exc if isinstance(exc, ssl.SSLCertVerificationError) else exc.__cause__
            if isinstance(untrusted, ssl.SSLCertVerificationError):
                raise SendingError(
                    f"{where}: the server's certificate is not trusted ({untrusted.verify_message})"
                ) from exc
            raise SmtpFailure("temporary", f"cannot connect to {where}: {exc}") from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise SendingError(
                f"{where} refused the login for {self.transport.smtp.username}: {exc.code} {exc.message}"
            ) from exc
        except aiosmtplib.SMTPException as exc:
            if "STARTTLS extension not supported" in str(exc):
                raise SendingError(
                    f"{where} does not offer STARTTLS: refusing to send in plain text "
                    "(use security: tls for port 465)"
                ) from exc
            raise SmtpFailure("temporary", f"cannot connect to {where}: {exc}") from exc
        except OSError as exc:
            raise SmtpFailure("temporary", f"cannot connect to {where}: {exc}") from exc

    def _require_login(self, where: str) -> None:
        """A username with a server that lists no AUTH: say so, rather than fail at the login."""
        if self.client.supports_extension("auth"):
            return
        username = self.transport.smtp.username
        plain = self.transport.smtp.security == "none"
        raise SendingError(
            f"{where} offers no login (its EHLO reply lists no AUTH), but the username {username} is set: "
            + ("use security: starttls or tls if it offers login only over TLS, or " if plain else "")
            + "remove sending.smtp.username (or COMPOSER_SMTP_USERNAME) if this server needs none"
        )

    async def send(self, *, sender: str, recipient: str, data: bytes, before_data: Callable[[], None]) -> str:
        """MAIL, RCPT and DATA with explicit addresses (already validated ASCII), replies checked here."""
        if not self.client.is_connected:
            await self.connect()
        client, stage = self.client, "MAIL"
        try:
            reply = await client.execute_command(b"MAIL", b"FROM:<" + sender.encode("ascii") + b">")
            if reply.code == 250:
                stage = "RCPT"
                # One recipient per message: its refusal is this message's outcome, never lost.
                reply = await client.execute_command(b"RCPT", b"TO:<" + recipient.encode("ascii") + b">")
            if reply.code in (250, 251):
                before_data()
                stage = "DATA"
                reply = await self._data(data)
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise SmtpFailure("temporary", f"connection lost: {exc}") from exc
        text = f"{reply.code} {reply.message}"
        if stage == "DATA" and reply.code == 250:
            return text
        await self._reset(reply.code)
        if reply.code < 500:
            raise SmtpFailure(
                "temporary",
                reply.message,
                code=reply.code,
                server=stage != "RCPT" or reply.code == 421,
            )
        if stage == "MAIL":
            raise SendingError(f"the server refused the sender {sender}: {text}")
        raise SmtpFailure("permanent", reply.message, code=reply.code)

    async def _data(self, data: bytes) -> aiosmtplib.SMTPResponse:
        """DATA for a message already in wire form (CRLF, dot-stuffed).

        aiosmtplib's data() would scan every message again with two regular expressions: most of
        the sender's CPU time for a 60 KB message. The reply to the content may take long (the
        server may filter or store it first): RFC 5321 asks the client to wait 10 minutes.
        """
        start = await self.client.execute_command(b"DATA")
        protocol = self.client.protocol
        if start.code != 354 or protocol is None:
            return start
        try:
            protocol.write(data + b".\r\n")
            return await protocol.read_response(timeout=self.transport.smtp.data_timeout)
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            self.client.close()
            reason = f"no reply after the message was handed over: {exc}"
            raise SmtpFailure("uncertain", reason) from exc

    async def _reset(self, code: int) -> None:
        """After a refusal the connection is reused: RSET, or drop it when the server is leaving."""
        if code == 421 or not self.client.is_connected:
            self.client.close()
            return
        try:
            await self.client.rset()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            self.client.close()

    async def close(self) -> None:
        if self.client.is_connected:
            try:
                await self.client.quit()
            except (TimeoutError, aiosmtplib.SMTPException, OSError):
                self.client.close()


class RateLimit:
    """Spaces messages evenly to stay under the account's per-minute limit, and counts the day's."""

    def __init__(self, *, per_minute: int | None, per_day: int | None = None, sent_today: int = 0):
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self.per_day = per_day
        self.sent_today = sent_today
        self._next = 0.0

    def reserve(self) -> float | None:
        """Take the next slot: the seconds to wait for it, or None when the daily limit is reached.

        The caller does the waiting, so that it can stop waiting when the send stops.
        """
        if self.per_day is not None and self.sent_today >= self.per_day:
            return None
        self.sent_today += 1
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + self.interval
        return start - now

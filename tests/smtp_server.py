"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, port 0, in a thread, with faults on demand.

The handler records every message it accepts and follows a per-test script of faults: a reply to
give instead of the normal one, "" for the normal one, or "drop" to close the connection without
replying, for MAIL, for RCPT of one address, or for DATA of one address. For DATA two more: take
the message and then drop the connection, or take it and answer only after `stall` seconds (the
RFC 1047 case: the server has the message but the client never hears so).
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

DROP = "drop"
TAKE_THEN_DROP = "take, then drop"
TAKE_THEN_STALL = "take, then stall"


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    data: bytes

    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class Recorder:
    """The handler: accepted messages, every command seen, and the fault script."""

    received: list[Received] = field(default_factory=list)
    seen: list[tuple[str, str]] = field(default_factory=list)
    peers: list[object] = field(default_factory=list)  # the client address of each MAIL: its connection
    script: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    always: dict[str, str] = field(default_factory=dict)
    data_delay: float = 0.0
    stall: float = 2.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    connections: int = 0  # open now: once a killed client's are all closed, nothing more arrives

    def fault(self, key: str, *replies: str) -> None:
        """Give these replies, one per call, to the next commands matching key.

        Keys: MAIL, RCPT:address or DATA:address (the first recipient's).
        """
        self.script[key].extend(replies)

    def by_recipient(self) -> dict[str, list[Received]]:
        found: dict[str, list[Received]] = defaultdict(list)
        with self.lock:
            for message in self.received:
                for recipient in message.recipients:
                    found[recipient.lower()].append(message)
        return found

    def _scripted(self, key: str, server: SMTP) -> str | None:
        reply = self.always.get(key) or (self.script[key].pop(0) if self.script.get(key) else None)
        if reply == DROP:
            server.transport.abort()
        elif reply and reply.startswith("421"):
            asyncio.get_running_loop().call_soon(server.transport.close)  # once the reply is out
        return reply

    async def handle_MAIL(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.seen.append(("MAIL", address))
        self.peers.append(session.peer)
        reply = self._scripted("MAIL", server)
        if reply:
            return reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.seen.append(("RCPT", address))
        reply = self._scripted(f"RCPT:{address.lower()}", server)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        key = f"DATA:{envelope.rcpt_tos[0].lower()}" if envelope.rcpt_tos else "DATA"
        self.seen.append(("DATA", key))
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        reply = self._scripted(key, server)
        if reply and reply not in (TAKE_THEN_DROP, TAKE_THEN_STALL):
            return reply
        number = self._take(envelope)
        if reply == TAKE_THEN_DROP:
            server.transport.abort()
        elif reply == TAKE_THEN_STALL:
            await asyncio.sleep(self.stall)
        return f"250 2.0.0 OK queued as {number}"

    def _take(self, envelope: Any) -> int:
        with self.lock:
            self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.content))
            return len(self.received)


class _CountedSMTP(SMTP):
    """aiosmtpd's protocol, counting its open connections in the recorder."""

    def connection_made(self, transport: Any) -> None:
        self.event_handler.connections += 1
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        self.event_handler.connections -= 1


class SmtpServer:
    """aiosmtpd in its own thread and loop; `port` is known once started."""

    def __init__(
        self,
        recorder: Recorder,
        *,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        users: dict[str, str] | None = None,
    ):
        self.recorder = recorder
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.users = users
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = 0

    def _protocol(self) -> SMTP:
        # Without users the server offers no login (no AUTH in its EHLO reply); with them, it offers
        # one even on a connection with implicit TLS, which aiosmtpd does not count as TLS.
        options: dict[str, Any] = {"hostname": "composer-test", "auth_require_tls": self.users is None}
        if self.tls is not None and not self.implicit_tls:
            options["tls_context"] = self.tls
        if self.users is not None:
            options["authenticator"] = self._authenticate
        return _CountedSMTP(self.recorder, **options)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and self.users is not None
            and self.users.get(data.login.decode()) == data.password.decode()
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
        self.thread.start()

        async def serve() -> asyncio.AbstractServer:
            return await self.loop.create_server(
                self._protocol, "127.0.0.1", 0, ssl=self.tls if self.implicit_tls else None
            )

        self.server = asyncio.run_coroutine_threadsafe(serve(), self.loop).result(10)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

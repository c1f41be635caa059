"""Where the messages come from: the programme's IMAP mailbox, or a folder of saved .eml files.

Both hand out each message with a handle, and move a handled one to the processed folder;
nothing is ever deleted. IMAP goes through imap-tools over verified TLS, with the same rule for
plain text as SMTP (transport.py); the password comes only from the environment and is never
part of a message we write.
"""

from __future__ import annotations

import email
import imaplib
import os
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Protocol

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError

from composer.content.settings import Inbox
from composer.delivery.transport import require_encryption, tls_context
from composer.errors import ComposerError

PASSWORD_VARIABLE = "COMPOSER_IMAP_PASSWORD"


@dataclass(frozen=True)
class Incoming:
    """One message: a handle to move it by (an IMAP UID or a file name), and the parsed message."""

    handle: str
    message: Message


class Source(Protocol):
    where: str

    def messages(self) -> Iterator[Incoming]: ...

    def move(self, handle: str) -> None:
        """Move a handled message to the processed folder (never delete it)."""


class FolderSource:
    """`--from-folder DIR`: the .eml files in DIR; handled ones move to DIR/processed/."""

    def __init__(self, folder: Path):
        if not folder.is_dir():
            raise ComposerError(f"{folder} is not a folder of .eml files")
        self.folder = folder
        self.where = str(folder)

    def messages(self) -> Iterator[Incoming]:
        for path in sorted(self.folder.glob("*.eml")):
            yield Incoming(path.name, email.message_from_bytes(path.read_bytes()))

    def move(self, handle: str) -> None:
        processed = self.folder / "processed"
        processed.mkdir(exist_ok=True)
        os.replace(self.folder / handle, processed / handle)


class ImapSource:
    """The mailbox's folder through IMAP; use as a context manager (it logs in and out)."""

    def __init__(self, inbox: Inbox, env: Mapping[str, str] | None = None, *, create_folder: bool = True):
        env = os.environ if env is None else env
        if not inbox.host:
            raise ComposerError("no IMAP host: set inbox.host in composer.yaml or COMPOSER_IMAP_HOST")
        require_encryption(inbox.host, inbox.security, allow_plaintext=inbox.allow_plaintext, section="inbox")
        if not inbox.username:
            raise ComposerError("no IMAP user: set inbox.username in composer.yaml or COMPOSER_IMAP_USERNAME")
        self._password = env.get(PASSWORD_VARIABLE, "")
        if not self._password:
            raise ComposerError(
                f"the IMAP password for {inbox.username} comes from {PASSWORD_VARIABLE}: set it"
            )
        self.inbox = inbox
        self.port = inbox.port or (993 if inbox.security == "tls" else 143)
        self.where = f"{inbox.host}:{self.port}/{inbox.folder}"
        self.create_folder = create_folder
        self._box: BaseMailBox | None = None

    def __enter__(self) -> ImapSource:
        inbox, where = self.inbox, f"{self.inbox.host}:{self.port}"
        box: BaseMailBox
        try:
            if inbox.security == "none":
                box = MailBoxUnencrypted(inbox.host or "", self.port, timeout=inbox.timeout)
            elif inbox.security == "starttls":
                box = MailBoxStartTls(inbox.host or "", self.port, inbox.timeout, tls_context(inbox.ca_file))
            else:
                box = MailBox(
                    inbox.host or "", self.port, inbox.timeout, ssl_context=tls_context(inbox.ca_file)
                )
            box.login(inbox.username or "", self._password, initial_folder=inbox.folder)
            if self.create_folder and not box.folder.exists(inbox.processed_folder):
                box.folder.create(inbox.processed_folder)
        except ssl.SSLCertVerificationError as exc:
            raise ComposerError(
                f"{where}: the server's certificate is not trusted ({exc.verify_message}); "
                "if it is your own server's, name its CA certificate in inbox.ca_file"
            ) from None
        except MailboxLoginError:
            raise ComposerError(
                f"{where} refused the login for {inbox.username}: check {PASSWORD_VARIABLE}"
            ) from None
        except (imaplib.IMAP4.error, ssl.SSLError, OSError, ValueError) as exc:
            raise ComposerError(f"cannot read {self.where}: {self._scrubbed(exc)}") from None
        self._box = box
        return self

    def __exit__(self, *_: object) -> None:
        if self._box is not None:
            try:
                self._box.logout()
            except (imaplib.IMAP4.error, OSError):
                pass

    def messages(self) -> Iterator[Incoming]:
        assert self._box is not None, "use ImapSource as a context manager"
        try:
            for fetched in self._box.fetch(mark_seen=False, bulk=50):
                yield Incoming(fetched.uid or "", fetched.obj)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise ComposerError(f"cannot read {self.where}: {self._scrubbed(exc)}") from None

    def move(self, handle: str) -> None:
        assert self._box is not None, "use ImapSource as a context manager"
        try:
            self._box.move(handle, self.inbox.processed_folder)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise ComposerError(
                f"cannot move message {handle} to {self.inbox.processed_folder}: {self._scrubbed(exc)}"
            ) from None

    def _scrubbed(self, exc: BaseException) -> str:
        """An error's text without the password, whatever a server or library echoed back."""
        return str(exc).replace(self._password, "********")

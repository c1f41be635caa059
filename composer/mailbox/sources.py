"""Where the messages come from: the programme's IMAP mailbox, or a folder of saved .eml files.

Both hand out each message's bytes with a handle, unparsed (parsing is part of handling one
message, inside its guard), and only the first 64 KB of a message over the size cap; they move a
handled one to the processed folder and never delete or overwrite anything. IMAP goes through
imap-tools over verified TLS, with the same rule for plain text as SMTP (transport.py); the
password comes only from the environment and is never part of a message we write.
"""

from __future__ import annotations

import imaplib
import os
import re
import ssl
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError

from composer.content.settings import Inbox
from composer.errors import ComposerError
from composer.mailbox.parse import HEAD_BYTES
from composer.tls import require_encryption, tls_context

PASSWORD_VARIABLE = "COMPOSER_IMAP_PASSWORD"


@dataclass(frozen=True)
class Incoming:
    """One message: a handle to move it by (an IMAP UID or a file name), its size, and its bytes
    (only the first HEAD_BYTES when the size is over the cap)."""

    handle: str
    size: int
    data: bytes


class Source(Protocol):
    """Where the mailbox's messages come from: IMAP, or a folder of saved files."""

    where: str
    skipped: list[tuple[str, str]]

    def messages(self) -> Iterator[Incoming]: ...

    def move(self, handle: str) -> None:
        """Move a handled message to the processed folder (never delete it)."""


class FolderSource:
    """`--from-folder DIR`: the .eml files in DIR; handled ones move to DIR/processed/.

    Only regular files (or links to them) are read: a folder, a link to nothing, a FIFO (whose
    read would wait for ever) or a device is skipped and listed in `skipped`.
    """

    def __init__(self, folder: Path, max_bytes: int):
        if not folder.is_dir():
            raise ComposerError(f"{folder} is not a folder of .eml files")
        self.folder, self.max_bytes = folder, max_bytes
        self.where = str(folder)
        self.skipped: list[tuple[str, str]] = []

    def messages(self) -> Iterator[Incoming]:
        for path in sorted(self.folder.glob("*.eml")):
            try:
                # O_NONBLOCK: opening a FIFO returns at once, and fstat then shows what it is.
                descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            except FileNotFoundError:
                self.skipped.append((path.name, "a link to nothing"))
                continue
            except OSError as exc:
                self.skipped.append((path.name, f"cannot be opened: {exc.strerror or exc}"))
                continue
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                os.close(descriptor)
                self.skipped.append(
                    (path.name, _KINDS_OF_FILE.get(stat.S_IFMT(status.st_mode), "not a file"))
                )
                continue
            with os.fdopen(descriptor, "rb") as stream:
                size = status.st_size
                data = stream.read(self.max_bytes + 1 if size <= self.max_bytes else HEAD_BYTES)
            yield Incoming(path.name, max(size, len(data)), data)

    def move(self, handle: str) -> None:
        """Into processed/ under a name no earlier message holds: `name-2.eml` when `name.eml` is
        taken (reserved with O_EXCL, then replaced by the message in one rename)."""
        processed = self.folder / "processed"
        stem, suffix = os.path.splitext(handle)
        try:
            processed.mkdir(exist_ok=True)
            for number in range(1, 10_000):
                target = processed / (handle if number == 1 else f"{stem}-{number}{suffix}")
                try:
                    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                except FileExistsError:
                    continue
                try:
                    os.replace(self.folder / handle, target)
                except OSError:
                    target.unlink(missing_ok=True)
                    raise
                return
        except OSError as exc:
            raise ComposerError(f"cannot move {handle} into {processed}: {exc.strerror or exc}") from None
        raise ComposerError(f"{processed} holds 9,999 messages named like {handle}: move some away")


_KINDS_OF_FILE = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}
_UID = re.compile(rb"UID (\d+)")
FETCH_BATCH = 50  # messages a FETCH asks for at most
FETCH_BATCH_BYTES = 8 * 1024 * 1024  # and their bytes at most (one over the cap counts its head only)
_FETCHED = re.compile(rb"UID (\d+) RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+) UID (\d+)")


def bodies_by_uid(response: list[Any]) -> dict[str, bytes]:
    """The bodies of a FETCH answer by UID. imaplib gives each literal as (what came before it,
    the literal) and what follows it as the next item: a server may send the UID on either side
    (RFC 3501 leaves the order of a FETCH's items to it)."""
    found: dict[str, bytes] = {}
    waiting: bytes | None = None  # a literal whose UID has not been seen yet
    for item in response:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            match = _UID.search(item[0]) if isinstance(item[0], bytes) else None
            if match:
                found[match[1].decode()] = item[1]
            waiting = None if match else item[1]
        elif isinstance(item, bytes) and waiting is not None:
            match = _UID.search(item)
            if match:
                found[match[1].decode()] = waiting
            waiting = None
    return found


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
        self.skipped: list[tuple[str, str]] = []
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
        """Each message's raw bytes (BODY.PEEK: nothing is marked read), its size asked first so
        that only the head of one over the cap is fetched; none is parsed here.

        Fetched in batches (up to FETCH_BATCH messages, FETCH_BATCH_BYTES between them): one round
        trip per message would make a distant server's latency the run's time.
        """
        assert self._box is not None, "use ImapSource as a context manager"
        try:
            for part, batch in self._batches(self._sizes()):
                typ, response = self._box.client.uid(
                    "FETCH", ",".join(uid for uid, _ in batch), f"(UID {part})"
                )
                fetched = bodies_by_uid(response) if typ == "OK" else {}  # NO: one was expunged meanwhile
                for uid, size in batch:
                    data = fetched.get(uid)
                    if data is None:  # not in the batch's answer: asked alone, as it may be gone
                        typ, response = self._box.client.uid("FETCH", uid, f"(UID {part})")
                        data = bodies_by_uid(response).get(uid) if typ == "OK" else None
                    if data is None:
                        self.skipped.append((uid, "gone from the mailbox before it could be read"))
                    else:
                        yield Incoming(uid, size, data)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise ComposerError(f"cannot read {self.where}: {self._scrubbed(exc)}") from None

    def _batches(self, sizes: list[tuple[str, int]]) -> Iterator[tuple[str, list[tuple[str, int]]]]:
        """Runs of messages fetched alike (whole, or the head of one over the cap), in UID order."""
        batch: list[tuple[str, int]] = []
        part, total = "", 0
        for uid, size in sizes:
            whole = size <= self.inbox.max_message_bytes
            wanted = "BODY.PEEK[]" if whole else f"BODY.PEEK[]<0.{HEAD_BYTES}>"
            cost = size if whole else HEAD_BYTES
            if batch and (wanted != part or len(batch) >= FETCH_BATCH or total + cost > FETCH_BATCH_BYTES):
                yield part, batch
                batch, total = [], 0
            batch.append((uid, size))
            part, total = wanted, total + cost
        if batch:
            yield part, batch

    def _sizes(self) -> list[tuple[str, int]]:
        """Every message's UID and size (RFC822.SIZE), in one command."""
        assert self._box is not None
        uids = self._box.uids()
        if not uids:
            return []
        typ, response = self._box.client.uid("FETCH", "1:*", "(UID RFC822.SIZE)")  # no line of every UID
        if typ != "OK":
            raise imaplib.IMAP4.error(f"FETCH RFC822.SIZE answered {typ}")
        found = []
        for line in response:
            match = _FETCHED.search(line if isinstance(line, bytes) else b"")
            if match:
                uid, size = (match[1], match[2]) if match[1] else (match[4], match[3])
                found.append((uid.decode(), int(size)))
        return sorted(found, key=lambda item: int(item[0]))

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

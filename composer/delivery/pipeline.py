"""Messages made ready ahead of the connections, in a process of their own where the OS can fork.

Rendering each edition's plain text and building each reader's message is the CPU-heavy part of
a send; done between the connections' turns it would hold them up. A forked worker process (it
inherits the checked project, the lists and the plan: nothing is loaded twice) makes the messages
edition by edition and hands them over in chunks through a pipe, whose small buffer is the queue:
the worker waits while the connections are busy, so memory stays flat. Where there is no fork the
same messages are made in the sending process as they are needed.

A person's `pending` row is written just before their edition's messages are handed to the
connections, not all before the first message: a row that is missing reads as pending (see
`Journal.states`), so a send killed before writing some rows still sends to those people once.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import sys
import traceback
from collections.abc import AsyncIterator, Iterator, Sequence
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Protocol

from composer.delivery.engine import Delivery, Outgoing
from composer.delivery.journal import Journal
from composer.delivery.transport import Transport
from composer.email.editions import EditionKey
from composer.errors import SendingError

if TYPE_CHECKING:
    from array import array

    from composer.delivery.context import SendContext

CHUNK = 32  # messages a hand-over: few enough to keep memory flat, enough to make each one cheap

Chunk = tuple[int, list[Outgoing]]  # the group's place in the send, and some of its messages


class Group(Protocol):
    """The readers of one edition who are due in this send, by place in the members file."""

    key: EditionKey
    due: array[int]


class _Failed:
    """An unexpected error in the worker, sent back with its traceback (it is a bug)."""

    def __init__(self, text: str):
        self.text = text


def chunks(
    context: SendContext, groups: Sequence[Group], *, signing_key: bytes, dot_stuffed: bool
) -> Iterator[Chunk]:
    """Everyone due, edition by edition: each made ready at its first reader, let go after its last."""
    people, networks = context.lists.people, context.networks or None
    for number, group in enumerate(groups):
        for start in range(0, len(group.due), CHUNK):
            messages = []
            for index in group.due[start : start + CHUNK]:
                recipient = context.lists.recipient(people[index], networks=networks)
                assert recipient is not None  # the lists do not change during a send
                messages.append(
                    context.message(
                        recipient.person.email,
                        recipient.person.name,
                        recipient.networks,
                        first_name=recipient.person.first_name,
                        edition=recipient.edition,
                        signing_key=signing_key,
                        dot_stuffed=dot_stuffed,
                    )
                )
            yield number, messages
        context.release(group.key)


def _work(made: Iterator[Chunk], sink: Connection, source: Connection) -> None:
    """The worker: every chunk down the pipe, then None; a SendingError (an edition that fails its
    check) goes back as itself, to stop the send there."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the sending process's to handle
    source.close()  # so that a write fails at once when the sending process is gone
    try:
        try:
            for chunk in made:
                sink.send(chunk)
        except SendingError as exc:
            sink.send(exc)
        except Exception:  # noqa: BLE001 - any other error is a bug, shown by the sending process
            sink.send(_Failed(traceback.format_exc()))
        else:
            sink.send(None)
    except (BrokenPipeError, ConnectionResetError):
        return  # the sending process stopped: nobody to hand messages to


class Pipeline:
    """The messages of a send, made ahead; each edition's pending rows written as it starts."""

    def __init__(
        self,
        context: SendContext,
        groups: Sequence[Group],
        journal: Journal,
        *,
        signing_key: bytes,
        transport: Transport,
    ):
        self.context, self.groups, self.journal = context, groups, journal
        self._made = chunks(context, groups, signing_key=signing_key, dot_stuffed=transport.dot_stuffed)
        # the outbox has no server to keep busy: its messages are made as they are written
        self.ahead = transport.name != "outbox" and "fork" in multiprocessing.get_all_start_methods()
        self._recorded = 0  # groups whose pending rows are written
        self._worker: multiprocessing.process.BaseProcess | None = None
        self._source: Connection | None = None

    def run(self, delivery: Delivery) -> None:
        """Deliver every message, then write the pending rows of those not reached (as the plan
        counted them); a send that stopped already says why, and a missing row reads as pending."""
        try:
            if self.ahead:
                self._start()
            delivery.run(self.messages())
        finally:
            self._close()
        try:
            self.record()
        except SendingError:
            if not delivery.report.stopped:
                raise

    def _start(self) -> None:
        forking = multiprocessing.get_context("fork")
        self._source, sink = forking.Pipe(duplex=False)
        for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
            stream.flush()
        self._worker = forking.Process(
            target=_work, args=(self._made, sink, self._source), name="composer-messages", daemon=True
        )
        self._worker.start()
        sink.close()

    def _close(self) -> None:
        """Stop the worker (it may be waiting to hand over messages nobody will send now)."""
        if self._worker is not None:
            self._worker.terminate()
            self._worker.join()
            self._worker.close()
            self._worker = None
        if self._source is not None:
            self._source.close()
            self._source = None

    async def messages(self) -> AsyncIterator[Outgoing]:
        """The messages in order; reading the pipe is left to a thread, so the connections go on."""
        loop = asyncio.get_running_loop()
        while True:
            chunk = (
                await loop.run_in_executor(None, self._receive) if self._worker else next(self._made, None)
            )
            if chunk is None:
                return
            number, messages = chunk
            self.record(number + 1)
            for message in messages:
                yield message

    def _receive(self) -> Chunk | None:
        assert self._source is not None
        try:
            item = self._source.recv()
        except EOFError:
            raise SendingError(
                "the process making the messages stopped unexpectedly; everyone not sent to yet is "
                "kept for the next run"
            ) from None
        if isinstance(item, SendingError):
            raise item
        if isinstance(item, _Failed):
            raise RuntimeError(f"making the messages failed in the worker process:\n{item.text}")
        return item

    def record(self, upto: int | None = None) -> None:
        """Write the pending rows of the groups before `upto` (every group by default)."""
        end = len(self.groups) if upto is None else upto
        people, issue = self.context.lists.people, self.context.number
        while self._recorded < end:
            group = self.groups[self._recorded]
            name = self.context.name(group.key)
            self.journal.add_pending(issue, ((people[index].email, name) for index in group.due))
            self._recorded += 1

"""Delivery: prepared messages through a transport, with the journal kept true for every person.

One worker per connection takes messages from a short queue, so memory stays flat. Temporary
failures are retried with capped, jittered backoff (the connection let go while waiting), a
message whose content got no reply is held as uncertain (it may have arrived), sending pauses
when every attempt fails at the server (a refused recipient is only that recipient's result), and
Ctrl-C or a fatal error stops it after the messages in flight: the report always says what was done.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from composer.content.settings import Sending
from composer.delivery.journal import Journal, State
from composer.delivery.transport import (
    RateLimit,
    Session,
    SmtpFailure,
    Transport,
)
from composer.errors import SendingError

DAY = 24 * 60 * 60
MAX_RETRY_DELAY = 300.0  # seconds: however many retries, never more than five minutes apart


@dataclass(frozen=True)
class Outcome:
    """One person's result in a send."""

    email: str
    reply: str


@dataclass(frozen=True)
class Progress:
    """How far a send has got, for the progress bar."""

    done: int
    total: int
    email: str
    state: str


@dataclass(frozen=True)
class Outgoing:
    """One person's message in wire form, with what the journal records about it."""

    email: str
    edition: str
    message_id: str
    data: bytes


@dataclass
class Delivered:
    """What a run did with the people it was given; `stopped` says why it ended early."""

    sent: int = 0
    deferred: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)
    uncertain: list[Outcome] = field(default_factory=list)
    not_attempted: int = 0
    stopped: str | None = None


def send_one(transport: Transport, *, sender: str, message: Outgoing) -> str:
    """One message outside the journal (a test copy); the server's reply."""

    async def run() -> str:
        session = await _open(transport)
        try:
            return await session.send(
                sender=sender, recipient=message.email, data=message.data, before_data=lambda: None
            )
        finally:
            await session.close()

    try:
        return asyncio.run(run())
    except SmtpFailure as exc:
        outcome = "may or may not have arrived" if exc.kind == "uncertain" else "was not accepted"
        raise SendingError(f"the test copy to {message.email} {outcome}: {exc.reply}") from exc


def backoff(attempt: int, *, base: float, cap: float, draw: Callable[[], float] = random.random) -> float:
    """Seconds before retry number `attempt` (1, 2, ...): doubling from `base` up to `cap`.

    Jitter (a random half to whole of that) keeps connections that failed together from all
    coming back to the server at the same moment.
    """
    return min(cap, base * 2.0 ** (attempt - 1)) * (0.5 + draw() / 2)


Wait = Callable[[asyncio.Event, float], Awaitable[None]]


async def wait_or_stop(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less when sending stops meanwhile: the engine's one clock, which a test
    may replace to see every wait without spending it."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)


async def _open(transport: Transport) -> Session:
    try:
        return await transport.open()
    except SmtpFailure as exc:
        raise SendingError(f"{exc.reply}: nothing was sent") from exc


async def _open_all(transport: Transport, count: int) -> list[Session]:
    """All connections up front, so a wrong setting stops the send before anyone is sent to."""
    sessions: list[Session] = []
    try:
        for _ in range(count):
            sessions.append(await _open(transport))
    except BaseException:
        for session in sessions:
            await session.close()
        raise
    return sessions


class Delivery:
    """Sends `total` messages of one issue through a transport, recording each in `report`."""

    def __init__(
        self,
        transport: Transport,
        journal: Journal,
        *,
        issue: int,
        sender: str,
        sending: Sending,
        per_minute: int | None,
        per_day: int | None,
        total: int,
        report: Delivered,
        progress: Callable[[Progress], None] | None = None,
        max_delay: float = MAX_RETRY_DELAY,
        wait: Wait = wait_or_stop,
    ):
        self.transport, self.journal, self.issue, self.sender = transport, journal, issue, sender
        self.sending = sending
        self.max_delay = max_delay
        self.wait = wait
        self.total = total
        self.report = report
        self.progress = progress
        self.failures_in_a_row = 0
        self.done = 0
        self.limit = RateLimit(
            per_minute=per_minute, per_day=per_day, sent_today=journal.sent_since(time.time() - DAY)
        )

    def run(self, messages: Iterator[Outgoing]) -> None:
        """Send the messages (made as they are needed), or stop cleanly; the report says which."""
        try:
            asyncio.run(self._run(messages))
        except asyncio.CancelledError:
            raise SendingError(
                "stopped at once: messages that were being sent are held as uncertain; "
                "run `composer send` again to see them"
            ) from None

    async def _run(self, messages: Iterator[Outgoing]) -> None:
        self.stopping = asyncio.Event()
        if self.total:
            workers = min(self.transport.connections, self.total)
            sessions = await _open_all(self.transport, workers)
            queue: asyncio.Queue[Outgoing | None] = asyncio.Queue(maxsize=2 * workers)
            with self._interruptible():
                await asyncio.gather(
                    self._produce(queue, messages, workers), *(self._work(queue, s) for s in sessions)
                )
        self.report.not_attempted = self.total - self.done

    async def _produce(
        self, queue: asyncio.Queue[Outgoing | None], messages: Iterator[Outgoing], workers: int
    ) -> None:
        try:
            for message in messages:
                if self.stopping.is_set():
                    break
                await queue.put(message)
        except SendingError as exc:
            self._stop(str(exc))
        for _ in range(workers):
            await queue.put(None)

    async def _work(self, queue: asyncio.Queue[Outgoing | None], session: Session) -> None:
        """Deliver until the queue ends; a fatal error stops everyone after their message in flight."""
        try:
            while (message := await queue.get()) is not None:
                if self.stopping.is_set():
                    continue
                try:
                    await self._deliver(session, message)
                except SendingError as exc:
                    self._stop(str(exc))
        finally:
            await session.close()

    async def _deliver(self, session: Session, message: Outgoing) -> None:
        def before_data() -> None:
            self.journal.begin(
                self.issue, message.email, edition=message.edition, message_id=message.message_id
            )

        reply = ""
        for attempt in range(self.sending.retries + 1):
            if attempt:
                await session.close()  # no connection held open while waiting; `send` opens a new one
                if not await self._pause(backoff(attempt, base=self.sending.retry_delay, cap=self.max_delay)):
                    break
            delay = self.limit.reserve()
            if delay is None:
                self._stop(
                    f"the daily limit of {self.limit.per_day} messages is reached: "
                    "run `composer send` again tomorrow for the rest"
                )
                break
            if not await self._pause(delay):
                break
            try:
                reply = await session.send(
                    sender=self.sender, recipient=message.email, data=message.data, before_data=before_data
                )
            except SmtpFailure as exc:
                if exc.kind == "permanent":  # this recipient's result: no sign the server is down
                    return self._finish(message.email, "failed", exc.reply)
                if exc.kind == "uncertain":
                    self._failed_attempt(exc.reply)
                    return self._finish(message.email, "in_flight", exc.reply)  # held, never retried
                reply = exc.reply
                if exc.server:
                    self._failed_attempt(reply)
            else:
                self.failures_in_a_row = 0
                return self._finish(message.email, "sent", reply)
        if reply:
            self._finish(message.email, "deferred", reply)

    def _finish(self, email: str, state: State, reply: str) -> None:
        self.journal.finish(self.issue, email, state, reply)
        self.done += 1
        if state == "sent":
            self.report.sent += 1
        else:
            outcomes = {"failed": self.report.failed, "in_flight": self.report.uncertain}
            outcomes.get(state, self.report.deferred).append(Outcome(email, reply))
        if self.progress:
            self.progress(Progress(self.done, self.total, email, state))

    def _failed_attempt(self, reply: str) -> None:
        self.failures_in_a_row += 1
        if self.failures_in_a_row >= self.sending.pause_after:
            self._stop(
                f"paused: the last {self.failures_in_a_row} attempts all failed (last reply: {reply}); "
                "the server or the account looks unavailable. Run `composer send` again later: "
                "those not sent are kept for the next run"
            )

    async def _pause(self, seconds: float) -> bool:
        """Wait (for a retry or the rate limit); False when sending stops meanwhile."""
        if seconds > 0:
            await self.wait(self.stopping, seconds)
        return not self.stopping.is_set()

    def _stop(self, reason: str) -> None:
        if not self.stopping.is_set():
            self.report.stopped = reason
            self.stopping.set()

    @contextlib.contextmanager
    def _interruptible(self) -> Iterator[None]:
        """First Ctrl-C: finish the messages in flight and stop; a second one stops at once."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def interrupt() -> None:
            if self.stopping.is_set() and task is not None:
                task.cancel()
            self._stop(
                "interrupted: the messages in flight were finished; run `composer send` again "
                "to send the rest"
            )

        installed = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, interrupt)
                installed.append(signum)
        try:
            yield
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)

"""`composer send`: who gets which edition, a test copy, and delivery that never sends twice.

Each person gets one message: the edition for their networks, encoded once, with their name and
unsubscribe link spliced in. The journal decides who still needs the issue; retries, pausing and
Ctrl-C all leave it telling the truth about every person.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError

from composer.check import check_loaded
from composer.editions import FULL, EditionKey, edition_key, edition_name
from composer.errors import ComposerError, Problem, SendingError, ValidationFailed
from composer.journal import Journal, State
from composer.messages import EncodedEdition, Personal, encode_edition, list_unsubscribe, message_id
from composer.project import load_project
from composer.recipients import Person, Recipient, read_lists, usable_address
from composer.render import PLACEHOLDERS, Renderer, reader_values
from composer.tokens import make_token, secret, unsubscribe_link
from composer.transport import (
    Outbox,
    PermanentFailure,
    RateLimit,
    Session,
    SmtpTransport,
    TemporaryFailure,
    Transport,
)

SAMPLE_SIZE = 3
DAY = 24 * 60 * 60


@dataclass(frozen=True)
class EditionCount:
    name: str
    recipients: int
    sample: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    email: str
    reply: str


@dataclass(frozen=True)
class SendPlan:
    """Who gets which edition, what the journal says was done already, and how long it will take."""

    issue: int
    transport: str
    editions: tuple[EditionCount, ...]
    recipients: int
    already_sent: int
    uncertain: tuple[str, ...]
    failed_before: tuple[Outcome, ...]
    to_send: int
    rate_per_minute: int | None
    rate_per_day: int | None
    editions_to_send: frozenset[EditionKey] = frozenset()
    warnings: tuple[Problem, ...] = ()

    @property
    def estimate_seconds(self) -> float:
        return 0.0 if self.rate_per_minute is None else self.to_send * 60 / self.rate_per_minute

    @property
    def days(self) -> int:
        return max(1, math.ceil(self.to_send / self.rate_per_day)) if self.rate_per_day else 1

    def as_dict(self) -> dict[str, object]:
        return {
            "issue": self.issue,
            "transport": self.transport,
            "recipients": self.recipients,
            "editions": [
                {"edition": e.name, "recipients": e.recipients, "sample": list(e.sample)}
                for e in self.editions
            ],
            "already_sent": self.already_sent,
            "uncertain": list(self.uncertain),
            "failed_before": [o.__dict__ for o in self.failed_before],
            "to_send": self.to_send,
            "rate_per_minute": self.rate_per_minute,
            "rate_per_day": self.rate_per_day,
            "estimate_seconds": round(self.estimate_seconds, 1),
            "days": self.days,
            "warnings": [p.as_dict() for p in self.warnings],
        }


@dataclass
class SendReport:
    """What a run did; together with the plan's counts it matches the journal row for row."""

    plan: SendPlan
    sent: int = 0
    deferred: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)
    not_attempted: int = 0
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        return not (
            self.deferred
            or self.failed
            or self.plan.failed_before
            or self.plan.uncertain
            or self.not_attempted
            or self.stopped
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "issue": self.plan.issue,
            "transport": self.plan.transport,
            "sent": self.sent,
            "already_sent": self.plan.already_sent,
            "deferred": [o.__dict__ for o in self.deferred],
            "failed": [o.__dict__ for o in self.failed],
            "failed_before": [o.__dict__ for o in self.plan.failed_before],
            "uncertain": list(self.plan.uncertain),
            "not_attempted": self.not_attempted,
            "stopped": self.stopped,
        }


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    email: str
    state: str


@dataclass(frozen=True)
class CopySent:
    issue: int
    address: str
    edition: str
    transport: str
    reply: str

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class _Context:
    """Everything a send needs, checked before anything is sent."""

    def __init__(
        self,
        root: Path,
        ref: str | None,
        *,
        networks: Collection[str],
        transport: str | None,
        rate: int | None,
        env: Mapping[str, str] | None,
    ):
        self.project = load_project(root)
        report = check_loaded(self.project, ref)
        self._editions = {edition.key: edition for edition in report.editions}
        if report.errors:
            raise ValidationFailed(report.problems)
        self.lists = read_lists(self.project)
        self.lists.require_valid()
        unknown = sorted(set(networks) - self.project.networks.keys())
        if unknown:
            raise ComposerError(f"unknown network id(s) {', '.join(unknown)}: see recipients/networks.yaml")
        self.networks = frozenset(networks)
        self.warnings = tuple(report.warnings + self.lists.problems)
        self.plan = report.plan
        self.number = report.issue.number
        self.settings = self.project.settings
        sending = self.settings.sending.with_environment(env)
        self.sending = sending.model_copy(update={"rate_per_minute": rate}) if rate else sending
        self.env = env
        kind = transport or self.sending.transport
        if kind == "auto":
            kind = "smtp" if self.sending.smtp.host else "outbox"
        self.kind = kind
        self.outbox = self.project.root / self.sending.outbox
        self.journal_path = self.project.root / self.sending.journal
        self._encoded: dict[EditionKey, EncodedEdition] = {}

    def transport(self, folder: Path) -> Transport:
        if self.kind == "outbox":
            return Outbox(folder)
        return SmtpTransport(self.sending.smtp, self.env)

    def recipients(self) -> Iterator[Recipient]:
        return self.lists.recipients(networks=self.networks or None)

    def encoded(self, key: EditionKey) -> EncodedEdition:
        """Each edition is encoded once per run, when its first reader comes up.

        The check rendered every edition the members need; a test copy of a single network's
        edition may ask for one it did not.
        """
        if key not in self._encoded:
            if key not in self._editions:
                self._editions[key] = Renderer(self.project).edition(self.plan, key)
            edition = self._editions[key]
            self._encoded[key] = encode_edition(edition, settings=self.settings, placeholders=PLACEHOLDERS)
        return self._encoded[key]

    def personal(
        self, email: str, name: str, networks: frozenset[str], *, key: bytes, test: bool = False
    ) -> Personal:
        token = make_token(email, key=key)
        link = unsubscribe_link(str(self.sending.unsubscribe_url), token)
        values = reader_values(
            self.settings,
            unsubscribe_url=link,
            html=False,
            name=name,
            networks=[self.project.networks[n].name for n in networks],
        )
        missing = sorted(PLACEHOLDERS.keys() - values.keys())
        if missing:
            raise SendingError(
                f"the templates use placeholder(s) that sending cannot fill: {', '.join(missing)}"
            )
        return Personal(
            email=email,
            name=name,
            message_id=message_id(issue=self.number, email=email, settings=self.settings, test=test),
            unsubscribe=list_unsubscribe(link=link, token=token, settings=self.settings),
            values=values,
        )


def plan_send(
    root: Path,
    ref: str | None = None,
    *,
    networks: Collection[str] = (),
    transport: str | None = None,
    rate: int | None = None,
    resend_uncertain: bool = False,
    env: Mapping[str, str] | None = None,
) -> SendPlan:
    """`--dry-run`: the summary of a send, without sending or writing anything."""
    context = _Context(root, ref, networks=networks, transport=transport, rate=rate, env=env)
    context.transport(context.outbox / str(context.number))
    journal = Journal(context.journal_path) if context.journal_path.exists() else None
    try:
        return _plan(context, journal, resend_uncertain=resend_uncertain)
    finally:
        if journal:
            journal.close()


def _plan(context: _Context, journal: Journal | None, *, resend_uncertain: bool) -> SendPlan:
    counts: Counter[str] = Counter()
    samples: dict[str, list[str]] = {}
    already, to_send = 0, 0
    uncertain: list[str] = []
    failed: list[Outcome] = []
    keys: set[EditionKey] = set()
    for recipient in context.recipients():
        email = recipient.person.email
        entry = journal.entry(context.number, email) if journal else None
        state = entry.state if entry else "pending"
        if state == "sent":
            already += 1
        elif state == "failed" and entry:
            failed.append(Outcome(email, entry.reply))
        elif state == "in_flight" and not resend_uncertain:
            uncertain.append(email)
        else:
            to_send += 1
            keys.add(recipient.edition)
        name = edition_name(recipient.edition)
        counts[name] += 1
        sample = samples.setdefault(name, [])
        if len(sample) < SAMPLE_SIZE:
            sample.append(email)
    smtp = context.kind == "smtp"
    return SendPlan(
        issue=context.number,
        transport=context.kind,
        editions=tuple(
            EditionCount(name, count, tuple(samples[name])) for name, count in counts.most_common()
        ),
        recipients=sum(counts.values()),
        already_sent=already,
        uncertain=tuple(uncertain),
        failed_before=tuple(failed),
        to_send=to_send,
        rate_per_minute=context.sending.rate_per_minute if smtp else None,
        rate_per_day=context.sending.rate_per_day if smtp else None,
        editions_to_send=frozenset(keys),
        warnings=context.warnings,
    )


def send_test(
    root: Path,
    ref: str | None = None,
    *,
    to: str,
    networks: Collection[str] = (),
    transport: str | None = None,
    env: Mapping[str, str] | None = None,
) -> CopySent:
    """`--to`: one copy of the full edition (or of the networks' edition); the journal is untouched."""
    context = _Context(root, ref, networks=networks, transport=transport, rate=None, env=env)
    try:
        address = usable_address(to)
    except EmailNotValidError as exc:
        raise ComposerError(f"--to {to!r} is not a usable address: {exc}") from None
    key = edition_key(context.networks) if context.networks else FULL
    member = context.lists.find(address)
    personal = context.personal(
        address, member.name if member else "", context.networks, key=secret(env), test=True
    )
    chosen = context.transport(context.outbox / "tests" / str(context.number))
    data = context.encoded(key).personalise(personal, dot_stuffed=chosen.dot_stuffed)

    async def deliver() -> str:
        session = await _open(chosen)
        try:
            return await session.send(
                sender=context.settings.sender.email, recipient=address, data=data, before_data=lambda: None
            )
        finally:
            await session.close()

    try:
        reply = asyncio.run(deliver())
    except (TemporaryFailure, PermanentFailure) as exc:
        raise SendingError(f"the test copy to {address} was not accepted: {exc.reply}") from exc
    return CopySent(context.number, address, edition_name(key), chosen.name, reply)


def send_issue(
    root: Path,
    ref: str | None = None,
    *,
    networks: Collection[str] = (),
    transport: str | None = None,
    rate: int | None = None,
    resend_uncertain: bool = False,
    confirm: Callable[[SendPlan], None] | None = None,
    progress: Callable[[Progress], None] | None = None,
    env: Mapping[str, str] | None = None,
) -> SendReport:
    """Send the issue to everyone who has not had it; `confirm` may raise to cancel after the summary."""
    context = _Context(root, ref, networks=networks, transport=transport, rate=rate, env=env)
    key = secret(env)
    chosen = context.transport(context.outbox / str(context.number))
    journal = Journal(context.journal_path)
    try:
        journal.lock()
        plan = _plan(context, journal, resend_uncertain=resend_uncertain)
        if confirm is not None:
            confirm(plan)
        for wanted in plan.editions_to_send:
            context.encoded(wanted)  # rendered before the first connection opens, not while it waits
        journal.add_pending(
            context.number, ((r.person.email, edition_name(r.edition)) for r in context.recipients())
        )
        delivery = _Delivery(
            context, journal, chosen, plan, key=key, resend_uncertain=resend_uncertain, progress=progress
        )
        try:
            return asyncio.run(delivery.run())
        except asyncio.CancelledError:
            raise SendingError(
                "stopped at once: messages that were being sent are held as uncertain; "
                "run `composer send` again to see them"
            ) from None
    finally:
        journal.close()


async def _open(transport: Transport) -> Session:
    try:
        return await transport.open()
    except TemporaryFailure as exc:
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


class _Delivery:
    """Workers, one per connection, taking people from a short queue so memory stays flat."""

    def __init__(
        self,
        context: _Context,
        journal: Journal,
        transport: Transport,
        plan: SendPlan,
        *,
        key: bytes,
        resend_uncertain: bool,
        progress: Callable[[Progress], None] | None,
    ):
        self.context, self.journal, self.transport, self.plan = context, journal, transport, plan
        self.key = key
        self.resend_uncertain = resend_uncertain
        self.progress = progress
        self.report = SendReport(plan)
        self.sending = context.sending
        self.failures_in_a_row = 0
        self.done = 0
        self.limit = RateLimit(
            per_minute=plan.rate_per_minute,
            per_day=plan.rate_per_day,
            sent_today=journal.sent_since(time.time() - DAY),
        )

    async def run(self) -> SendReport:
        self.stopping = asyncio.Event()
        if self.plan.to_send:
            workers = min(self.transport.connections, self.plan.to_send)
            sessions = await _open_all(self.transport, workers)
            queue: asyncio.Queue[Recipient | None] = asyncio.Queue(maxsize=2 * workers)
            with self._interruptible():
                await asyncio.gather(self._produce(queue, workers), *(self._work(queue, s) for s in sessions))
        self.report.not_attempted = self.plan.to_send - self.done
        return self.report

    def _jobs(self) -> Iterator[Recipient]:
        for recipient in self.context.recipients():
            entry = self.journal.entry(self.context.number, recipient.person.email)
            state = entry.state if entry else "pending"
            if state in ("pending", "deferred") or (state == "in_flight" and self.resend_uncertain):
                yield recipient

    async def _produce(self, queue: asyncio.Queue[Recipient | None], workers: int) -> None:
        for recipient in self._jobs():
            if self.stopping.is_set():
                break
            await queue.put(recipient)
        for _ in range(workers):
            await queue.put(None)

    async def _work(self, queue: asyncio.Queue[Recipient | None], session: Session) -> None:
        try:
            while (recipient := await queue.get()) is not None:
                if not self.stopping.is_set():
                    await self._deliver(session, recipient)
        finally:
            await session.close()

    async def _deliver(self, session: Session, recipient: Recipient) -> None:
        person = recipient.person
        edition = self.context.encoded(recipient.edition)
        personal = self.context.personal(person.email, person.name, recipient.networks, key=self.key)
        data = edition.personalise(personal, dot_stuffed=self.transport.dot_stuffed)

        def before_data() -> None:
            self.journal.begin(
                self.context.number, person.email, edition=edition.name, message_id=personal.message_id
            )

        reply = ""
        for attempt in range(self.sending.retries + 1):
            if attempt and not await self._backoff(attempt):
                break
            if not await self.limit.wait():
                self._stop(
                    f"the daily limit of {self.sending.rate_per_day} messages is reached: "
                    "run `composer send` again tomorrow for the rest"
                )
                break
            try:
                reply = await session.send(
                    sender=self.context.settings.sender.email,
                    recipient=person.email,
                    data=data,
                    before_data=before_data,
                )
            except PermanentFailure as exc:
                self._failed_attempt(exc.reply)
                return self._finish(person, "failed", exc.reply)
            except TemporaryFailure as exc:
                reply = exc.reply
                self._failed_attempt(reply)
            else:
                self.failures_in_a_row = 0
                return self._finish(person, "sent", reply)
        if reply:
            self._finish(person, "deferred", reply)

    def _finish(self, person: Person, state: State, reply: str) -> None:
        self.journal.finish(self.context.number, person.email, state, reply)
        self.done += 1
        if state == "sent":
            self.report.sent += 1
        else:
            (self.report.failed if state == "failed" else self.report.deferred).append(
                Outcome(person.email, reply)
            )
        if self.progress:
            self.progress(Progress(self.done, self.plan.to_send, person.email, state))

    def _failed_attempt(self, reply: str) -> None:
        self.failures_in_a_row += 1
        if self.failures_in_a_row >= self.sending.pause_after:
            self._stop(
                f"paused: the last {self.failures_in_a_row} attempts all failed (last reply: {reply}); "
                "the server or the account looks unavailable. Run `composer send` again later: "
                "those not sent are kept for the next run"
            )

    async def _backoff(self, attempt: int) -> bool:
        """Wait before a retry; False when sending is stopping meanwhile."""
        delay = self.sending.retry_delay * 2 ** (attempt - 1)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), delay)
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

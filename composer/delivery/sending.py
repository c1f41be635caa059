"""`composer send`: who gets which edition, a test copy, and the send itself.

Each person gets one message: the edition for their networks, encoded once, with their name and
unsubscribe link spliced in. The journal decides who still needs the issue; composer/delivery.py
sends to them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from email_validator import EmailNotValidError

from composer.content.project import load_project
from composer.content.recipients import Recipient, usable_address
from composer.delivery.engine import Delivered, Delivery, Outcome, Outgoing, Progress, send_one
from composer.delivery.journal import Journal, State
from composer.delivery.messages import EncodedEdition, Personal, encode_edition, list_unsubscribe, message_id
from composer.delivery.tokens import make_token, secret, unsubscribe_link
from composer.delivery.transport import Outbox, SmtpTransport, Transport
from composer.email.check import check_loaded
from composer.email.editions import FULL, EditionKey, edition_key, edition_name
from composer.email.render import PLACEHOLDERS, Renderer, reader_values
from composer.errors import ComposerError, Problem, SendingError, ValidationFailed

SAMPLE_SIZE = 3


@dataclass(frozen=True)
class EditionCount:
    name: str
    recipients: int
    sample: tuple[str, ...]


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
class SendReport(Delivered):
    """What a run did; together with the plan's counts it matches the journal row for row."""

    plan: SendPlan = field(kw_only=True)

    @property
    def ok(self) -> bool:
        return not (
            self.deferred
            or self.failed
            or self.uncertain
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
            "uncertain": [o.__dict__ for o in self.uncertain],
            "uncertain_before": list(self.plan.uncertain),
            "not_attempted": self.not_attempted,
            "stopped": self.stopped,
        }


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
        self.lists = report.lists
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
        self._encoded: dict[tuple[EditionKey, bool], EncodedEdition] = {}

    def transport(self, folder: Path) -> Transport:
        if self.kind == "outbox":
            return Outbox(folder)
        return SmtpTransport(self.sending.smtp, self.env)

    def recipients(self) -> Iterator[Recipient]:
        return self.lists.recipients(networks=self.networks or None)

    def encoded(self, key: EditionKey, *, test: bool = False) -> EncodedEdition:
        """Each edition is encoded once per run, when its first reader comes up.

        The check rendered every edition the members need; a test copy of a single network's
        edition may ask for one it did not. A test copy's subject starts with [TEST], so that
        it is never mistaken for the real Update in an inbox.
        """
        if (key, test) not in self._encoded:
            if key not in self._editions:
                self._editions[key] = Renderer(self.project).edition(self.plan, key)
            edition = self._editions[key]
            if test:
                edition = replace(edition, subject=f"[TEST] {edition.subject}")
            encoded = encode_edition(edition, settings=self.settings, placeholders=PLACEHOLDERS)
            self._encoded[key, test] = encoded
        return self._encoded[key, test]

    def message(
        self,
        email: str,
        name: str,
        networks: Collection[str],
        *,
        edition: EditionKey,
        key: bytes,
        dot_stuffed: bool,
        test: bool = False,
    ) -> Outgoing:
        """One person's message: the edition's encoded bytes with their values spliced in."""
        token = make_token(email, key=key)
        url = self.sending.unsubscribe_url
        link = unsubscribe_link(str(url), token) if url else None
        values = reader_values(
            self.settings,
            token=token,
            unsubscribe_url=link or "",
            html=False,
            name=name,
            networks=[self.project.networks[n].name for n in networks],
        )
        missing = sorted(PLACEHOLDERS.keys() - values.keys())
        if missing:
            raise SendingError(
                f"the templates use placeholder(s) that sending cannot fill: {', '.join(missing)}"
            )
        personal = Personal(
            email=email,
            name=name,
            message_id=message_id(issue=self.number, email=email, settings=self.settings, test=test),
            unsubscribe=list_unsubscribe(link=link, token=token, settings=self.settings),
            values=values,
        )
        encoded = self.encoded(edition, test=test)
        data = encoded.personalise(personal, dot_stuffed=dot_stuffed)
        return Outgoing(email, encoded.name, personal.message_id, data)


def _due(state: State, *, resend_uncertain: bool) -> bool:
    """Whether a person in this journal state is sent to in this run."""
    return state in ("pending", "deferred") or (state == "in_flight" and resend_uncertain)


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
    exists = context.journal_path.exists()
    journal = Journal(context.journal_path, transport=context.kind) if exists else None
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
        state: State = entry.state if entry else "pending"
        if _due(state, resend_uncertain=resend_uncertain):
            to_send += 1
            keys.add(recipient.edition)
        elif state == "sent":
            already += 1
        elif state == "failed" and entry:
            failed.append(Outcome(email, entry.reply))
        else:
            uncertain.append(email)
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
    edition = edition_key(context.networks) if context.networks else FULL
    member = context.lists.find(address)
    chosen = context.transport(context.outbox / "tests" / str(context.number))
    message = context.message(
        address,
        member.name if member else "",
        context.networks,
        edition=edition,
        key=secret(env),
        dot_stuffed=chosen.dot_stuffed,
        test=True,
    )
    reply = send_one(chosen, sender=context.settings.sender.email, message=message)
    return CopySent(context.number, address, message.edition, chosen.name, reply)


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
    context.lists.require_recipients(context.networks)
    key = secret(env)
    chosen = context.transport(context.outbox / str(context.number))
    journal = Journal(context.journal_path, transport=context.kind)
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
        report = SendReport(plan=plan)
        delivery = Delivery(
            chosen,
            journal,
            issue=context.number,
            sender=context.settings.sender.email,
            sending=context.sending,
            per_minute=plan.rate_per_minute,
            per_day=plan.rate_per_day,
            total=plan.to_send,
            report=report,
            progress=progress,
        )
        delivery.run(
            context.message(
                r.person.email,
                r.person.name,
                r.networks,
                edition=r.edition,
                key=key,
                dot_stuffed=chosen.dot_stuffed,
            )
            for r in context.recipients()
            if _due(_state(journal, context.number, r), resend_uncertain=resend_uncertain)
        )
        return report
    finally:
        journal.close()


def _state(journal: Journal, issue: int, recipient: Recipient) -> State:
    entry = journal.entry(issue, recipient.person.email)
    return entry.state if entry else "pending"

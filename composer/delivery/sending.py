"""`composer send`: who gets which edition, and the send itself (copies.py: test and review copies).

Each person gets one message: the edition for their networks, encoded once, with their name and
unsubscribe link spliced in. The journal, read once per person, decides who still needs the issue;
composer/delivery/engine.py sends to them, edition by edition (see composer/delivery/context.py).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass, field

from composer.content.project import Project
from composer.content.reviews import read_reviews
from composer.delivery.context import SendContext
from composer.delivery.engine import Delivered, Delivery, Outcome, Progress
from composer.delivery.journal import Journal, State
from composer.delivery.pipeline import Pipeline
from composer.delivery.tokens import secret
from composer.email.editions import FULL, EditionKey, edition_name
from composer.email.links import LinkReport, check_links
from composer.errors import ComposerError, Problem, ValidationFailed

SAMPLE_SIZE = 3


@dataclass(frozen=True)
class EditionCount:
    """An edition of the send: its readers, and the sets of networks that share it."""

    name: str
    recipients: int
    sample: tuple[str, ...]
    serves: tuple[str, ...] = ()
    key: EditionKey = FULL  # the set of networks it is named after (and rendered for)


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
    warnings: tuple[Problem, ...] = ()
    links: LinkReport | None = None  # None: not checked (--no-link-check, or a test copy)

    @property
    def problems(self) -> list[Problem]:
        """What to show before sending: the warnings, and every problem of the links."""
        return [*self.warnings, *(self.links.problems if self.links else [])]

    unresolved_comments: int = 0  # reviewers' comments not marked resolved: mentioned, never blocking

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
                {
                    "edition": e.name,
                    "recipients": e.recipients,
                    "sample": list(e.sample),
                    "serves": list(e.serves),
                }
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
            **({"links": self.links.as_dict()} if self.links else {}),
            "unresolved_comments": self.unresolved_comments,
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
            **({"links": self.plan.links.as_dict()} if self.plan.links else {}),
        }


@dataclass
class _Group:
    """The readers of one edition in this send: counted, sampled, and the places of those due."""

    key: EditionKey
    recipients: int = 0
    sample: list[str] = field(default_factory=list)
    due: array[int] = field(default_factory=lambda: array("L"))
    serves: set[str] = field(default_factory=set)


def _due(state: State, *, resend_uncertain: bool) -> bool:
    """Whether a person in this journal state is sent to in this run."""
    return state in ("pending", "deferred") or (state == "in_flight" and resend_uncertain)


def plan_send(
    project: Project,
    ref: str | None = None,
    *,
    networks: Collection[str] = (),
    transport: str | None = None,
    rate: int | None = None,
    resend_uncertain: bool = False,
    link_check: bool = True,
    env: Mapping[str, str] | None = None,
) -> SendPlan:
    """`--dry-run`: the summary of a send, without sending anything; with the link check's
    findings, errors included (the send would stop on them)."""
    context = SendContext(project, ref, networks=networks, transport=transport, rate=rate, env=env)
    context.transport(context.outbox / str(context.number))
    links = _links(context) if link_check else None
    exists = context.journal_path.exists()
    journal = Journal(context.journal_path, transport=context.kind) if exists else None
    try:
        return _plan(context, journal, resend_uncertain=resend_uncertain, links=links)[0]
    finally:
        if journal:
            journal.close()


def plan_editions(context: SendContext) -> SendPlan:
    """The editions of a send to everyone on the lists and their readers, the journal aside."""
    return _plan(context, None, resend_uncertain=False)[0]


def _links(context: SendContext) -> LinkReport:
    """The link check of the issue, from the full edition the send checked already."""
    return check_links(context.project, context.sourced, context.plan, context.full)


def _plan(
    context: SendContext, journal: Journal | None, *, resend_uncertain: bool, links: LinkReport | None = None
) -> tuple[SendPlan, list[_Group]]:
    """The summary, and who is due in each edition (by place in the members file, in file order).

    The only pass that reads the journal: the send goes by what it found (the journal is locked).
    """
    groups: dict[Hashable, _Group] = {}
    already, to_send = 0, 0
    uncertain: list[str] = []
    failed: list[Outcome] = []
    filter_networks = context.networks or None
    known = journal.states(context.number) if journal else {}
    for index, person in enumerate(context.lists.people):
        recipient = context.lists.recipient(person, networks=filter_networks)
        if recipient is None:
            continue
        email = person.email
        state, reply = known.get(email.lower(), ("pending", ""))
        key = recipient.edition
        group = groups.setdefault(context.identity(key), _Group(key))
        group.recipients += 1
        group.serves.add(edition_name(key))
        if len(group.sample) < SAMPLE_SIZE:
            group.sample.append(email)
        if _due(state, resend_uncertain=resend_uncertain):
            to_send += 1
            group.due.append(index)
        elif state == "sent":
            already += 1
        elif state == "failed":
            failed.append(Outcome(email, reply))
        else:
            uncertain.append(email)
    ordered = sorted(groups.values(), key=lambda group: -group.recipients)
    smtp = context.kind == "smtp"
    plan = SendPlan(
        issue=context.number,
        transport=context.kind,
        editions=tuple(
            EditionCount(
                context.name(g.key),
                g.recipients,
                tuple(g.sample),
                tuple(sorted(g.serves)),
                context.named.first(g.key),
            )
            for g in ordered
        ),
        recipients=sum(g.recipients for g in ordered),
        already_sent=already,
        uncertain=tuple(uncertain),
        failed_before=tuple(failed),
        to_send=to_send,
        rate_per_minute=context.sending.rate_per_minute if smtp else None,
        rate_per_day=context.sending.rate_per_day if smtp else None,
        warnings=context.warnings,
        links=links,
        unresolved_comments=_unresolved(context),
    )
    return plan, [group for group in groups.values() if group.due]


def _unresolved(context: SendContext) -> int:
    """How many reviewers' comments are not resolved; a reviews file that cannot be read must not
    stop a send, so it counts as none."""
    try:
        return len(read_reviews(context.project.root, context.number).unresolved)
    except ComposerError:
        return 0


def send_issue(
    project: Project,
    ref: str | None = None,
    *,
    networks: Collection[str] = (),
    transport: str | None = None,
    rate: int | None = None,
    resend_uncertain: bool = False,
    confirm: Callable[[SendPlan], None] | None = None,
    progress: Callable[[Progress], None] | None = None,
    link_check: bool = True,
    env: Mapping[str, str] | None = None,
) -> SendReport:
    """Send the issue to everyone who has not had it; `confirm` may raise to cancel after the summary.

    `link_check`: first ask every link of the issue, and send nothing if one is dead (a link
    cannot be mended once sent); its warnings go with the summary.
    """
    context = SendContext(project, ref, networks=networks, transport=transport, rate=rate, env=env)
    context.lists.require_recipients(context.networks)
    links = _links(context) if link_check else None
    if links and links.errors:
        raise ValidationFailed(links.problems)
    signing_key = secret(env)
    chosen = context.transport(context.outbox / str(context.number))
    journal = Journal(context.journal_path, transport=context.kind)
    try:
        journal.lock()
        plan, groups = _plan(context, journal, resend_uncertain=resend_uncertain, links=links)
        if confirm is not None:
            confirm(plan)
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
        Pipeline(context, groups, journal, signing_key=signing_key, dot_stuffed=chosen.dot_stuffed).run(
            delivery
        )
        return report
    finally:
        journal.close()

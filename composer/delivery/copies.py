"""`composer send --to` and `--review`: copies of editions to one address or to the reviewers,
made exactly as the send makes them; the journal is never touched.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from email_validator import EmailNotValidError

from composer.content.project import Project
from composer.delivery.context import SendContext
from composer.delivery.engine import send_one
from composer.delivery.sending import plan_editions
from composer.delivery.tokens import secret
from composer.email.editions import FULL, edition_key
from composer.errors import ComposerError, did_you_mean
from composer.lists.recipients import usable_address


@dataclass(frozen=True)
class CopySent:
    """A copy sent with `send --to` or `--review`: where it went and which edition."""

    issue: int
    address: str
    edition: str
    transport: str
    reply: str

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def send_test(
    project: Project,
    ref: str | None = None,
    *,
    to: str,
    networks: Collection[str] = (),
    transport: str | None = None,
    env: Mapping[str, str] | None = None,
) -> CopySent:
    """`--to`: one copy of the full edition (or of the networks' edition); the journal is untouched."""
    context = SendContext(project, ref, networks=networks, transport=transport, rate=None, env=env)
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
        first_name=member.first_name if member else "",
        edition=edition,
        signing_key=secret(env),
        dot_stuffed=chosen.dot_stuffed,
        tag="[TEST]",
    )
    reply = send_one(chosen, sender=context.settings.sender.email, message=message)
    return CopySent(context.number, address, message.edition, chosen.name, reply)


def send_review(
    project: Project,
    ref: str | None = None,
    *,
    editions: Collection[str] = (),
    transport: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[CopySent]:
    """`--review`: a [REVIEW] copy of every edition `send` would send (or of those named) to each
    reviewer in `review.to`, the edition and its readers in the subject; the journal is untouched.

    A reviewer is greeted as a reader nobody knows: no member's name or link goes to them.
    """
    context = SendContext(project, ref, networks=(), transport=transport, rate=None, env=env)
    reviewers = context.settings.review.to
    if not reviewers:
        raise ComposerError(
            "no reviewers: add them to composer.yaml as `review: {to: [colleague@example.org]}`"
        )
    plan = plan_editions(context)
    known = {edition.name: edition for edition in plan.editions}
    for name in editions:
        if name not in known:
            raise ComposerError(
                f"--edition {name!r} is not an edition of this send{did_you_mean(name, known)} "
                "(see `composer send --dry-run`)"
            )
    signing_key = secret(env)
    sent = []
    for edition in [known[name] for name in dict.fromkeys(editions)] or plan.editions:
        chosen = context.transport(context.outbox / "reviews" / str(context.number) / edition.name)
        people = f"{edition.recipients} {'person' if edition.recipients == 1 else 'people'}"
        for address in reviewers:
            message = context.message(
                address,
                "",
                edition.key or (),
                edition=edition.key,
                signing_key=signing_key,
                dot_stuffed=chosen.dot_stuffed,
                tag=f"[REVIEW {edition.name}, {people}]",
            )
            reply = send_one(chosen, sender=context.settings.sender.email, message=message)
            sent.append(CopySent(context.number, address, edition.name, chosen.name, reply))
    return sent

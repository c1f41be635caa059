"""`composer inbox`: read the replies and bounces the Update brought back, and act on them.

Each message not seen before is handled inside its own guard: parsed under caps (parse.py),
classified (classify.py), and a delivery report matched to the member whose address it names as
failed. Whatever goes wrong there makes the message `unreadable`: recorded with its reason, left
where it is, and the run goes on. Suppressions are appended to recipients/suppressed.csv first,
then the message moves to the processed folder, then the inbox journal records it: a crash at any
point repeats nothing that took effect. A real run holds a lock, so two never overlap. Replies,
reports for review, automatic replies and unreadable messages stay where they are.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from email.message import Message
from pathlib import Path

from composer.content.project import Project
from composer.delivery.journal import Journal
from composer.delivery.messages import issue_of
from composer.delivery.tokens import secret
from composer.errors import ComposerError
from composer.lists.recipients import Lists, read_lists
from composer.lists.suppressions import Suppression, add_suppressions
from composer.locking import hold_lock
from composer.mailbox.classify import KINDS, SHOWN, Finding, Kind, classify, header_text
from composer.mailbox.journal import InboxJournal, journal_path
from composer.mailbox.parse import Unreadable, message_key, parse_message
from composer.mailbox.sources import FolderSource, ImapSource, Incoming, Source


@dataclass(frozen=True)
class Action:
    """What was done (or, in a dry run, would be done) with one message, and why.

    `review`: members a report is tied to only by our Message-ID, not by a failed address: listed
    for the office to look at, never suppressed.
    """

    kind: Kind
    handle: str
    sender: str
    subject: str
    summary: str
    evidence: str = ""
    suppressed: tuple[Suppression, ...] = ()
    counted: tuple[tuple[str, int], ...] = ()
    review: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "message": self.handle,
            "from": self.sender,
            "subject": self.subject,
            "summary": self.summary,
            "evidence": self.evidence,
            "suppressed": [asdict(suppression) for suppression in self.suppressed],
            "soft_bounces_counted": [{"email": email, "issue": issue} for email, issue in self.counted],
            "review": list(self.review),
        }


@dataclass
class InboxReport:
    """What `composer inbox` did with each message, and the counts by kind."""

    source: str
    dry_run: bool
    actions: list[Action] = field(default_factory=list)
    already_seen: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # entries of a folder not read

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(action.kind for action in self.actions)
        return {kind: found[kind] for kind in KINDS}

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "counts": self.counts,
            "already_seen": self.already_seen,
            "skipped": [{"name": name, "why": why} for name, why in self.skipped],
            "actions": [action.as_dict() for action in self.actions],
        }


def read_inbox(
    project: Project,
    *,
    dry_run: bool = False,
    folder: Path | None = None,
    env: Mapping[str, str] | None = None,
    today: dt.date | None = None,
) -> InboxReport:
    """Handle every message not seen before; `folder` reads saved .eml files instead of IMAP."""
    signing_key = secret(env)
    send_path = project.root / project.settings.sending.journal
    inbox_path = journal_path(send_path)
    settings = project.settings.inbox
    with ExitStack() as stack:
        if not dry_run:  # before anything is read, so a second run sees what the first wrote
            stack.enter_context(
                hold_lock(inbox_path, busy=f"another `composer inbox` is running ({inbox_path}): wait for it")
            )
        lists = read_lists(project)
        lists.require_valid()
        source: Source
        if folder is not None:
            source = FolderSource(folder, settings.max_message_bytes)
        else:
            source = stack.enter_context(
                ImapSource(settings.with_environment(env), env, create_folder=not dry_run)
            )
        journal = InboxJournal(inbox_path) if not dry_run or inbox_path.exists() else None
        if journal is not None:
            stack.callback(journal.close)
        sent = Journal(send_path, transport="smtp") if send_path.exists() else None
        if sent is not None:
            stack.callback(sent.close)
        run = _Run(project, lists, signing_key, journal, sent)
        report = InboxReport(source.where, dry_run)
        for incoming in source.messages():
            identity = message_key(incoming.data)
            if journal is not None and journal.seen(identity):
                report.already_seen += 1
                continue
            action = run.guarded(incoming)
            report.actions.append(action)
            if dry_run:
                continue
            if action.suppressed:
                add_suppressions(project, lists, action.suppressed, today=today)
            if action.kind in ("unsubscribe", "bounce", "soft-bounce"):
                source.move(incoming.handle)
            assert journal is not None
            journal.record(identity, action.kind, action.summary, soft=dict(action.counted))
        report.skipped = source.skipped
        if journal is not None and not dry_run:
            journal.record_run(report.counts)
    return report


class _Run:
    """The decisions of one run: who a message is about, and whether a soft bounce tips them over."""

    def __init__(
        self,
        project: Project,
        lists: Lists,
        signing_key: bytes,
        journal: InboxJournal | None,
        sent: Journal | None,
    ):
        self.project, self.lists, self.signing_key = project, lists, signing_key
        self.journal, self.sent = journal, sent
        self.limit = project.settings.inbox.soft_bounce_limit
        self.max_bytes = project.settings.inbox.max_message_bytes
        self.latest = project.issues[-1].number if project.issues else None
        self.soft: dict[str, set[int]] = {}  # this run's soft bounces, so a dry run counts them too
        self.suppressed: set[str] = set()

    def guarded(self, incoming: Incoming) -> Action:
        """One message's decision, never the run's end: a message over a cap, or one that makes
        the parser, a detector or our own reading fail, becomes `unreadable` with the reason.

        Any exception is caught on purpose, as mail is hostile input to third-party parsers; our
        own errors (a journal that cannot be read) still stop the run.
        """
        try:
            if incoming.size > self.max_bytes:
                raise Unreadable(
                    f"{incoming.size:,} bytes, over inbox.max_message_bytes ({self.max_bytes:,})"
                )
            return self.handle(incoming.handle, parse_message(incoming.data))
        except Unreadable as exc:
            reason = str(exc)
        except ComposerError:
            raise
        except Exception as exc:  # noqa: BLE001 - the guard: see the docstring
            reason = f"{type(exc).__name__}: {exc}"[:300]
        return Action("unreadable", incoming.handle, "", "", reason)

    def handle(self, handle: str, message: Message) -> Action:
        finding = classify(message, signing_key=self.signing_key)
        sender, subject = header_text(message, "from"), header_text(message, "subject")
        action = Action(finding.kind, handle, sender, subject, finding.summary)
        if finding.kind == "unsubscribe" and finding.request is not None:
            request = finding.request
            if request.network is not None and request.network not in self.project.networks:
                summary = f"names an unknown network {request.network!r}"
                return replace(action, kind="reply", summary=summary)
            issue = self._last_sent(request.email)  # the Update the request most likely answers
            suppression = Suppression(request.email, request.network, "unsubscribed", issue)
            return replace(action, suppressed=(suppression,))
        if finding.kind in ("bounce", "soft-bounce"):
            return self._bounce(action, finding)
        return action

    def _bounce(self, action: Action, finding: Finding) -> Action:
        """Suppress (or count) only the members whose address the report names as failed; a
        member tied to it only by the Message-ID it returns is listed for review."""
        issues = [issue for issue in map(issue_of, finding.message_ids) if issue is not None]
        evidence = finding.failures[0].evidence
        suppressions: list[Suppression] = []
        counted: dict[str, int] = {}
        named: set[str] = set()
        for failure in finding.failures:
            person = self.lists.find(failure.address)
            if person is None:
                continue
            email = person.email
            named.add(email.lower())
            issue = issues[0] if issues else self._last_sent(email)
            if failure.permanent:
                suppressions.append(Suppression(email, None, "bounced", issue, failure.status))
            elif issue is not None:
                counted[email] = issue
                if self._tipped(email, issue):
                    detail = f"{self.limit} soft bounces in a row; last {failure.status}"
                    suppressions.append(Suppression(email, None, "soft-bounced", issue, detail))
        review = tuple(email for email in self._returned_to(finding) if email.lower() not in named)
        if not suppressions and not counted:
            addresses = ", ".join(f.address for f in finding.failures[:SHOWN])
            more = f" and {len(finding.failures) - SHOWN:,} more" if len(finding.failures) > SHOWN else ""
            if review:
                summary = (
                    f"a report about {addresses}{more} returns the Update sent to {', '.join(review)}: "
                    "review it (nobody suppressed)"
                )
                return replace(action, kind="review", summary=summary, evidence=evidence, review=review)
            summary = f"a bounce for {addresses}{more}, not on the lists"
            return replace(action, kind="ignored", summary=summary, evidence=evidence)
        return replace(
            action,
            evidence=evidence,
            suppressed=tuple(suppressions),
            counted=tuple(sorted(counted.items())),
            review=review,
        )

    def _returned_to(self, finding: Finding) -> list[str]:
        """The members the Updates a report returns (by our Message-ID) were sent to."""
        found: list[str] = []
        if self.sent is None:
            return found
        for message_id in finding.message_ids:
            sent_as = self.sent.sent_as(message_id)
            person = self.lists.find(sent_as[1]) if sent_as else None
            if person is not None and person.email not in found:
                found.append(person.email)
        return found

    def _last_sent(self, email: str) -> int | None:
        issues = self.sent.issues_sent(email) if self.sent else []
        return issues[-1] if issues else self.latest

    def _tipped(self, email: str, issue: int) -> bool:
        """True when the last `limit` Updates this person was sent all came back soft-bounced."""
        bounced = self.soft.setdefault(
            email.lower(), set(self.journal.soft_bounces(email) if self.journal else ())
        )
        bounced.add(issue)
        sent = self.sent.issues_sent(email) if self.sent else []
        history = sorted(set(sent or (i.number for i in self.project.issues)) | bounced)
        recent = [i for i in history if i <= issue][-self.limit :]
        if len(recent) < self.limit or not all(i in bounced for i in recent) or email in self.suppressed:
            return False
        self.suppressed.add(email)
        return True

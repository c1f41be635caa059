"""`composer inbox`: read the replies and bounces the Update brought back, and act on them.

Each message not seen before is classified (classify.py); a bounce is matched to a person by its
recipient or, when the report returns our headers, by the Message-ID recorded in the send
journal. Suppressions are appended to recipients/suppressed.csv first, then the message moves to
the processed folder, then the inbox journal records it: a crash at any point repeats nothing
that took effect. Ignored messages stay where they are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from email.message import Message
from pathlib import Path

from composer.content.project import Project, load_project
from composer.content.recipients import Lists, read_lists
from composer.content.suppressions import Suppression, add_suppressions
from composer.delivery.journal import Journal
from composer.delivery.messages import issue_of
from composer.delivery.tokens import secret
from composer.mailbox.classify import KINDS, Failure, Finding, Kind, classify, header_text
from composer.mailbox.journal import InboxJournal, journal_path
from composer.mailbox.sources import FolderSource, ImapSource, Source


@dataclass(frozen=True)
class Action:
    """What was done (or, in a dry run, would be done) with one message, and why."""

    kind: Kind
    handle: str
    sender: str
    subject: str
    summary: str
    evidence: str = ""
    suppressed: tuple[Suppression, ...] = ()
    counted: tuple[tuple[str, int], ...] = ()

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
        }


@dataclass
class InboxReport:
    source: str
    dry_run: bool
    actions: list[Action] = field(default_factory=list)
    already_seen: int = 0

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
            "actions": [action.as_dict() for action in self.actions],
        }


def read_inbox(
    root: Path,
    *,
    dry_run: bool = False,
    folder: Path | None = None,
    env: Mapping[str, str] | None = None,
    today: dt.date | None = None,
) -> InboxReport:
    """Handle every message not seen before; `folder` reads saved .eml files instead of IMAP."""
    project = load_project(root)
    lists = read_lists(project)
    lists.require_valid()
    key = secret(env)
    send_path = project.root / project.settings.sending.journal
    inbox_path = journal_path(send_path)
    with ExitStack() as stack:
        source: Source
        if folder is not None:
            source = FolderSource(folder)
        else:
            settings = project.settings.inbox.with_environment(env)
            source = stack.enter_context(ImapSource(settings, env, create_folder=not dry_run))
        journal = InboxJournal(inbox_path) if not dry_run or inbox_path.exists() else None
        if journal is not None:
            stack.callback(journal.close)
        sent = Journal(send_path, transport="smtp") if send_path.exists() else None
        if sent is not None:
            stack.callback(sent.close)
        run = _Run(project, lists, key, journal, sent)
        report = InboxReport(source.where, dry_run)
        for incoming in list(source.messages()):
            identity = message_key(incoming.message)
            if journal is not None and journal.seen(identity):
                report.already_seen += 1
                continue
            action = run.handle(incoming.handle, incoming.message)
            report.actions.append(action)
            if dry_run:
                continue
            if action.suppressed:
                add_suppressions(project, lists, action.suppressed, today=today)
            if action.kind != "ignored":
                source.move(incoming.handle)
            assert journal is not None
            journal.record(identity, action.kind, action.summary, soft=dict(action.counted))
        if journal is not None and not dry_run:
            journal.record_run(report.counts)
    return report


def message_key(message: Message) -> str:
    """A message's identity across runs: its Message-ID, or a digest of its bytes without one."""
    value = " ".join(str(message.get("message-id", "")).split())
    return value or "sha256:" + hashlib.sha256(message.as_bytes()).hexdigest()


class _Run:
    """The decisions of one run: who a message is about, and whether a soft bounce tips them over."""

    def __init__(
        self,
        project: Project,
        lists: Lists,
        key: bytes,
        journal: InboxJournal | None,
        sent: Journal | None,
    ):
        self.project, self.lists, self.key = project, lists, key
        self.journal, self.sent = journal, sent
        self.limit = project.settings.inbox.soft_bounce_limit
        self.latest = project.issues[-1].number if project.issues else None
        self.soft: dict[str, set[int]] = {}  # this run's soft bounces, so a dry run counts them too
        self.suppressed: set[str] = set()

    def handle(self, handle: str, message: Message) -> Action:
        finding = classify(message, key=self.key)
        sender, subject = header_text(message, "from"), header_text(message, "subject")
        action = Action(finding.kind, handle, sender, subject, finding.summary)
        if finding.kind == "unsubscribe" and finding.request is not None:
            request = finding.request
            if request.network is not None and request.network not in self.project.networks:
                summary = f"names an unknown network {request.network!r}"
                return replace(action, kind="ignored", summary=summary)
            issue = self._last_sent(request.email)  # the Update the request most likely answers
            suppression = Suppression(request.email, request.network, "unsubscribed", issue)
            return replace(action, suppressed=(suppression,))
        if finding.kind in ("bounce", "soft-bounce"):
            return self._bounce(action, finding)
        return action

    def _bounce(self, action: Action, finding: Finding) -> Action:
        sent_as = [self.sent.sent_as(mid) for mid in finding.message_ids] if self.sent else []
        returned = [found for found in sent_as if found is not None]
        issues = [issue for issue in map(issue_of, finding.message_ids) if issue is not None]
        evidence = finding.failures[0].evidence
        suppressions: list[Suppression] = []
        counted: dict[str, int] = {}
        for failure in finding.failures:
            email = self._person(failure, returned)
            if email is None:
                continue
            issue = issues[0] if issues else self._last_sent(email)
            if failure.permanent:
                suppressions.append(Suppression(email, None, "bounced", issue, failure.status))
            elif issue is not None:
                counted[email] = issue
                if self._tipped(email, issue):
                    detail = f"{self.limit} soft bounces in a row; last {failure.status}"
                    suppressions.append(Suppression(email, None, "soft-bounced", issue, detail))
        if not suppressions and not counted:
            addresses = ", ".join(f.address for f in finding.failures)
            return replace(
                action,
                kind="ignored",
                summary=f"a bounce for {addresses}, not on the lists",
                evidence=evidence,
            )
        return replace(
            action, evidence=evidence, suppressed=tuple(suppressions), counted=tuple(sorted(counted.items()))
        )

    def _person(self, failure: Failure, returned: list[tuple[int, str]]) -> str | None:
        """The member a failure is about: by address, or by the Message-ID the report returned."""
        person = self.lists.find(failure.address)
        if person is not None:
            return person.email
        if len(returned) == 1:
            person = self.lists.find(returned[0][1])
        return person.email if person is not None else None

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

"""What one build of the preview knows: the project as loaded, each issue's check, whom a page shows.

A build is made on every save. An issue is first checked with the one edition its open page
shows (quick), then in full in the background; the index and the page say which they show.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import quote

from composer.content.carry import new_item_counts
from composer.content.model import Issue
from composer.content.project import Project
from composer.email.check import CheckReport
from composer.email.editions import Audience, EditionKey, audiences, edition_name, parse_edition_name, select
from composer.email.placeholders import reader_values
from composer.email.render import Edition, Renderer
from composer.errors import Findings, Problem
from composer.lists.recipients import Lists, Recipient

# Each check renders every edition (about a second): only the newest issues are checked unasked.
BACKGROUND_CHECKS = 8
MEMBER = "member:"
FOUND_MEMBERS = 20  # the most members a search lists
VIEW_EXTENSIONS = {"html": "html", "text": "txt", "source": "html.txt"}


@dataclass
class IssueView:
    """One issue as one build sees it: `composer check`'s findings and editions, and any other
    edition rendered on demand (or found among those with the same items)."""

    checked: CheckReport
    renderer: Renderer
    lock: threading.RLock  # the preview's one rendering lock (Preview.render_lock)
    editions: dict[object, Edition] = field(init=False, default_factory=dict)  # those not checked

    @cached_property
    def audiences(self) -> list[Audience]:
        """The editions `composer send` would send, with their readers (the Edition menu)."""
        return audiences(self.checked.plan, (r.edition for r in self.checked.lists.recipients()))

    def audience(self, key: EditionKey) -> Audience | None:
        """The edition sent to readers of this set of networks, if anyone is in exactly that set."""
        return next((a for a in self.audiences if key in a.serves), None)

    def edition(self, key: EditionKey) -> Edition:
        plan = self.checked.plan
        content = select(plan, key).identity
        with self.lock:
            checked = self.checked.editions.find(content)
            if checked is not None:
                return checked
            if content not in self.editions:
                self.editions[content] = self.renderer.edition(plan, key)
            return self.editions[content]


@dataclass(frozen=True)
class Verdict:
    """What the top of a page says first: would `composer send` go? Errors block it, warnings do not.

    `complete`: every edition was checked; until then the counts are those found so far.
    """

    errors: int
    warnings: int
    complete: bool = True

    @property
    def ready(self) -> bool:
        return self.complete and not self.errors

    @property
    def state(self) -> str:
        """The page's class for it: ready, blocked or pending (with words beside, never colour alone)."""
        if self.errors:
            return "blocked"
        return "ready" if self.ready else "pending"

    @property
    def headline(self) -> str:
        if self.errors:
            return "Not ready"
        return "Ready to send" if self.complete else "Checking the other editions"

    @property
    def counts(self) -> tuple[str, str]:
        return plural(self.errors, "error", "errors"), plural(self.warnings, "warning", "warnings")

    def __str__(self) -> str:
        errors, warnings = self.counts
        shown = errors if self.errors and not self.warnings else f"{errors}, {warnings}"
        return f"{self.headline} — {shown}" + ("" if self.complete or self.errors else " so far")


def verdict_of(problems: list[Problem], *, extra_errors: int = 0, complete: bool = True) -> Verdict:
    errors = sum(p.severity == "error" for p in problems) + extra_errors
    return Verdict(errors, sum(p.severity == "warning" for p in problems), complete)


@dataclass(frozen=True)
class IssueState(Findings):
    """What the issue page shows: a view (this build's, or the last good one) and the problems.

    `complete`: every edition was checked; otherwise only the one the page asked for.
    """

    view: IssueView | None
    problems: list[Problem]
    render_error: str = ""
    complete: bool = True

    @property
    def broken(self) -> bool:
        return bool(self.render_error) or bool(self.errors)

    def verdict(self, failure: list[Problem]) -> Verdict:
        """`composer send`'s verdict; while the shared files do not load (`failure`), they block it."""
        problems = failure + self.problems
        return verdict_of(problems, extra_errors=bool(self.render_error), complete=self.complete)

    def item_problems(self, item_id: str) -> list[Problem]:
        """The problems found in one item (the outline shows them beside it)."""
        own = (f"items[{item_id}]", f"carried[{item_id}]")
        return [p for p in self.problems if p.field.split(".")[0] in own]


@dataclass(frozen=True)
class Choice:
    """Whom the page previews: an edition, or one named member (who gets their edition)."""

    key: EditionKey
    recipient: Recipient | None = None

    @property
    def value(self) -> str:
        return MEMBER + self.recipient.person.email if self.recipient else edition_name(self.key)

    def values(self, project: Project, *, html: bool) -> dict[str, str]:
        """Placeholder values: the member's own, or those of a reader nobody knows."""
        return reader_values(
            project.settings,
            unsubscribe_url=str(project.settings.sending.unsubscribe_url),
            html=html,
            name=self.recipient.person.name if self.recipient else "",
            first_name=self.recipient.person.first_name if self.recipient else "",
            networks=[project.networks[n].name for n in self.key or ()],
        )

    def email_url(self, number: int, view: str) -> str:
        url = f"/issue/{number}/email/{edition_name(self.key)}.{VIEW_EXTENSIONS[view]}"
        return url + (f"?member={quote(self.recipient.person.email)}" if self.recipient else "")


def member_label(recipient: Recipient) -> str:
    return f"{recipient.person.name} <{recipient.person.email}>"


@dataclass
class Build:
    """One rebuild. While the shared files are broken, `project` stays the last one that loaded."""

    id: int
    project: Project | None
    renderer: Renderer | None
    lists: Lists | None
    failure: list[Problem]
    issues: dict[int, IssueState] = field(default_factory=dict)

    @property
    def complete(self) -> int:
        """How many issues this build has checked in full."""
        return sum(state.complete for state in list(self.issues.values()))

    def choose(self, value: str) -> Choice | None:
        """The Choice named by an edition selector value, or None if it names nothing known."""
        if self.project is None:
            return None
        if value.startswith(MEMBER):
            person = self.lists.find(value.removeprefix(MEMBER)) if self.lists else None
            recipient = self.lists.recipient(person) if self.lists and person else None
            return Choice(recipient.edition, recipient) if recipient else None
        key = parse_edition_name(value)
        return Choice(key) if key is None or key <= self.project.networks.keys() else None

    def find_members(self, query: str, limit: int = FOUND_MEMBERS) -> tuple[list[tuple[str, str]], int]:
        """Members whose name or address holds `query`, as (selector value, label), the first
        `limit` of them, and how many there are in all: the search box says how many more."""
        wanted = query.strip().casefold()
        found: list[tuple[str, str]] = []
        if not wanted or self.lists is None:
            return found, 0
        total = 0
        for recipient in self.lists.recipients():
            person = recipient.person
            if wanted in person.email.casefold() or wanted in person.name.casefold():
                total += 1
                if len(found) < limit:
                    found.append((MEMBER + person.email, member_label(recipient)))
        return found, total

    def options(self, choice: Choice, view: IssueView) -> list[tuple[str, list[tuple[str, str]]]]:
        """The edition selector's groups of (value, label): the editions `send` sends, each with its
        readers and the sets of networks it serves, then the full one; a member when one is chosen."""
        assert self.project is not None
        names = {n.id: n.name for n in self.project.networks.values()}
        sent = [(a.name, audience_label(a, names)) for a in view.audiences]
        groups = [("Editions sent, most readers first", sent)]
        if not sent:  # before there are members, one edition per network stands in for them
            stand_ins = [(edition_name(frozenset([n])), f"{names[n]} (no members yet)") for n in names]
            groups = [("No members yet: one edition per network", stand_ins)]
        groups.append(("Not sent to anyone", [("full", "Full edition: every item (the archive's)")]))
        if choice.recipient is not None:
            groups.append(("Member", [(choice.value, member_label(choice.recipient))]))
        elif not any(value == choice.value for _, entries in groups for value, _ in entries):
            nobody = f"{choice.value}: nobody gets exactly this edition"
            groups.append(("Asked for", [(choice.value, nobody)]))
        return groups


def plural(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def networks_label(key: frozenset[str], names: dict[str, str]) -> str:
    return " + ".join(names.get(n, n) for n in sorted(key)) or "no network (the items for everyone)"


def audience_label(audience: Audience, names: dict[str, str]) -> str:
    """An edition in the menu: its name as `send` prints it, its readers, the sets it serves."""
    sets = "; ".join(networks_label(key, names) for key in audience.serves)
    return f"{audience.name}: {plural(audience.recipients, 'person', 'people')} — {sets}"


@dataclass(frozen=True)
class IndexRow:
    """An issue on the index with `composer check`'s verdict, once this build knows it.

    status: "checked"; "checking" (its editions are not checked yet in this build); "on demand"
    (older than the issues checked in the background: checked when opened); "stale" (the shared
    files do not load, so nothing is checked).
    """

    number: int | None
    file: str
    issue: Issue | None
    problems: list[Problem]
    status: str
    items: int | None = None  # this week's items, as the plan counts them (see `carry.new_item_counts`)

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.problems, complete=self.status == "checked")


def recent_numbers(project: Project) -> list[int]:
    """The issues checked in the background, newest first: a long archive is checked on demand."""
    numbers = {s.number for s in project.issues} | {n for n in project.broken.values() if n}
    return sorted(numbers, reverse=True)[:BACKGROUND_CHECKS]


def index_rows(build: Build) -> list[IndexRow]:
    """The index's issues, newest first; a broken file shows its number if it has one."""
    project = build.project
    if project is None:
        return []
    found: list[tuple[int | None, Path, Issue | None]] = [(s.number, s.path, s.issue) for s in project.issues]
    found += [(number, path, None) for path, number in project.broken.items()]
    recent = set(recent_numbers(project))
    counts = new_item_counts(s.issue for s in project.issues)
    rows = []
    for number, path, issue in found:
        file = project.rel(path)
        problems = project.problems_for(number) if number else project.problems.get(path, [])
        state = build.issues.get(number) if number else None
        if build.failure:
            status = "stale"
        elif state is not None and state.complete:
            status = "checked"
            problems = state.problems + ([Problem(file, state.render_error)] if state.render_error else [])
        elif any(p.severity == "error" for p in problems):  # the check's verdict already
            status = "checked"
        else:
            status = "checking" if number in recent or state is not None else "on demand"
        rows.append(
            IndexRow(number, file, issue, problems, status, counts.get(number or 0) if issue else None)
        )
    return sorted(rows, key=lambda row: row.number or 0, reverse=True)

"""Carry-forward: which earlier items are "Reminders from previous weeks" in an issue, and why.

Pure and deterministic: the plan for issue N is computed from the issue files numbered up to N
alone, so later issues can never change what N said.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from composer.content.model import Issue, Item, RemindUntil, RemindWeeks, Tool
from composer.content.schedule import hours, live_deadline, long_date, next_date, upcoming
from composer.content.settings import ItemsOrder

if TYPE_CHECKING:
    from composer.content.project import Project

Basis = Literal["event", "deadline", "weeks", "default", "until", "kept", "open"]
Order = Literal["date", "issue"]


@dataclass(frozen=True)
class Reminder:
    """An earlier item shown again, with the rule that keeps it and the last date it may show.

    `until` is None for an open notice (shown until an issue drops it); `updated` marks an item
    whose new text is in the current issue's file; `today` is the date of the issue showing it.
    """

    item: Item
    first_issue: int
    version_issue: int
    basis: Basis
    until: dt.date | None
    reason: str
    today: dt.date
    updated: bool = False

    @property
    def next_date(self) -> dt.date | None:
        return next_date(self.item, self.today)

    def as_dict(self) -> dict[str, object]:
        deadline = live_deadline(self.item, self.today)
        return {
            "id": self.item.id,
            "title": self.item.title,
            "networks": list(self.item.networks),
            "first_issue": self.first_issue,
            "version_issue": self.version_issue,
            "updated": self.updated,
            "basis": self.basis,
            "reason": self.reason,
            "until": self.until.isoformat() if self.until else None,
            "next_date": self.next_date.isoformat() if self.next_date else None,
            "deadline": deadline.isoformat() if deadline else None,
            "sessions": [
                {"date": s.date.isoformat(), "time": hours(s) or None}
                for s in upcoming(self.item.event, self.today)
            ],
        }

    def describe(self) -> str:
        """The reminder's provenance and rule, worded alike by `check` and by `new`'s comment."""
        text = f"from issue {self.first_issue}"
        if self.updated:
            text += f", updated in No {self.version_issue}"
        elif self.version_issue != self.first_issue:
            text += f" (text of issue {self.version_issue})"
        until = f"until {long_date(self.until)}" if self.until else "until an issue drops it"
        return f"{text}; {self.reason}; {until}"


@dataclass(frozen=True)
class ToolEntry:
    """One line of Tools & Templates: the tool and the Update that added it (retention counts from it)."""

    tool: Tool
    issue: int
    added: dt.date

    def as_dict(self) -> dict[str, object]:
        return {
            "title": self.tool.title,
            "url": self.tool.key,
            "links": [{"label": link.label, "url": str(link.url)} for link in self.tool.links],
            "publisher": self.tool.publisher,
            "date": self.tool.date.isoformat() if self.tool.date else None,
            "closes": self.tool.closes.isoformat() if self.tool.closes else None,
            "issue": self.issue,
            "added": self.added.isoformat(),
        }


@dataclass(frozen=True)
class Plan:
    """Everything recurring that issue N shows besides its own new items.

    `items` are the issue's new items: an item that updates an earlier one is a reminder instead.
    `items_order` says how an edition for some networks orders them (see editions.select).
    """

    issue: Issue
    reminders: tuple[Reminder, ...]
    tools: tuple[ToolEntry, ...]
    items_order: ItemsOrder = "networks_first"

    @property
    def items(self) -> tuple[Item, ...]:
        updated = {r.item.id for r in self.reminders if r.updated}
        return tuple(item for item in self.issue.items if item.id not in updated)

    @property
    def shown(self) -> list[Item]:
        """Every item the issue shows: its new items, then those its reminders recall."""
        return [*self.items, *(reminder.item for reminder in self.reminders)]

    def as_dict(self) -> dict[str, object]:
        return {
            "issue": self.issue.number,
            "date": self.issue.date.isoformat(),
            "items": [item.id for item in self.items],
            "reminders": [r.as_dict() for r in self.reminders],
            "tools": [t.as_dict() for t in self.tools],
        }


Rule = tuple[Basis, dt.date | None, str]


def _natural_rule(item: Item, since: dt.date, default_weeks: int) -> Rule | None:
    """The rule an item states for itself, or the default; None for `remind: never`."""
    rule = item.remind
    if rule == "never":
        return None
    if rule == "open":
        return "open", None, "until further notice"
    if isinstance(rule, RemindUntil):
        return "until", rule.until, f"reminder until {long_date(rule.until)}"
    if isinstance(rule, RemindWeeks):
        until = since + dt.timedelta(weeks=rule.weeks)
        return "weeks", until, f"{rule.weeks} week(s) from {long_date(since)}"
    dates: list[tuple[dt.date, Basis, str]] = []
    if item.event is not None:
        event = item.event
        reason = (
            f"event on {long_date(event.first_day)}"
            if len(event.sessions) == 1
            else f"last session on {long_date(max(s.date for s in event.sessions))}"
        )
        dates.append((event.last_day, "event", reason))
    if item.deadline is not None:
        dates.append((item.deadline, "deadline", f"deadline {long_date(item.deadline)}"))
    if dates:
        until, basis, reason = max(dates, key=lambda entry: entry[0])
        return basis, until, reason
    until = since + dt.timedelta(weeks=default_weeks)
    return "default", until, f"default {default_weeks} week(s) from {long_date(since)}"


def new_item_counts(issues: Iterable[Issue]) -> dict[int, int]:
    """Each issue's own new items, as its plan counts them: an item that updates an earlier one
    (or a carried one) is shown among the reminders instead. One pass, not a plan per issue."""
    seen: set[str] = set()
    counts: dict[int, int] = {}
    for issue in sorted(issues, key=lambda issue: issue.number):
        seen.update(item.id for item in issue.carried_items)
        counts[issue.number] = sum(not (item.update and item.id in seen) for item in issue.items)
        seen.update(item.id for item in issue.items)
    return counts


def plan_for(project: Project, number: int, issues: Iterable[Issue] | None = None) -> Plan:
    """The plan of issue `number` of a loaded project, with the project's own reminder settings
    (`issues`: another history to plan, such as the editor's issue without its overrides)."""
    return plan_issue(
        (s.issue for s in project.issues) if issues is None else issues,
        number,
        default_weeks=project.settings.reminders.default_weeks,
        retention_weeks=project.settings.tools.retention_weeks,
        order=project.settings.reminders.order,
        items_order=project.settings.items_order,
    )


def plan_issue(
    issues: Iterable[Issue],
    number: int,
    *,
    default_weeks: int,
    retention_weeks: int,
    order: Order = "date",
    items_order: ItemsOrder = "networks_first",
) -> Plan:
    """The carry-forward plan of issue `number`, from that issue and those before it."""
    history = sorted((i for i in issues if i.number <= number), key=lambda i: i.number)
    if not history or history[-1].number != number:
        raise KeyError(number)
    current = history[-1]
    reminders = _reminders(history, default_weeks)
    if order == "date":
        reminders = by_next_date(reminders)
    tools = tuple(_tools(history, retention_weeks))
    return Plan(issue=current, reminders=tuple(reminders), tools=tools, items_order=items_order)


def by_next_date(reminders: Sequence[Reminder]) -> list[Reminder]:
    """Dated reminders first, soonest first; then undated ones in their order (newest first)."""
    dated = [r for r in reminders if r.next_date is not None]
    undated = [r for r in reminders if r.next_date is None]
    return sorted(dated, key=lambda r: r.next_date or dt.date.max) + undated


def _reminders(history: Sequence[Issue], default_weeks: int) -> list[Reminder]:
    """Reminders, newest text first: this issue's updates, then earlier items and `carried:` ones."""
    current = history[-1]
    first_seen: dict[str, int] = {}
    # id -> (issue carrying its text, date its rule counts from, place in that issue, item)
    latest: dict[str, tuple[int, dt.date, tuple[int, int], Item]] = {}
    for issue in history:
        for position, carried in enumerate(issue.carried_items):
            # Published before the first file: its rule counts from that Update's date, a week apart.
            since = issue.date - dt.timedelta(weeks=issue.number - carried.first_published)
            first_seen.setdefault(carried.id, carried.first_published)
            latest[carried.id] = (issue.number, since, (1, position), carried)
        if issue is current:
            break
        for position, item in enumerate(issue.items):
            first_seen.setdefault(item.id, issue.number)
            latest[item.id] = (issue.number, issue.date, (0, position), item)
    dropped: dict[str, int] = {}
    kept: dict[str, tuple[int, dt.date]] = {}
    for issue in history:
        for item_id in issue.reminders.drop:
            dropped[item_id] = issue.number
        for item_id, keep_until in issue.reminders.keep.items():
            kept[item_id] = (issue.number, keep_until)

    found: list[tuple[tuple[int, int, int], Reminder]] = []
    for position, item in enumerate(current.items):
        if item.update and item.id in first_seen:
            # This week's text of an earlier item: shown whatever its rule, since it is news.
            own = _natural_rule(item, current.date, default_weeks)
            fallback: Rule = ("until", current.date, "updated this week")
            expired = own is None or (own[1] is not None and own[1] < current.date)
            basis, until, reason = fallback if expired or own is None else own
            updated = Reminder(
                item, first_seen[item.id], current.number, basis, until, reason, current.date, True
            )
            found.append(((-current.number, 0, position), updated))
    new_ids = {item.id for item in current.items}
    for item_id, (version, since, place, item) in latest.items():
        if item_id in new_ids or dropped.get(item_id, 0) > version:
            continue
        rule = _natural_rule(item, since, default_weeks)
        keep = kept.get(item_id)
        if keep is not None and keep[0] > version:
            rule = "kept", keep[1], f"kept until {long_date(keep[1])} by issue {keep[0]}"
        if rule is None or (rule[1] is not None and current.date > rule[1]):
            continue
        basis, until, reason = rule
        # `update: true` on a `carried:` entry of this issue: its text is new this week.
        new_text = item.update and version == current.number
        reminder = Reminder(item, first_seen[item_id], version, basis, until, reason, current.date, new_text)
        found.append(((-version, *place), reminder))
    return [reminder for _, reminder in sorted(found, key=lambda entry: entry[0])]


def _tools(history: Sequence[Issue], retention_weeks: int) -> list[ToolEntry]:
    """The rolling Tools & Templates list: newest additions first, one entry per URL, none closed.

    A tool declared under `carried:` counts from the Update that added it (a week per number
    before the issue declaring it), as carried items do.
    """
    today = history[-1].date
    oldest = today - dt.timedelta(weeks=retention_weeks)
    by_url: dict[str, tuple[tuple[int, int], ToolEntry]] = {}
    for issue in history:
        added: list[tuple[Tool, int, dt.date]] = [
            (tool, tool.first_published, issue.date - dt.timedelta(weeks=issue.number - tool.first_published))
            for tool in issue.carried_tools
        ]
        added += [(tool, issue.number, issue.date) for tool in issue.tools]
        for position, (tool, number, date) in enumerate(added):
            by_url[tool.key] = ((-number, position), ToolEntry(tool, number, date))
    live = [
        pair
        for pair in by_url.values()
        if pair[1].added > oldest and (pair[1].tool.closes is None or pair[1].tool.closes >= today)
    ]
    return [entry for _, entry in sorted(live, key=lambda pair: pair[0])]

"""Checks across files: every id an issue names exists (networks, contacts, earlier items), and
issues follow each other in number and date. They read the files as written, so that a typo in
an id shows in the same run as a misspelt key that fails the file's validation."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from composer.content.layout import CONTACTS_FILE, NETWORKS_FILE
from composer.content.model import CarriedItem, Issue, Item
from composer.content.project import Project, SourcedIssue
from composer.content.yamlio import Located
from composer.errors import Problem, did_you_mean


def unknown_references(project: Project, located: Located, file: str) -> Iterator[Problem]:
    """Unknown network and contact ids, read from the file as written: they are reported even
    when another mistake in the same file (a misspelt key) fails its validation."""
    data = located.data if isinstance(located.data, dict) else {}
    known: dict[str, tuple[Mapping[str, object], str]] = {
        "networks": (project.networks, NETWORKS_FILE),
        "contacts": (project.contacts, CONTACTS_FILE),
    }
    for key in ("items", "carried"):
        entries = data.get(key)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, dict):
                continue
            name = entry.get("id") if isinstance(entry.get("id"), str) else index
            event = entry.get("event")
            sessions = event.get("sessions") if isinstance(event, dict) else None
            # (where in the file, the mapping, its field name): the item, then its sessions' contacts
            places: list[tuple[tuple[str | int, ...], Mapping[str, object], str]] = [
                ((key, index), entry, f"{key}[{name}]")
            ]
            places += [
                ((key, index, "event", "sessions", n), session, f"{key}[{name}].event.sessions[{n}]")
                for n, session in enumerate(sessions if isinstance(sessions, list) else [])
                if isinstance(session, dict)
            ]
            for loc, mapping, where in places:
                for kind, (ids, source) in known.items():
                    values = mapping.get(kind)
                    for position, value in enumerate(values if isinstance(values, list) else []):
                        if isinstance(value, str) and value not in ids:
                            yield Problem(
                                file,
                                f"unknown {kind[:-1]} id {value!r}{did_you_mean(value, ids)} (see {source})",
                                located.line_of((*loc, kind, position)),
                                f"{where}.{kind}",
                            )


def cross_check(project: Project, sourced: SourcedIssue) -> Iterator[Problem]:
    """References and sense checks that a schema cannot express."""
    issue, located, file = sourced.issue, sourced.located, project.rel(sourced.path)

    def at(*loc: str | int) -> int | None:
        return located.line_of(loc)

    if sourced.path.stem.isdigit() and int(sourced.path.stem) != issue.number:
        yield Problem(
            file,
            f"the file name says {sourced.path.stem} but number is {issue.number}: rename the file",
            at("number"),
            "number",
            "warning",
        )
    seen: set[str] = set()
    for index, entry in enumerate(issue.carried):  # items and tools already published elsewhere
        if entry.first_published >= issue.number:
            name = entry.id if isinstance(entry, CarriedItem) else index
            yield Problem(
                file,
                f"first_published {entry.first_published} is not before this issue ({issue.number})",
                at("carried", index, "first_published"),
                f"carried[{name}].first_published",
            )
    entries: list[tuple[str, int, Item]] = [
        ("carried", n, item) for n, item in enumerate(issue.carried) if isinstance(item, CarriedItem)
    ]
    entries += [("items", n, item) for n, item in enumerate(issue.items)]
    carried = {item.id for item in issue.carried_items}
    for key, index, item in entries:
        where = f"{key}[{item.id}]"
        # An item may update, with `update: true`, what the same issue declares under `carried:`.
        if item.id in seen and not (key == "items" and item.update and item.id in carried):
            yield Problem(
                file,
                f"duplicate item id {item.id!r}: ids must be unique in an issue",
                at(key, index, "id"),
                f"{where}.id",
            )
        seen.add(item.id)
        if re.search(r"\*\*|__|(?<!\w)\*\w", item.title):
            yield Problem(
                file,
                "a title is plain text, not Markdown: its * or _ would show as typed; write NEW DATE "
                "in capitals instead of **NEW DATE**",
                at(key, index, "title"),
                f"{where}.title",
                "warning",
            )
        if isinstance(item, CarriedItem):
            continue
        if not item.action.strip():
            yield Problem(file, "no Action Required text", at("items", index), where, "warning")
        if item.deadline and item.deadline < issue.date:
            yield Problem(
                file,
                f"deadline {item.deadline} is before the issue date {issue.date}",
                at("items", index, "deadline"),
                f"{where}.deadline",
                "warning",
            )
        if item.event and item.event.last_day < issue.date:
            yield Problem(
                file,
                f"event on {item.event.last_day} is before the issue date {issue.date}",
                at("items", index, "event"),
                f"{where}.event",
                "warning",
            )


MAX_GAP_DAYS = 14


def sequence_warnings(
    previous_file: str, previous: Issue, file: str, issue: Issue, located: Located | None
) -> list[Problem]:
    """A number that skips, or a date more than two weeks on: allowed, but worth a second look."""
    found = []
    if issue.number != previous.number + 1:
        found.append(
            Problem(
                file,
                f"issue numbers jump from {previous.number} ({previous_file}) to {issue.number}",
                located.line_of(("number",)) if located else None,
                "number",
                "warning",
            )
        )
    gap = (issue.date - previous.date).days
    if gap > MAX_GAP_DAYS:
        found.append(
            Problem(
                file,
                f"date {issue.date} is {gap} days after issue {previous.number}'s date {previous.date} "
                f"({previous_file})",
                located.line_of(("date",)) if located else None,
                "date",
                "warning",
            )
        )
    return found


def check_sequence(project: Project, unparsed: Mapping[Path, Located]) -> None:
    """Numbers unique and in date order, ids naming real earlier items; gaps are warnings.

    Files that failed validation (`unparsed`) take their place by number for the ids, read as
    written, so that a typo in `reminders.drop` shows in the same run as a misspelt key.
    """
    files: list[tuple[int | float, Path, Located, SourcedIssue | None]] = [
        (sourced.number, sourced.path, sourced.located, sourced) for sourced in project.issues
    ]
    for path, located in unparsed.items():
        number = project.broken.get(path)
        files.append((float("inf") if number is None else number, path, located, None))
    files.sort(key=lambda entry: entry[0])
    previous: SourcedIssue | None = None
    earlier_ids: set[str] = set()
    for _, path, located, sourced in files:
        file = project.rel(path)
        found = _sequence_problems(project, previous, sourced, file) if sourced else []
        found += _reference_problems(located, file, earlier_ids)
        if found:
            project.problems.setdefault(path, []).extend(found)
        if sourced is None:
            continue
        if any(p.severity == "error" for p in project.problems.get(path, [])):
            project.issues.remove(sourced)
            project.broken[path] = sourced.number
        else:
            previous = sourced


def _sequence_problems(
    project: Project, previous: SourcedIssue | None, sourced: SourcedIssue, file: str
) -> list[Problem]:
    issue = sourced.issue
    if previous and previous.number == issue.number:
        return [
            Problem(
                file,
                f"issue number {issue.number} is also used by {project.rel(previous.path)}",
                sourced.located.line_of(("number",)),
                "number",
            )
        ]
    if previous and issue.date <= previous.issue.date:
        return [
            Problem(
                file,
                f"date {issue.date} is not after issue {previous.number}'s date {previous.issue.date}",
                sourced.located.line_of(("date",)),
                "date",
            )
        ]
    if previous:
        return sequence_warnings(project.rel(previous.path), previous.issue, file, issue, sourced.located)
    return []


def _entries(data: Mapping[str, Any], key: str) -> list[tuple[int, str, Mapping[str, Any]]]:
    """The (index, id, entry) of a list of items as written; entries without a text id are skipped."""
    values = data.get(key)
    return [
        (index, entry["id"], entry)
        for index, entry in enumerate(values if isinstance(values, list) else [])
        if isinstance(entry, dict) and isinstance(entry.get("id"), str)
    ]


_BOOLEAN = TypeAdapter(bool)


def _is_true(value: object) -> bool:
    """What the model reads as true (`yes`, `1`...), also in a file that failed its validation."""
    try:
        return _BOOLEAN.validate_python(value)
    except ValidationError:
        return False


def _reference_problems(located: Located, file: str, earlier_ids: set[str]) -> list[Problem]:
    """Ids that must (or must not) name an item of an earlier issue, read from the file as written;
    adds this file's item ids to `earlier_ids`."""
    data = located.data if isinstance(located.data, dict) else {}
    reminders = data.get("reminders")
    if not isinstance(reminders, dict):
        reminders = {}
    drop, keep = reminders.get("drop"), reminders.get("keep")
    overrides: list[tuple[tuple[str | int, ...], str, object]] = [
        (("reminders", "drop", index), "reminders.drop", id_)
        for index, id_ in enumerate(drop if isinstance(drop, list) else [])
    ]
    kept = keep if isinstance(keep, dict) else {}
    overrides += [(("reminders", "keep", id_), "reminders.keep", id_) for id_ in kept]
    found = [
        Problem(
            file,
            f"no earlier item has id {item_id!r}{did_you_mean(item_id, earlier_ids)}",
            located.line_of(loc),
            field_name,
        )
        for loc, field_name, item_id in overrides
        if isinstance(item_id, str) and item_id not in earlier_ids
    ]
    carried = _entries(data, "carried")
    found += [
        Problem(
            file,
            f"an earlier issue has an item with id {item_id!r}: give this one a new id",
            located.line_of(("carried", index, "id")),
            f"carried[{item_id}].id",
        )
        for index, item_id, _ in carried
        if item_id in earlier_ids
    ]
    earlier_ids.update(item_id for _, item_id, _ in carried)
    items = _entries(data, "items")
    found += [
        Problem(
            file,
            f"no earlier item has id {item_id!r}: `update: true` is for items published before; "
            "remove it for a new item",
            located.line_of(("items", index, "update")),
            f"items[{item_id}].update",
        )
        for index, item_id, entry in items
        if item_id not in earlier_ids and _is_true(entry.get("update"))
    ]
    earlier_ids.update(item_id for _, item_id, _ in items)
    return found

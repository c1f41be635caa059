"""Calendar files: one RFC 5545 event per item that announces an event, for "Add to calendar".

The output is deterministic (DTSTAMP comes from the issue's date, never the clock) so that
rebuilding the archive changes no file, and the UID depends only on the item id and the archive's
host so that an updated item ("Please note the change of date") replaces the reader's entry
instead of adding a second one.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar

from composer.content.model import Event, Issue, Item
from composer.content.settings import Settings
from composer.email.render import archive_page_url

PRODID = "-//composer//Update calendar//EN"
_TIME_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*(?:[-–—]\s*(\d{1,2}):(\d{2}))?\s*$")


def parse_time(text: str | None) -> tuple[dt.time, dt.time | None] | None:
    """Start and optional end of a free-text time such as "10:30–13:30"; None if it is not one."""
    match = _TIME_RANGE.match(text or "")
    if match is None:
        return None
    try:
        start = dt.time(int(match[1]), int(match[2]))
        end = dt.time(int(match[3]), int(match[4])) if match[3] else None
    except ValueError:
        return None
    return start, end


def _timed(event: Event, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime | None] | None:
    """The first day's start and end in the programme's time zone, or None for an all-day event."""
    parsed = parse_time(event.time)
    if parsed is None:
        return None
    start_time, end_time = parsed
    if end_time is None:
        # A start time alone cannot say when a multi-day event ends: show those days whole.
        return None if event.end_date else (dt.datetime.combine(event.date, start_time, zone), None)
    if end_time <= start_time:
        return None
    return dt.datetime.combine(event.date, start_time, zone), dt.datetime.combine(event.date, end_time, zone)


def event_calendar(
    item: Item, *, page_url: str, host: str, published: dt.date, sequence: int, zone: ZoneInfo
) -> bytes:
    """The .ics file of an item's event; `published` and `sequence` come from the issue carrying it."""
    event = item.event
    if event is None:
        raise ValueError(f"item {item.id!r} has no event")
    entry = icalendar.Event()
    entry.add("uid", f"{item.id}@{host}")
    entry.add("dtstamp", dt.datetime.combine(published, dt.time(), tzinfo=dt.UTC))
    entry.add("sequence", sequence)
    entry.add("summary", item.title)
    timed = _timed(event, zone)
    if timed is None:
        entry.add("dtstart", event.date)
        entry.add("dtend", event.last_day + dt.timedelta(days=1))
    else:
        entry.add("dtstart", timed[0])
        if timed[1] is not None:
            entry.add("dtend", timed[1])
        days = (event.last_day - event.date).days + 1
        if days > 1:
            # "09:30–16:00" on two days means those hours each day, not one block overnight.
            entry.add("rrule", {"freq": "daily", "count": days})
    if event.place:
        entry.add("location", event.place)
    details = [] if timed or not event.time else [f"Time: {event.time}"]
    entry.add("description", "\n".join([*details, f"Details: {page_url}"]))
    entry.add("url", page_url)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    if timed is not None:
        calendar.add_component(_timezone(zone.key))
    calendar.add_component(entry)
    return calendar.to_ical()


@functools.cache
def _timezone(name: str) -> icalendar.Timezone:
    """The VTIMEZONE of a zone, built once: it takes longer than the rest of a file.

    The same span of years as icalendar's `add_missing_timezones`, so the files are the same.
    """
    return icalendar.Timezone.from_tzid(name)


def issue_calendars(settings: Settings, issue: Issue) -> dict[str, bytes]:
    """The .ics file of every event that an issue publishes, by item id.

    Reminders link to the file of the issue that carried their text, so each event has one file.
    """
    return {item.id: item_calendar(settings, issue, item) for item in issue.items if item.event is not None}


def item_calendar(settings: Settings, issue: Issue, item: Item) -> bytes:
    """The .ics file of one event of an issue's items."""
    return event_calendar(
        item,
        page_url=archive_page_url(settings, issue.number),
        host=urlsplit(str(settings.archive_url)).hostname or "localhost",
        published=issue.date,
        sequence=issue.number,
        zone=ZoneInfo(settings.programme.timezone),
    )

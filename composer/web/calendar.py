"""Calendar files: one RFC 5545 file per item that announces an event, one VEVENT per session.

The output is deterministic (DTSTAMP comes from the issue's date, never the clock) so that
rebuilding the archive changes no file, and the UIDs depend only on the item id, the session's
place in the event and the archive's host, so that an updated item ("Please note the change of
date") replaces the reader's entries instead of adding more.

Timed sessions carry the programme's time zone as Outlook writes it: one STANDARD and one DAYLIGHT
rule (RRULE), which every client reads alike; the long list of past transitions that libraries
emit is read an hour wrong by some (vobject) and is ignored by none.
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
import functools
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar

from composer.content.model import Issue, Item, Session
from composer.content.settings import Settings
from composer.email.urls import archive_page_url

PRODID = "-//composer//Update calendar//EN"
_RULE_START_YEAR = 1970


def _transitions(zone: ZoneInfo, year: int) -> list[dt.datetime]:
    """The UTC instants in `year` at which the zone's offset changes (none without summer time)."""

    def offset(moment: dt.datetime) -> dt.timedelta | None:
        return moment.astimezone(zone).utcoffset()

    found = []
    day, quarter = dt.timedelta(days=1), dt.timedelta(minutes=15)
    moment = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    while moment.year == year:
        if offset(moment) != offset(moment + day):
            change = moment
            while offset(change) == offset(moment):
                change += quarter
            found.append(change)
        moment += day
    return found


def _yearly_rule(local: dt.datetime) -> dict[str, object]:
    """The RRULE of a transition: "last Sunday of October" as -1SU, otherwise the nth weekday."""
    weekday = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][local.weekday()]
    days_in_month = month_calendar.monthrange(local.year, local.month)[1]
    nth = -1 if local.day + 7 > days_in_month else (local.day - 1) // 7 + 1
    return {"freq": "yearly", "bymonth": local.month, "byday": f"{nth}{weekday}"}


def timezone_component(zone: ZoneInfo, year: int) -> icalendar.Timezone:
    """The zone's rules of `year` in the compact form: a STANDARD and a DAYLIGHT rule, or one offset."""
    component = icalendar.Timezone()
    component.add("tzid", str(zone.key))
    changes = _transitions(zone, year)
    if not changes:
        offset = dt.datetime(year, 1, 1, tzinfo=zone).utcoffset() or dt.timedelta()
        standard = icalendar.TimezoneStandard()
        standard.add("dtstart", dt.datetime(_RULE_START_YEAR, 1, 1))
        standard.add("tzoffsetfrom", offset)
        standard.add("tzoffsetto", offset)
        component.add_component(standard)
        return component
    for change in changes:
        before = (change - dt.timedelta(seconds=1)).astimezone(zone)
        after = change.astimezone(zone)
        offset_from = before.utcoffset() or dt.timedelta()
        offset_to = after.utcoffset() or dt.timedelta()
        # The wall-clock time of the change, as read before it (02:00 BST for the autumn change).
        local = (change + offset_from).replace(tzinfo=None)
        part = icalendar.TimezoneDaylight() if after.dst() else icalendar.TimezoneStandard()
        part.add("dtstart", local.replace(year=_RULE_START_YEAR, day=_first_matching_day(local)))
        part.add("rrule", _yearly_rule(local))
        part.add("tzoffsetfrom", offset_from)
        part.add("tzoffsetto", offset_to)
        component.add_component(part)
    return component


def _first_matching_day(local: dt.datetime) -> int:
    """The day in the rule's first year that the rule itself gives (DTSTART must match the RRULE)."""
    rule = _yearly_rule(local)
    byday = str(rule["byday"])
    nth, weekday = int(byday[:-2]), ["MO", "TU", "WE", "TH", "FR", "SA", "SU"].index(byday[-2:])
    days = [
        day
        for day in range(1, month_calendar.monthrange(_RULE_START_YEAR, local.month)[1] + 1)
        if dt.date(_RULE_START_YEAR, local.month, day).weekday() == weekday
    ]
    return days[nth if nth < 0 else nth - 1]


def _session_event(
    item: Item,
    session: Session,
    *,
    uid: str,
    page_url: str,
    published: dt.date,
    sequence: int,
    zone: ZoneInfo,
) -> icalendar.Event:
    entry = icalendar.Event()
    entry.add("uid", uid)
    entry.add("dtstamp", dt.datetime.combine(published, dt.time(), tzinfo=dt.UTC))
    entry.add("sequence", sequence)
    entry.add("summary", session.label or item.title)
    if session.start is None:
        entry.add("dtstart", session.date)
        entry.add("dtend", session.last_day + dt.timedelta(days=1))
    else:
        entry.add("dtstart", dt.datetime.combine(session.date, session.start, zone))
        if session.end is not None:
            entry.add("dtend", dt.datetime.combine(session.date, session.end, zone))
        days = (session.last_day - session.date).days + 1
        if days > 1:
            # "09:30–16:00" on two days means those hours each day, not one block overnight.
            entry.add("rrule", {"freq": "daily", "count": days})
    place = session.place or (item.event.place if item.event else None)
    if place:
        entry.add("location", place)
    entry.add("description", f"Details: {page_url}")
    entry.add("url", page_url)
    return entry


def event_calendar(
    item: Item, *, page_url: str, host: str, published: dt.date, sequence: int, zone: ZoneInfo
) -> bytes:
    """The .ics file of an item's event; `published` and `sequence` come from the issue carrying it."""
    event = item.event
    if event is None:
        raise ValueError(f"item {item.id!r} has no event")
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    if any(session.start is not None for session in event.sessions):
        calendar.add_component(_timezone(zone, event.first_day.year))
    for index, session in enumerate(event.sessions, start=1):
        uid = f"{item.id}@{host}" if len(event.sessions) == 1 else f"{item.id}-{index}@{host}"
        calendar.add_component(
            _session_event(
                item, session, uid=uid, page_url=page_url, published=published, sequence=sequence, zone=zone
            )
        )
    return calendar.to_ical()


@functools.cache
def _timezone(zone: ZoneInfo, year: int) -> icalendar.Timezone:
    """A zone's VTIMEZONE, built once per zone and year: finding its changes takes longer than
    the rest of a file, and the preview and the archive write many files."""
    return timezone_component(zone, year)


def item_calendar(settings: Settings, issue: Issue, item: Item) -> bytes:
    """The .ics file of one event of an issue's items (or of the reminders it carried).

    Reminders link to the file of the issue that carried their text, so each event has one file.
    """
    return event_calendar(
        item,
        page_url=archive_page_url(settings, issue.number),
        host=urlsplit(str(settings.archive_url)).hostname or "localhost",
        published=issue.date,
        sequence=issue.number,
        zone=ZoneInfo(settings.programme.timezone),
    )

"""Calendar files: RFC 5545 output that calendar programs accept, deterministic and stable."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest

from composer.content.model import Item
from composer.web.calendar import event_calendar, parse_time

PAGE = "https://updates.example.org/374/"
LONDON = ZoneInfo("Europe/London")


def make_item(**event: object) -> Item:
    return Item.model_validate(
        {"id": "network-meeting", "title": "Network meeting; lunch, and a long title " * 3, "event": event}
    )


def parse(data: bytes) -> icalendar.Component:
    calendar = icalendar.Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    return event


def ics(item: Item, **options: object) -> bytes:
    values: dict = {
        "page_url": PAGE,
        "host": "updates.example.org",
        "published": dt.date(2019, 10, 18),
        "sequence": 374,
        "zone": LONDON,
    }
    values.update(options)
    return event_calendar(item, **values)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10:30–13:30", (dt.time(10, 30), dt.time(13, 30))),
        ("9:05 - 17:00", (dt.time(9, 5), dt.time(17, 0))),
        ("14:00", (dt.time(14, 0), None)),
        ("10.30am to 1.30pm", None),
        ("25:00", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_time(text: str | None, expected: object) -> None:
    assert parse_time(text) == expected


def test_all_day_event_carries_title_date_place_and_link() -> None:
    item = make_item(date="2019-11-29", place="Broadway House, London")
    event = parse(ics(item))
    assert str(event["summary"]) == item.title
    assert event.decoded("dtstart") == dt.date(2019, 11, 29)
    assert event.decoded("dtend") == dt.date(2019, 11, 30)  # exclusive end: one whole day
    assert str(event["location"]) == "Broadway House, London"
    assert PAGE in str(event["description"])
    assert str(event["uid"]) == "network-meeting@updates.example.org"
    assert event.decoded("dtstamp") == dt.datetime(2019, 10, 18, tzinfo=dt.UTC)
    assert event.decoded("sequence") == 374


def test_timed_event_uses_the_programme_time_zone() -> None:
    data = ics(make_item(date="2019-11-29", time="10:30–13:30"))
    assert b"DTSTART;TZID=Europe/London:20191129T103000" in data
    assert b"BEGIN:VTIMEZONE" in data and b"TZID:Europe/London" in data
    event = parse(data)
    assert event.decoded("dtstart") == dt.datetime(2019, 11, 29, 10, 30, tzinfo=LONDON)
    assert event.decoded("dtend") == dt.datetime(2019, 11, 29, 13, 30, tzinfo=LONDON)
    assert "location" not in event


def test_free_text_time_makes_an_all_day_event_and_goes_in_the_description() -> None:
    event = parse(ics(make_item(date="2019-11-29", time="10.30am to 1.30pm")))
    assert event.decoded("dtstart") == dt.date(2019, 11, 29)
    assert "Time: 10.30am to 1.30pm" in str(event["description"])


def test_multi_day_event_without_end_time_spans_its_days() -> None:
    event = parse(ics(make_item(date="2019-11-28", end_date="2019-11-29", time="09:00")))
    assert event.decoded("dtstart") == dt.date(2019, 11, 28)
    assert event.decoded("dtend") == dt.date(2019, 11, 30)
    assert "rrule" not in event


def test_multi_day_event_with_hours_repeats_them_each_day() -> None:
    event = parse(ics(make_item(date="2019-12-05", end_date="2019-12-06", time="09:30–16:00")))
    assert event.decoded("dtstart") == dt.datetime(2019, 12, 5, 9, 30, tzinfo=LONDON)
    assert event.decoded("dtend") == dt.datetime(2019, 12, 5, 16, 0, tzinfo=LONDON)
    assert event["rrule"].to_ical() == b"FREQ=DAILY;COUNT=2"


def test_end_before_start_falls_back_to_all_day() -> None:
    event = parse(ics(make_item(date="2019-11-29", time="16:00–09:00")))
    assert event.decoded("dtstart") == dt.date(2019, 11, 29)
    assert "Time: 16:00–09:00" in str(event["description"])


def test_output_is_deterministic_and_well_formed() -> None:
    item = make_item(date="2019-11-29", time="10:30–13:30", place="Shaw House, Newbury (RG14 2DR)")
    first, second = ics(item), ics(item)
    assert first == second
    lines = first.split(b"\r\n")
    assert lines[0] == b"BEGIN:VCALENDAR" and lines[-2] == b"END:VCALENDAR" and lines[-1] == b""
    assert all(len(line) <= 75 for line in lines)  # RFC 5545 3.1: fold lines longer than 75 octets
    assert b"\n" not in first.replace(b"\r\n", b"")


def test_item_without_event_is_refused() -> None:
    with pytest.raises(ValueError):
        ics(Item(id="no-event", title="No event"))

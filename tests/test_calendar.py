"""Calendar files: RFC 5545 output that calendar programs accept, deterministic and stable."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject  # type: ignore[import-untyped]
from dateutil.tz import tzical

from composer.content.model import Item
from composer.web.calendar import event_calendar

PAGE = "https://updates.example.org/374/"
LONDON = ZoneInfo("Europe/London")


def make_item(*sessions: dict[str, object], place: str | None = None) -> Item:
    return Item.model_validate(
        {
            "id": "network-meeting",
            "title": "Network meeting; lunch, and a long title " * 3,
            "event": {"sessions": list(sessions), "place": place},
        }
    )


def events(data: bytes) -> list[icalendar.Component]:
    return list(icalendar.Calendar.from_ical(data).walk("VEVENT"))


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


def test_all_day_event_carries_title_date_place_and_link() -> None:
    item = make_item({"date": "2019-11-29"}, place="Broadway House, London")
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
    data = ics(make_item({"date": "2019-11-29", "start": "10:30", "end": "13:30"}))
    assert b"DTSTART;TZID=Europe/London:20191129T103000" in data
    assert b"BEGIN:VTIMEZONE" in data and b"TZID:Europe/London" in data
    event = parse(data)
    assert event.decoded("dtstart") == dt.datetime(2019, 11, 29, 10, 30, tzinfo=LONDON)
    assert event.decoded("dtend") == dt.datetime(2019, 11, 29, 13, 30, tzinfo=LONDON)
    assert "location" not in event


def test_all_day_event_has_no_time_zone() -> None:
    assert b"VTIMEZONE" not in ics(make_item({"date": "2019-11-29"}))


def test_one_vevent_per_session_with_its_own_place_and_uid() -> None:
    item = make_item(
        {"date": "2022-01-27", "start": "10:00", "end": "16:00"},
        {"date": "2022-05-04", "start": "13.30", "end": "15:00", "place": "Online (Teams)"},
        place="Shaw House, Newbury",
    )
    first, second = events(ics(item))
    assert first.decoded("dtstart") == dt.datetime(2022, 1, 27, 10, 0, tzinfo=LONDON)
    assert second.decoded("dtstart") == dt.datetime(2022, 5, 4, 13, 30, tzinfo=LONDON)
    assert second.decoded("dtend") == dt.datetime(2022, 5, 4, 15, 0, tzinfo=LONDON)
    assert [str(e["location"]) for e in (first, second)] == ["Shaw House, Newbury", "Online (Teams)"]
    assert [str(e["uid"]) for e in (first, second)] == [
        "network-meeting-1@updates.example.org",
        "network-meeting-2@updates.example.org",
    ]


def test_start_time_alone_has_no_end() -> None:
    event = parse(ics(make_item({"date": "2019-11-29", "start": "14:00"})))
    assert event.decoded("dtstart") == dt.datetime(2019, 11, 29, 14, 0, tzinfo=LONDON)
    assert "dtend" not in event


def test_multi_day_session_without_a_time_spans_its_days() -> None:
    event = parse(ics(make_item({"date": "2019-11-28", "end_date": "2019-11-29"})))
    assert event.decoded("dtstart") == dt.date(2019, 11, 28)
    assert event.decoded("dtend") == dt.date(2019, 11, 30)
    assert "rrule" not in event


def test_multi_day_session_with_hours_repeats_them_each_day() -> None:
    item = make_item({"date": "2019-12-05", "end_date": "2019-12-06", "start": "09:30", "end": "16:00"})
    event = parse(ics(item))
    assert event.decoded("dtstart") == dt.datetime(2019, 12, 5, 9, 30, tzinfo=LONDON)
    assert event.decoded("dtend") == dt.datetime(2019, 12, 5, 16, 0, tzinfo=LONDON)
    assert event["rrule"].to_ical() == b"FREQ=DAILY;COUNT=2"


def test_time_zone_is_the_compact_rule_form() -> None:
    data = ics(make_item({"date": "2019-11-29", "start": "10:30"}))
    zone = data[data.index(b"BEGIN:VTIMEZONE") : data.index(b"END:VTIMEZONE")]
    assert zone.count(b"BEGIN:STANDARD") == 1 and zone.count(b"BEGIN:DAYLIGHT") == 1
    assert b"RDATE" not in zone
    assert b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in zone
    assert b"RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in zone


def _utc_instants_icalendar(data: bytes) -> list[dt.datetime]:
    return [event.decoded(key).astimezone(dt.UTC) for event in events(data) for key in ("dtstart", "dtend")]


def _utc_instants_dateutil(data: bytes, zone_name: str) -> list[dt.datetime]:
    """dateutil reads the VTIMEZONE itself (it has no access to the zone's name in a database)."""
    zone = tzical(io.StringIO(data.decode())).get(zone_name)
    found = []
    for event in events(data):
        for key in ("dtstart", "dtend"):
            wall = event.decoded(key).replace(tzinfo=None)
            found.append(wall.replace(tzinfo=zone).astimezone(dt.UTC))
    return found


def _utc_instants_vobject(data: bytes) -> list[dt.datetime]:
    calendar = vobject.readOne(data.decode())
    return [
        getattr(event, key).value.astimezone(dt.UTC)
        for event in calendar.vevent_list
        for key in ("dtstart", "dtend")
    ]


@pytest.mark.parametrize(
    ("zone_name", "winter", "summer"),
    [
        ("Europe/London", "2019-11-29", "2020-06-03"),
        ("America/New_York", "2020-01-15", "2020-07-15"),
        ("Australia/Sydney", "2020-07-15", "2020-01-15"),
        ("Asia/Tokyo", "2020-01-15", "2020-07-15"),
    ],
)
def test_every_client_reads_the_same_instants(zone_name: str, winter: str, summer: str) -> None:
    zone = ZoneInfo(zone_name)
    item = make_item(
        {"date": winter, "start": "10:30", "end": "13:30"}, {"date": summer, "start": "10:30", "end": "13:30"}
    )
    data = ics(item, zone=zone)
    expected = [
        dt.datetime.combine(dt.date.fromisoformat(day), time, zone).astimezone(dt.UTC)
        for day in (winter, summer)
        for time in (dt.time(10, 30), dt.time(13, 30))
    ]
    assert _utc_instants_icalendar(data) == expected
    assert _utc_instants_dateutil(data, zone_name) == expected
    assert _utc_instants_vobject(data) == expected


def test_output_is_deterministic_and_well_formed() -> None:
    item = make_item(
        {"date": "2019-11-29", "start": "10:30", "end": "13:30"}, place="Shaw House, Newbury (RG14 2DR)"
    )
    first, second = ics(item), ics(item)
    assert first == second
    lines = first.split(b"\r\n")
    assert lines[0] == b"BEGIN:VCALENDAR" and lines[-2] == b"END:VCALENDAR" and lines[-1] == b""
    assert all(len(line) <= 75 for line in lines)  # RFC 5545 3.1: fold lines longer than 75 octets
    assert b"\n" not in first.replace(b"\r\n", b"")


def test_item_without_event_is_refused() -> None:
    with pytest.raises(ValueError):
        ics(Item(id="no-event", title="No event"))

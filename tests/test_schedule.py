"""Sessions and times: the "When" line, what counts as past, the diary, and times as typed in YAML."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from conftest import Cli

from composer.content.model import Event, Item
from composer.content.schedule import diary, live_deadline, next_date, upcoming, when_lines
from composer.content.yamlio import FAST_LOADER, PURE_LOADER, parse_yaml


def event(*sessions: dict[str, object], place: str | None = None) -> Event:
    return Event.model_validate({"sessions": list(sessions), "place": place})


BEFORE = dt.date(2021, 11, 19)


@pytest.mark.parametrize(
    ("sessions", "expected"),
    [
        (
            [
                {"date": "2022-01-27", "start": "10:00", "end": "16:00"},
                {"date": "2022-01-28", "start": "10:00", "end": "16:00"},
                {"date": "2022-05-04", "start": "13:30", "end": "15:00"},
            ],
            "Thursday 27 and Friday 28 January 2022, 10:00–16:00; Wednesday 4 May 2022, 13:30–15:00",
        ),
        ([{"date": "2022-01-06"}], "Thursday 6 January 2022"),
        ([{"date": "2022-01-06", "start": "9.30"}], "Thursday 6 January 2022, 09:30"),
        (
            [{"date": "2022-01-03"}, {"date": "2022-01-04"}, {"date": "2022-01-05"}],
            "Monday 3, Tuesday 4 and Wednesday 5 January 2022",
        ),
        (
            [{"date": "2021-12-05", "end_date": "2021-12-06", "start": "09:30", "end": "16:00"}],
            "Sunday 5 to Monday 6 December 2021, 09:30–16:00",
        ),
        (
            [{"date": "2021-11-30", "end_date": "2021-12-01"}],
            "Tuesday 30 November to Wednesday 1 December 2021",
        ),
        (
            [{"date": "2021-12-31", "end_date": "2022-01-01"}],
            "Friday 31 December 2021 to Saturday 1 January 2022",
        ),
        (
            [{"date": "2022-03-01", "place": "Online"}, {"date": "2022-03-02"}],
            "Tuesday 1 March 2022, Online; Wednesday 2 March 2022",
        ),
        (
            [
                {"date": "2022-01-17", "start": "09:30", "end": "13:30"},
                {"date": "2022-01-17", "start": "14:00", "end": "17:00"},
                {"date": "2022-01-18", "start": "14:00", "end": "17:00"},
                {"date": "2022-01-19", "start": "14:00", "end": "17:00"},
            ],
            "Monday 17 January 2022, 09:30–13:30 and 14:00–17:00; "
            "Tuesday 18 and Wednesday 19 January 2022, 14:00–17:00",
        ),
    ],
)
def test_when_line_reads_naturally(sessions: list[dict[str, object]], expected: str) -> None:
    assert when_lines(event(*sessions), BEFORE) == [expected]


def test_past_sessions_and_deadlines_are_left_out() -> None:
    item = Item.model_validate(
        {
            "id": "conference",
            "title": "Conference",
            "deadline": "2022-01-10",
            "event": {"sessions": [{"date": "2022-01-06"}, {"date": "2022-02-03", "end_date": "2022-02-04"}]},
        }
    )
    assert when_lines(item.event, dt.date(2022, 1, 7)) == ["Thursday 3 to Friday 4 February 2022"]  # type: ignore[arg-type]
    assert live_deadline(item, dt.date(2022, 1, 10)) == dt.date(2022, 1, 10), "the deadline day itself counts"
    assert live_deadline(item, dt.date(2022, 1, 11)) is None
    assert next_date(item, dt.date(2022, 1, 7)) == dt.date(2022, 1, 10)
    assert next_date(item, dt.date(2022, 1, 11)) == dt.date(2022, 2, 3)
    assert next_date(item, dt.date(2022, 2, 4)) == dt.date(2022, 2, 4), "a session under way is today's"
    assert upcoming(item.event, dt.date(2022, 2, 5)) == []
    assert next_date(item, dt.date(2022, 2, 5)) is None


def test_diary_is_soonest_first_within_its_horizon() -> None:
    def item(item_id: str, *days: str) -> Item:
        return Item.model_validate(
            {"id": item_id, "title": item_id, "event": {"sessions": [{"date": d} for d in days]}}
        )

    entries = [(item("late", "2022-03-01", "2022-01-20"), 10), (item("soon", "2022-01-05", "2021-12-01"), 9)]
    found = diary(entries, dt.date(2022, 1, 1), weeks=8)
    assert [(d.item.id, d.session.date.isoformat(), d.number) for d in found] == [
        ("soon", "2022-01-05", 9),
        ("late", "2022-01-20", 10),
    ]
    assert found[0].when == "Wed 5 January 2022"


@pytest.mark.parametrize("loader", [FAST_LOADER, PURE_LOADER])
def test_times_in_yaml_are_read_as_typed(loader: type[yaml.SafeLoader]) -> None:
    """YAML 1.1 reads 10:30 as the number 630 and 10.30 as 10.3; both must stay times."""
    text = "sessions:\n  - {date: 2022-01-06, start: 10.30, end: 13:05}\n"
    located, problems = parse_yaml(text, "times.yaml", loader=loader)
    assert problems == [] and located is not None
    parsed = Event.model_validate(located.data)
    assert (parsed.sessions[0].start, parsed.sessions[0].end) == (dt.time(10, 30), dt.time(13, 5))


@pytest.mark.parametrize(
    ("session", "message"),
    [
        ("{date: 2019-11-29, start: 10h30}", "is not a time of day"),
        ("{date: 2019-11-29, start: 25:00}", "is not a time of day"),
        ("{date: 2019-11-29, end: 12:00}", "an end time needs a start time"),
        ("{date: 2019-11-29, start: 14:00, end: 12:00}", "before it starts"),
        ("{date: 2019-11-29, end_date: 2019-11-28}", "end_date is before the date"),
    ],
)
def test_a_wrong_time_is_an_error_at_its_line(
    example: Path, session: str, message: str, run_cli: Cli
) -> None:
    path = example / "issues" / "379.yaml"
    path.write_text(
        "number: 379\ndate: 2019-11-29\nitems:\n  - id: meeting\n    title: Meeting\n"
        "    action: Come.\n    event:\n      sessions:\n        - " + session + "\n"
    )
    result = run_cli(example, "check", "379")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "issues/379.yaml:9: items[meeting].event.sessions" in result.stderr
    assert message in result.stderr


def test_labelled_sessions_read_as_a_line_per_meeting_with_their_contacts() -> None:
    sessions = [
        {"date": "2022-01-06", "start": "14:00", "end": "17:00", "label": "QA Network meeting"}
        | {"contacts": ["r"]},
        {"date": "2022-01-11", "start": "10:00", "label": "SEND Network meeting", "place": "Reading"},
    ]
    assert when_lines(event(*sessions), BEFORE, {"r": "Ruth Adeyemi"}) == [
        "QA Network meeting – Thursday 6 January 2022, 14:00–17:00 (contact: Ruth Adeyemi)",
        "SEND Network meeting – Tuesday 11 January 2022, 10:00, Reading",
    ]

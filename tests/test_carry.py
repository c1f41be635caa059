"""Carry-forward: worked examples, then the invariants for any history (hypothesis)."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import copy_example
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.content.carry import Order, plan_issue
from composer.content.loading import load_project
from composer.content.model import (
    CarriedItem,
    Event,
    Issue,
    Item,
    ReminderOverrides,
    RemindUntil,
    RemindWeeks,
    Session,
    Tool,
)
from composer.content.schedule import long_date
from composer.email.editions import FULL
from composer.email.render import Renderer

START = dt.date(2019, 10, 18)


def week(n: int) -> dt.date:
    return START + dt.timedelta(weeks=n)


def on(day: dt.date, end_date: dt.date | None = None) -> Event:
    return Event(sessions=[Session(date=day, end_date=end_date)])


def issue(n: int, items: list[Item] = (), **extra: object) -> Issue:  # type: ignore[assignment]
    return Issue(number=374 + n, date=week(n), items=list(items), **extra)


def reminder_ids(history: list[Issue], number: int, default_weeks: int = 3) -> list[str]:
    plan = plan_issue(history, number, default_weeks=default_weeks, retention_weeks=8)
    return [r.item.id for r in plan.reminders]


def test_event_item_stays_until_its_date_then_drops() -> None:
    meeting = Item(id="sub-group", title="Sub-group meets", event=on(week(1) + dt.timedelta(days=5)))
    history = [issue(0, [meeting]), issue(1), issue(2), issue(3)]
    assert reminder_ids(history, 375) == ["sub-group"]
    plan = plan_issue(history, 375, default_weeks=3, retention_weeks=8)
    assert plan.reminders[0].basis == "event"
    assert plan.reminders[0].until == meeting.event.first_day  # type: ignore[union-attr]
    assert reminder_ids(history, 376) == []


def test_event_on_the_issue_date_is_still_shown() -> None:
    meeting = Item(id="on-the-day", title="Meets on Friday", event=on(week(2)))
    history = [issue(0, [meeting]), issue(1), issue(2), issue(3)]
    assert [reminder_ids(history, 374 + n) for n in (1, 2, 3)] == [["on-the-day"], ["on-the-day"], []]


def test_undated_item_stays_for_the_default_weeks() -> None:
    report = Item(id="report", title="A report worth a second look")
    history = [issue(0, [report])] + [issue(n) for n in range(1, 6)]
    shown = [n for n in range(1, 6) if "report" in reminder_ids(history, 374 + n, default_weeks=3)]
    assert shown == [1, 2, 3]
    shown = [n for n in range(1, 6) if "report" in reminder_ids(history, 374 + n, default_weeks=1)]
    assert shown == [1]


def test_replaced_item_shows_its_new_text_and_restarts_its_rule() -> None:
    old = Item(id="network-meeting", title="Next meeting 29 November", event=on(dt.date(2019, 11, 29)))
    new = Item(
        id="network-meeting",
        title="Next meeting 13 December: please note the change of date",
        event=on(dt.date(2019, 12, 13)),
    )
    history = [issue(0, [old]), issue(1, [new])] + [issue(n) for n in range(2, 10)]
    assert reminder_ids(history, 375) == []  # new in 375: never also a reminder
    plan = plan_issue(history, 380, default_weeks=3, retention_weeks=8)  # 22 November
    [reminder] = plan.reminders
    assert reminder.item.title.endswith("change of date")
    assert (reminder.first_issue, reminder.version_issue) == (374, 375)
    assert "network-meeting" in reminder_ids(history, 382)  # 6 December, past the old date
    assert "network-meeting" not in reminder_ids(history, 383)  # 13 December + 7


def test_drop_and_keep_overrides_apply_from_their_issue_on() -> None:
    a = Item(id="a", title="A")
    b = Item(id="b", title="B")
    history = [
        issue(0, [a, b]),
        issue(1),
        issue(2, reminders=ReminderOverrides(drop=["a"], keep={"b": week(5)})),
        issue(3),
        issue(4),
        issue(5),
        issue(6),
    ]
    assert reminder_ids(history, 375) == ["a", "b"]
    assert reminder_ids(history, 376) == ["b"]
    assert [n for n in range(1, 7) if "b" in reminder_ids(history, 374 + n)] == [1, 2, 3, 4, 5]
    plan = plan_issue(history, 378, default_weeks=3, retention_weeks=8)
    assert plan.reminders[0].basis == "kept"


def test_explicit_rules() -> None:
    never = Item(id="never", title="One-off", remind="never")
    one = Item(id="one", title="One week", remind=RemindWeeks(weeks=1))
    until = Item(id="until", title="Until", remind=RemindUntil(until=week(4)))
    history = [issue(0, [never, one, until])] + [issue(n) for n in range(1, 6)]
    assert reminder_ids(history, 375) == ["one", "until"]
    assert reminder_ids(history, 376) == ["until"]
    assert reminder_ids(history, 378) == ["until"]
    assert reminder_ids(history, 379) == []


def test_deadline_and_event_keep_the_later_date() -> None:
    item = Item(
        id="conf",
        title="Conference",
        deadline=week(1),
        event=on(week(3), end_date=week(3) + dt.timedelta(days=1)),
    )
    history = [issue(0, [item])] + [issue(n) for n in range(1, 6)]
    assert [n for n in range(1, 6) if reminder_ids(history, 374 + n)] == [1, 2, 3]


def test_tools_newest_first_with_retention_and_one_entry_per_url() -> None:
    def tool(name: str) -> Tool:
        return Tool(title=name, url=f"https://www.example.org/{name}")

    history = [
        issue(0, tools=[tool("first"), tool("second")]),
        issue(1, tools=[tool("third"), tool("first")]),
        issue(2),
        issue(3, tools=[tool("fourth")]),
    ]
    plan = plan_issue(history, 377, default_weeks=3, retention_weeks=3)
    assert [t.tool.title for t in plan.tools] == ["fourth", "third", "first"]
    assert [t.issue for t in plan.tools] == [377, 375, 375]


# Invariants over generated histories.

ids = st.sampled_from(["a", "b", "c", "d", "e"])
offsets = st.integers(min_value=-7, max_value=60)


@st.composite
def items(draw: st.DrawFn) -> Item:
    kind = draw(
        st.sampled_from(["plain", "event", "sessions", "deadline", "weeks", "until", "never", "open"])
    )
    extra: dict[str, object] = {}
    base = dt.date(2020, 1, 1)
    if kind == "event":
        extra["event"] = on(base + dt.timedelta(days=draw(offsets)))
    elif kind == "sessions":
        days = draw(st.lists(offsets, min_size=2, max_size=3, unique=True))
        extra["event"] = Event(sessions=[Session(date=base + dt.timedelta(days=d)) for d in days])
        extra["deadline"] = base + dt.timedelta(days=min(days) - draw(st.integers(0, 20)))
    elif kind == "deadline":
        extra["deadline"] = base + dt.timedelta(days=draw(offsets))
    elif kind == "weeks":
        extra["remind"] = RemindWeeks(weeks=draw(st.integers(0, 6)))
    elif kind == "until":
        extra["remind"] = RemindUntil(until=base + dt.timedelta(days=draw(offsets)))
    elif kind in ("never", "open"):
        extra["remind"] = kind
    title = draw(st.sampled_from(["Meeting", "Report – “draft”"]))
    return Item(id=draw(ids), title=title, update=draw(st.booleans()), **extra)


@st.composite
def histories(draw: st.DrawFn) -> list[Issue]:
    count = draw(st.integers(1, 8))
    day = dt.date(2020, 1, 1)
    out = []
    for n in range(count):
        day += dt.timedelta(days=draw(st.sampled_from([7, 7, 7, 14])))
        chosen = {i.id: i for i in draw(st.lists(items(), max_size=4))}
        overrides = ReminderOverrides(
            drop=draw(st.lists(ids, max_size=2, unique=True)),
            keep={
                k: day + dt.timedelta(days=draw(offsets))
                for k in draw(st.lists(ids, max_size=1, unique=True))
            },
        )
        out.append(Issue(number=n + 1, date=day, items=list(chosen.values()), reminders=overrides))
    return out


@settings(max_examples=200, deadline=None)
@given(histories(), st.integers(1, 8), st.integers(0, 5), st.sampled_from(["date", "issue"]))
def test_invariants(history: list[Issue], pick: int, default_weeks: int, order: Order) -> None:
    number = min(pick, len(history))
    current = history[number - 1]
    plan = plan_issue(history, number, default_weeks=default_weeks, retention_weeks=4, order=order)
    shown = [r.item.id for r in plan.reminders]
    earlier = {item.id for issue in history[: number - 1] for item in issue.items}
    assert len(shown) == len(set(shown)), "an item appears once"
    assert not set(shown) & {i.id for i in plan.items}, "never both new and a reminder"
    assert {i.id for i in current.items} == {i.id for i in plan.items} | {
        r.item.id for r in plan.reminders if r.updated
    }
    for item in current.items:
        if item.update and item.id in earlier:
            assert item not in plan.items, "an updated reminder is never shown as new"
    for reminder in plan.reminders:
        assert reminder.until is None or reminder.until >= current.date, "nothing past its date"
        if reminder.updated:
            assert reminder.version_issue == number and reminder.item in current.items
            assert reminder.first_issue < number
            continue
        assert reminder.first_issue <= reminder.version_issue < number
        versions = [i for i in history[: number - 1] if any(x.id == reminder.item.id for x in i.items)]
        assert versions[-1].number == reminder.version_issue, "the newest version wins"
        assert reminder.item in versions[-1].items
        if reminder.item.remind == "never":
            assert reminder.basis == "kept"
    for reminder in plan.reminders:
        data = reminder.as_dict()
        assert data["deadline"] is None or str(data["deadline"]) >= current.date.isoformat()
        assert all(str(s["date"]) >= current.date.isoformat() for s in data["sessions"]), "no past session"
    if order == "date":
        dates = [r.next_date for r in plan.reminders]
        dated = [d for d in dates if d is not None]
        assert dates[: len(dated)] == sorted(dated), "dated first, soonest first; undated after"
    later = plan_issue(history[:number], number, default_weeks=default_weeks, retention_weeks=4, order=order)
    assert later == plan, "later issues never affect N"
    again = plan_issue(
        list(reversed(history)), number, default_weeks=default_weeks, retention_weeks=4, order=order
    )
    assert plan == again


@settings(max_examples=60, deadline=None)
@given(histories(), st.integers(1, 8))
def test_past_dates_are_never_rendered(rendering: Renderer, history: list[Issue], pick: int) -> None:
    """The text part of any issue shows no deadline, and no diary date, that has passed."""
    number = min(pick, len(history))
    today = history[number - 1].date
    plan = plan_issue(history, number, default_weeks=3, retention_weeks=4)
    text = rendering.text(rendering.context(plan, FULL))
    past = {
        day
        for issue in history
        for item in issue.items
        for day in [item.deadline, *(s.last_day for s in (item.event.sessions if item.event else []))]
        if day is not None and day < today
    }
    flat = " ".join(text.split())  # a date wrapped over two lines is still found
    for day in past:
        for shown in (
            f"Deadline: {day:%A} {long_date(day)}",  # this week's item
            f"Deadline {day:%A} {long_date(day)}",  # a compact reminder's date line
            f"{day:%A} {long_date(day)}",  # a reminder's next session
            f"- {day:%a} {long_date(day)}",  # the diary
            f"When: {day:%A} {day.day} ",
        ):
            assert shown not in flat, (day, shown)


@pytest.fixture(scope="module")
def rendering(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    return Renderer(load_project(copy_example(tmp_path_factory.mktemp("carry"))))


def test_carried_items_start_mid_stream_with_their_first_update_number() -> None:
    carried = CarriedItem(
        id="qa-network", title="QA Network", first_published=476, event=on(dt.date(2022, 1, 6))
    )
    standing = CarriedItem(id="ask", title="Standing request", first_published=477, remind="open")
    old = CarriedItem(id="old", title="Old report", first_published=470)  # default weeks long past
    first = Issue(number=478, date=dt.date(2021, 11, 26), carried=[carried, standing, old])
    history = [first, Issue(number=479, date=dt.date(2021, 12, 3))]
    plan = plan_issue(history, 478, default_weeks=3, retention_weeks=8)
    assert [(r.item.id, r.first_issue, r.version_issue) for r in plan.reminders] == [
        ("qa-network", 476, 478),
        ("ask", 477, 478),
    ]
    assert plan.items == ()
    assert [r.item.id for r in plan_issue(history, 479, default_weeks=3, retention_weeks=8).reminders] == [
        "qa-network",
        "ask",
    ]


def test_updated_reminder_keeps_its_first_number_and_is_not_new() -> None:
    old = Item(id="qa", title="QA meeting 9 December", event=on(week(5)))
    moved = Item(id="qa", title="QA meeting ***NEW DATE*** 6 January", update=True, event=on(week(8)))
    history = [issue(0, [old]), issue(1), issue(2, [moved]), issue(3)]
    plan = plan_issue(history, 376, default_weeks=3, retention_weeks=8)
    assert plan.items == ()
    [reminder] = plan.reminders
    assert (reminder.item, reminder.first_issue, reminder.version_issue, reminder.updated) == (
        moved,
        374,
        376,
        True,
    )
    assert reminder.describe().startswith("from issue 374, updated in No 376; event on")
    [later] = plan_issue(history, 377, default_weeks=3, retention_weeks=8).reminders
    assert (later.item, later.first_issue, later.version_issue, later.updated) == (moved, 374, 376, False)


def test_open_notice_stays_until_dropped() -> None:
    notice = Item(id="helpline", title="Helpline", remind="open")
    history = [issue(n) for n in range(1, 40)]
    history = [issue(0, [notice]), *history[:-1], issue(39, reminders=ReminderOverrides(drop=["helpline"]))]
    assert reminder_ids(history, 374 + 38) == ["helpline"]
    assert reminder_ids(history, 374 + 39) == []


def test_reminders_are_ordered_by_next_date_or_kept_in_issue_order() -> None:
    soon = Item(id="soon", title="Soon", event=on(week(2)))
    later = Item(id="later", title="Later", deadline=week(3))
    undated = Item(id="undated", title="Undated")
    history = [issue(0, [undated, soon]), issue(1, [later]), issue(2)]
    by_date = plan_issue(history, 376, default_weeks=3, retention_weeks=8)
    assert [r.item.id for r in by_date.reminders] == ["soon", "later", "undated"]
    by_issue = plan_issue(history, 376, default_weeks=3, retention_weeks=8, order="issue")
    assert [r.item.id for r in by_issue.reminders] == ["later", "undated", "soon"]


def test_update_works_on_an_item_declared_under_carried() -> None:
    """`update: true` on a `carried:` id: on the entry itself, by an item of the same issue, or later."""
    carried = CarriedItem(id="qa", title="QA meeting 9 December", first_published=476, event=on(week(5)))
    itself = carried.model_copy(update={"title": "QA meeting moved", "update": True})
    moved = Item(id="qa", title="QA meeting ***NEW DATE*** 6 January", update=True, event=on(week(8)))
    plain = Issue(number=478, date=week(0), carried=[carried])
    for history, number, text in [
        ([Issue(number=478, date=week(0), carried=[itself])], 478, itself),
        ([Issue(number=478, date=week(0), carried=[carried], items=[moved])], 478, moved),
        ([plain, Issue(number=479, date=week(1), items=[moved])], 479, moved),
    ]:
        plan = plan_issue(history, number, default_weeks=3, retention_weeks=8)
        [reminder] = plan.reminders
        assert plan.items == ()
        assert (reminder.item, reminder.first_issue, reminder.version_issue, reminder.updated) == (
            text,
            476,
            number,
            True,
        )
    [reminder] = plan_issue([plain], 478, default_weeks=3, retention_weeks=8).reminders
    assert not reminder.updated


def test_an_item_updating_a_carried_id_of_its_own_issue_checks_clean(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = copy_example(tmp_path / "project")
    (root / "issues" / "378.yaml").write_text(
        "number: 378\ndate: 2019-11-15\ncarried:\n"
        "  - {id: qa-old, first_published: 370, title: QA meeting, remind: open}\n"
        "items:\n"
        "  - {id: qa-old, update: true, title: QA meeting moved, action: Please note the date.}\n",
        encoding="utf-8",
    )
    project = load_project(root)
    problems = [p for found in project.problems.values() for p in found if p.severity == "error"]
    assert problems == []


def test_tools_with_several_links_a_closing_date_and_carried_from_before() -> None:
    from pydantic import ValidationError

    from composer.content.model import CarriedTool, ToolLink

    two = Tool(
        title="Guide and checklist",
        links=[
            ToolLink(label="Guide", url="https://example.org/guide"),
            ToolLink(label="Checklist", url="https://example.org/checklist"),
        ],
    )
    closing = Tool(title="Consultation", url="https://example.org/consultation", closes=week(1))
    listed = CarriedTool(title="Old report", url="https://example.org/old", first_published=370)
    first = Issue(number=374, date=week(0), tools=[two, closing], carried=[listed])
    history = [first, issue(1), issue(2)]
    plans = [plan_issue(history, 374 + n, default_weeks=3, retention_weeks=6) for n in range(3)]
    assert [(t.tool.title, t.issue) for t in plans[0].tools] == [
        ("Guide and checklist", 374),
        ("Consultation", 374),
        ("Old report", 370),
    ]
    assert plans[0].tools[0].as_dict()["url"] == "https://example.org/guide"
    # the consultation closed after week 1; the old report was added 4 weeks before 374: 6 weeks on
    assert [t.tool.title for t in plans[1].tools] == ["Guide and checklist", "Consultation", "Old report"]
    assert [t.tool.title for t in plans[2].tools] == ["Guide and checklist"]
    for wrong in (
        {},
        {"url": "https://example.org/a", "links": [{"label": "B", "url": "https://example.org/b"}]},
    ):
        with pytest.raises(ValidationError, match="give either url or links"):
            Tool.model_validate({"title": "T", **wrong})

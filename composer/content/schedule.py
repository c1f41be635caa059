"""What is still to come on an issue's date: the sessions and deadlines an Update may show.

One place decides "past" for the email, the text part, the preview and the plan, so that a past
deadline or session is never shown in one and hidden in another.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from composer.content.model import Event, Item, Session


def long_date(day: dt.date) -> str:
    """18 October 2019: the form the Update uses everywhere."""
    return f"{day.day} {day:%B %Y}"


def upcoming(event: Event | None, today: dt.date) -> list[Session]:
    """The sessions not yet over on `today`, soonest first."""
    if event is None:
        return []
    live = [session for session in event.sessions if session.last_day >= today]
    return sorted(live, key=lambda s: (s.date, s.start or dt.time()))


def live_deadline(item: Item, today: dt.date) -> dt.date | None:
    """The item's deadline, unless it has passed by `today`."""
    return item.deadline if item.deadline is not None and item.deadline >= today else None


def next_date(item: Item, today: dt.date) -> dt.date | None:
    """The soonest date still to come (a session's first day, or the deadline); None if undated."""
    dates = [max(session.date, today) for session in upcoming(item.event, today)]
    deadline = live_deadline(item, today)
    if deadline is not None:
        dates.append(deadline)
    return min(dates, default=None)


def hours(session: Session) -> str:
    """10:00–16:00, or 10:00 alone, or "" for a session without a time."""
    if session.start is None:
        return ""
    return f"{session.start:%H:%M}" + (f"–{session.end:%H:%M}" if session.end else "")


def _day(day: dt.date) -> str:
    return f"{day:%A} {day.day}"


def _span(session: Session, end: dt.date) -> str:
    """A session over several days: "Thursday 5 to Friday 6 December 2019"."""
    start = session.date
    if start.year != end.year:
        left = f"{start:%A} {long_date(start)}"
    elif start.month != end.month:
        left = f"{_day(start)} {start:%B}"
    else:
        left = _day(start)
    return f"{left} to {_day(end)} {end:%B %Y}"


def _joins(previous: Session, session: Session) -> bool:
    """Single days of one month with the same hours, place, label and contacts read as one phrase."""

    def shape(s: Session) -> tuple[object, ...]:
        return (s.date.year, s.date.month, s.start, s.end, s.place, s.label, s.contacts)

    return (
        previous.end_date in (None, previous.date)
        and session.end_date in (None, session.date)
        and shape(previous) == shape(session)
    )


def _same_day(previous: Session, session: Session) -> bool:
    """Two timed sessions of one day, place, label and contacts: "09:30–13:30 and 14:00–17:00"."""

    def shape(s: Session) -> tuple[object, ...]:
        return (s.date, s.end_date or s.date, s.place, s.label, s.contacts)

    return previous.start is not None and session.start is not None and shape(previous) == shape(session)


def _phrase(sessions: list[Session], event: Event, names: Mapping[str, str]) -> str:
    first, last = sessions[0], sessions[-1]
    if last.end_date and last.end_date != last.date:
        text = _span(last, last.end_date)
    else:
        days = list(dict.fromkeys(_day(session.date) for session in sessions))
        joined = ", ".join(days[:-1]) + " and " + days[-1] if len(days) > 1 else days[0]
        text = f"{joined} {last.date:%B %Y}"
    if first.start:
        times = [hours(session) for session in sessions] if first.date == last.date else [hours(first)]
        text += ", " + " and ".join(times)
    if first.place and first.place != event.place:
        text += f", {first.place}"
    if first.label:
        text = f"{first.label} – {text}"
    cited = [names[contact] for contact in first.contacts if contact in names]
    if cited:
        text += f" (contact: {', '.join(cited)})"
    return text


def _groups(event: Event, today: dt.date) -> list[list[Session]]:
    """The sessions still to come, in the groups one phrase says: days of a month with the same
    hours ("Thursday 27 and Friday 28 January"), or the hours of one day ("09:30–13:30 and
    14:00–17:00"), never both in one group."""
    groups: list[list[Session]] = []
    for session in upcoming(event, today):
        group = groups[-1] if groups else []
        days = len({s.date for s in group})
        if group and (
            (days == 1 and _same_day(group[-1], session))
            or (days == len(group) and _joins(group[-1], session))
        ):
            group.append(session)
        else:
            groups.append([session])
    return groups


def when_lines(event: Event, today: dt.date, names: Mapping[str, str] | None = None) -> list[str]:
    """The "When" of what is still to come, read as a person would write it: one line, or a line
    per meeting when sessions are labelled (an item listing several meetings reads as a list).

    "Thursday 27 and Friday 28 January 2022, 10:00–16:00; Wednesday 4 May 2022, 13:30–15:00"; a
    labelled session is named, with its own contacts (`names`: contact id to name):
    "QA Network meeting – Thursday 6 January 2022, 14:00–17:00 (contact: Ruth Adeyemi)".
    """
    phrases = [_phrase(group, event, names or {}) for group in _groups(event, today)]
    if any(session.label for session in event.sessions):
        return phrases
    return ["; ".join(phrases)] if phrases else []


@dataclass(frozen=True)
class DiaryDate:
    """One line of "Dates for your diary": a session of an item, and the issue carrying its text."""

    session: Session
    item: Item
    number: int

    @property
    def when(self) -> str:
        """Thu 27 January 2022, 10:00–16:00: the date column of the list."""
        session = self.session
        text = f"{session.date:%a} {long_date(session.date)}"
        if session.end_date and session.end_date != session.date:
            text += f" to {session.end_date:%a} {long_date(session.end_date)}"
        return text + (f", {hours(session)}" if session.start else "")

    @property
    def label(self) -> str:
        """What the line names: the session's own label, or the item's title."""
        return self.session.label or self.item.title

    @property
    def line(self) -> str:
        """The diary's line, with its date once: "Thu 27 January 2022, 10:00–16:00 – QA Network
        meeting", or "10:30–13:30: AD Education Network – next meeting Friday 13 December" when
        the label already says the day."""
        session = self.session
        if _says_day(self.label, session.date):
            return f"{hours(session)}: {self.label}" if session.start else self.label
        return f"{self.when} – {self.label}"

    @property
    def place(self) -> str | None:
        event = self.item.event
        return self.session.place or (event.place if event else None)

    def as_dict(self) -> dict[str, object]:
        return {
            "date": self.session.date.isoformat(),
            "end_date": self.session.end_date.isoformat() if self.session.end_date else None,
            "time": hours(self.session) or None,
            "id": self.item.id,
            "title": self.item.title,
            "label": self.label,
            "place": self.place,
        }


def _says_day(text: str, day: dt.date) -> bool:
    """Whether text names the day of the month with its month ("13 December", "5–6 December",
    "December 13th")."""
    month = f"{day:%B}"
    nth = rf"{day.day}(?:st|nd|rd|th)?"
    run = r"(?:\s*[–-]\s*\d{1,2}(?:st|nd|rd|th)?)?"
    return re.search(rf"\b{nth}{run}\s+{month}\b|\b{month}\s+{nth}\b", text) is not None


def diary(entries: Iterable[tuple[Item, int]], today: dt.date, weeks: int) -> list[DiaryDate]:
    """Every session still to come within `weeks` of `today`, soonest first."""
    horizon = today + dt.timedelta(weeks=weeks)
    found = [
        DiaryDate(session, item, number)
        for item, number in entries
        for session in upcoming(item.event, today)
        if session.date <= horizon
    ]
    return sorted(
        found, key=lambda d: (max(d.session.date, today), d.session.start or dt.time(), d.item.title)
    )

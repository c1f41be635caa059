"""The content model: contacts, networks, issues and their items, as validated types.

One pydantic model per file format gives validation and the JSON Schema from the same source.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    HttpUrl,
    PlainSerializer,
    PlainValidator,
    Tag,
    field_validator,
    model_validator,
)

from composer.content.fields import EmailAddress, Line, Markdown, Slug, Strict


class Contact(Strict):
    """A person or service readers can contact: cited by items, listed under Contact Details."""

    id: Slug
    name: Line
    role: Line
    organisation: Line
    email: EmailAddress | None = Field(default=None, description="optional when there is a phone number")
    phone: Line | None = None
    standing: bool = Field(
        default=False, description="always listed under Contact Details, even when no item cites them"
    )

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        if self.email is None and self.phone is None:
            raise ValueError("give an email or a phone number (or both)")
        return self


class Network(Strict):
    """A group of readers (recipients/networks.yaml): items for it reach its members only."""

    id: Slug
    name: Line
    lead: Slug | None = Field(default=None, description="contact id of the network's lead")
    description: str = ""


_CLOCK = re.compile(r"^(\d{1,2})[:.](\d{2})$")


def _clock(value: Any) -> Any:
    """10:30 or the UK habit 10.30 (YAML reads both as text, see yamlio); anything else is refused."""
    if isinstance(value, str):
        match = _CLOCK.match(value.strip())
        if match is None or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValueError(f"{value!r} is not a time of day: write it as 10:30 or 10.30 (24-hour clock)")
        return dt.time(int(match[1]), int(match[2]))
    if isinstance(value, dt.time):
        return value
    raise ValueError("a time of day is written as 10:30 or 10.30 (24-hour clock)")


Clock = Annotated[
    dt.time,
    PlainValidator(_clock, json_schema_input_type=str),
    PlainSerializer(lambda value: f"{value:%H:%M}", return_type=str),
    Field(json_schema_extra={"pattern": r"^\d{1,2}[:.]\d{2}$"}, description="24-hour time, e.g. 10:30"),
]


class Session(Strict):
    """One date (or run of days) of an event, with its hours and, if it differs, its place."""

    date: dt.date
    start: Clock | None = None
    end: Clock | None = None
    end_date: dt.date | None = Field(default=None, description="last day of a session over several days")
    place: Line | None = Field(default=None, description="where this session is, if not the event's place")
    label: Line | None = Field(
        default=None,
        description='what this session is, when an item lists several meetings ("QA Network meeting"): '
        'named in the "When" line, the diary and the calendar file',
    )
    contacts: list[Slug] = Field(
        default_factory=list, description="contact ids for this session, listed in Contact Details"
    )

    @model_validator(mode="after")
    def _in_order(self) -> Session:
        if self.end is not None and self.start is None:
            raise ValueError("an end time needs a start time")
        if self.end_date is not None and self.end_date < self.date:
            raise ValueError("end_date is before the date")
        if self.start and self.end and self.end <= self.start:
            raise ValueError(f"ends at {self.end:%H:%M}, before it starts at {self.start:%H:%M}")
        return self

    @property
    def last_day(self) -> dt.date:
        return self.end_date or self.date


class Event(Strict):
    """When and where an item happens: one or more sessions, each with its own date."""

    sessions: list[Session] = Field(min_length=1, description="one entry per date of the event")
    place: Line | None = Field(default=None, description="where every session is, unless it says")

    @property
    def first_day(self) -> dt.date:
        return min(session.date for session in self.sessions)

    @property
    def last_day(self) -> dt.date:
        return max(session.last_day for session in self.sessions)


class RemindWeeks(Strict):
    """Remind for this many weeks after the item's issue."""

    weeks: int = Field(ge=0, le=52)


class RemindUntil(Strict):
    """Remind in every issue dated on or before this day."""

    until: dt.date


def _remind_kind(value: Any) -> str | None:
    """Pick the rule's form from its shape, so a wrong rule gets one clear error."""
    if isinstance(value, (RemindWeeks, RemindUntil)):
        return "weeks" if isinstance(value, RemindWeeks) else "until"
    if isinstance(value, dict):
        return "until" if "until" in value else "weeks"
    return "word"


Remind = Annotated[
    Annotated[RemindWeeks, Tag("weeks")]
    | Annotated[RemindUntil, Tag("until")]
    | Annotated[Literal["never", "open"], Tag("word")],
    Discriminator(_remind_kind),
]


class Item(Strict):
    """One piece of news: title, body and action, for everyone or for some networks."""

    id: Slug = Field(description="stable id; a later item with the same id replaces this one")
    title: Line
    networks: list[Slug] = Field(default_factory=list, description="network ids; empty = everyone")
    body: Markdown = ""
    action: Markdown = Field(default="", description='the "Action Required" part')
    contacts: list[Slug] = Field(default_factory=list, description="contact ids")
    event: Event | None = None
    deadline: dt.date | None = None
    remind: Remind | None = Field(
        default=None,
        description="{weeks: N}, {until: DATE}, never, or open (until an issue drops it); "
        "default: event/deadline",
    )
    update: bool = Field(
        default=False,
        description="this item updates one published earlier (or declared under carried:) with the same "
        "id: it stays under the reminders, shown whole and marked Updated",
    )

    @field_validator("networks", "contacts")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists an id twice")
        return value

    @property
    def for_everyone(self) -> bool:
        return not self.networks

    @property
    def cited_contact_ids(self) -> list[str]:
        """The contacts the item and its sessions cite, each once, in order."""
        sessions = self.event.sessions if self.event else []
        return list(dict.fromkeys([*self.contacts, *(c for session in sessions for c in session.contacts)]))


class CarriedItem(Item):
    """An item published before the programme used composer: a reminder from its first issue on."""

    first_published: int = Field(ge=1, description="the number of the Update that first published it")


class ToolLink(Strict):
    """One of a tool's links, with what it opens."""

    label: Line = Field(description='what the link opens: "Report", "Summary", "Easy read"')
    url: HttpUrl


class Tool(Strict):
    """A publication or resource for Tools & Templates, with its publisher and date."""

    title: Line
    url: HttpUrl | None = Field(default=None, description="the tool's link; or give several under links")
    links: list[ToolLink] = Field(default_factory=list, description="several links, each with a label")
    publisher: Line | None = None
    date: dt.date | None = Field(default=None, description="publication date")
    closes: dt.date | None = Field(
        default=None,
        description="closing date (a consultation, a call for evidence): shown beside it; the entry "
        "leaves the list once it has passed",
    )

    @model_validator(mode="after")
    def _one_way_to_link(self) -> Tool:
        if (self.url is None) == (not self.links):
            raise ValueError("give either url or links (a list of {label, url}), not both")
        return self

    @property
    def key(self) -> str:
        """The URL that makes an entry unique on the list: its url, or its first link's."""
        return str(self.url or self.links[0].url)


class CarriedTool(Tool):
    """A tool on the list before the programme used composer: retention counts from its Update."""

    first_published: int = Field(ge=1, description="the number of the Update that added it to the list")


def _carried_kind(value: Any) -> str:
    """An entry of `carried:` with an id is an item; one without is a tool."""
    if isinstance(value, (CarriedItem, CarriedTool)):
        return "item" if isinstance(value, CarriedItem) else "tool"
    return "item" if isinstance(value, dict) and "id" in value else "tool"


Carried = Annotated[
    Annotated[CarriedItem, Tag("item")] | Annotated[CarriedTool, Tag("tool")],
    Discriminator(_carried_kind),
]


class ReminderOverrides(Strict):
    """This issue's decisions about earlier items: stop reminding some, keep others longer."""

    drop: list[Slug] = Field(default_factory=list, description="item ids to stop reminding of")
    keep: dict[Slug, dt.date] = Field(
        default_factory=dict, description="item id: date to keep reminding until"
    )


class Issue(Strict):
    """One weekly Update: only what is new that week."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"title": "composer issue file"},
    )

    number: int = Field(ge=1)
    date: dt.date
    subject: Line | None = None
    preheader: Line | None = None
    intro: Markdown | None = None
    items: list[Item] = Field(default_factory=list)
    carried: list[Carried] = Field(
        default_factory=list,
        description="items published in earlier Updates that have no file (shown as reminders), and "
        "tools already on the Tools & Templates list (without an id)",
    )
    tools: list[Tool] = Field(default_factory=list)
    tools_note: Markdown | None = Field(
        default=None,
        description="a line under Tools & Templates this week, in place of tools.note in composer.yaml "
        "(empty: none this week)",
    )
    reminders: ReminderOverrides = Field(default_factory=ReminderOverrides)

    @field_validator("items", "carried", "tools", mode="before")
    @classmethod
    def _empty(cls, value: Any) -> Any:
        """`items:` with nothing under it (the scaffold's example still commented out) is no items."""
        return [] if value is None else value

    @property
    def carried_items(self) -> list[CarriedItem]:
        return [entry for entry in self.carried if isinstance(entry, CarriedItem)]

    @property
    def carried_tools(self) -> list[CarriedTool]:
        return [entry for entry in self.carried if isinstance(entry, CarriedTool)]


def issue_json_schema() -> dict[str, Any]:
    """The JSON Schema that editors use to complete and check issue files."""
    schema = Issue.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema

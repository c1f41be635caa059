"""The content model: contacts, networks, issues and their items, as validated types.

One pydantic model per file format gives validation and the JSON Schema from the same source.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    HttpUrl,
    Tag,
    field_validator,
)

from composer.content.fields import EmailAddress, Line, Markdown, Slug, Strict


class Contact(Strict):
    id: Slug
    name: Line
    role: Line
    organisation: Line
    email: EmailAddress
    phone: Line | None = None


class Network(Strict):
    id: Slug
    name: Line
    lead: Slug | None = Field(default=None, description="contact id of the network's lead")
    description: str = ""


class Event(Strict):
    date: dt.date
    time: Line | None = Field(default=None, description='free text, e.g. "10:30–13:30"')
    end_date: dt.date | None = Field(default=None, description="last day of a multi-day event")
    place: Line | None = None

    @property
    def last_day(self) -> dt.date:
        return self.end_date or self.date


class RemindWeeks(Strict):
    weeks: int = Field(ge=0, le=52)


class RemindUntil(Strict):
    until: dt.date


def _remind_kind(value: Any) -> str | None:
    """Pick the rule's form from its shape, so a wrong rule gets one clear error."""
    if isinstance(value, (RemindWeeks, RemindUntil)):
        return "weeks" if isinstance(value, RemindWeeks) else "until"
    if isinstance(value, dict):
        return "until" if "until" in value else "weeks"
    return "never"


Remind = Annotated[
    Annotated[RemindWeeks, Tag("weeks")]
    | Annotated[RemindUntil, Tag("until")]
    | Annotated[Literal["never"], Tag("never")],
    Discriminator(_remind_kind),
]


class Item(Strict):
    id: Slug = Field(description="stable id; a later item with the same id replaces this one")
    title: Line
    networks: list[Slug] = Field(default_factory=list, description="network ids; empty = everyone")
    body: Markdown = ""
    action: Markdown = Field(default="", description='the "Action Required" part')
    contacts: list[Slug] = Field(default_factory=list, description="contact ids")
    event: Event | None = None
    deadline: dt.date | None = None
    remind: Remind | None = Field(
        default=None, description="{weeks: N}, {until: DATE} or never; default: event/deadline"
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


class Tool(Strict):
    title: Line
    url: HttpUrl
    publisher: Line | None = None
    date: dt.date | None = Field(default=None, description="publication date")


class ReminderOverrides(Strict):
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
    tools: list[Tool] = Field(default_factory=list)
    reminders: ReminderOverrides = Field(default_factory=ReminderOverrides)


def issue_json_schema() -> dict[str, Any]:
    """The JSON Schema that editors use to complete and check issue files."""
    schema = Issue.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema

"""The content model: contacts, networks, issues and their items, as validated types.

One pydantic model per file format gives validation and the JSON Schema from the same source.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    HttpUrl,
    StringConstraints,
    Tag,
    field_validator,
)

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80),
    Field(description="lowercase letters, digits and hyphens, e.g. education-network-december"),
]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def _no_control(text: str, *, line_breaks: bool) -> str:
    """Control characters (typed through YAML escapes) break headers and MJML: name the culprit."""
    found = _CONTROL.search(text) or (None if line_breaks else re.search(r"[\r\n\t]", text))
    if found:
        raise ValueError(f"contains the control character U+{ord(found[0]):04X}: remove it")
    return text


Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1),
    AfterValidator(functools.partial(_no_control, line_breaks=False)),
    Field(description="one line of text"),
]
Markdown = Annotated[
    str,
    AfterValidator(functools.partial(_no_control, line_breaks=True)),
    Field(description="Markdown: links, lists, emphasis, quotes"),
]


def usable_address(value: str) -> str:
    """The ASCII form of an address for envelopes and headers (no DNS lookup); raises if unusable.

    No server is assumed to offer SMTPUTF8, so a non-ASCII local part (zoë@…) is refused.
    """
    valid = validate_email(value.strip(), check_deliverability=False, allow_smtputf8=False)
    return valid.ascii_email or valid.normalized


def _usable(value: str) -> str:
    try:
        return usable_address(value)
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not a usable address: {exc}") from None


EmailAddress = Annotated[
    str,
    AfterValidator(_usable),
    Field(description="one email address, ASCII before the @ (it goes into message headers)"),
]


class Strict(BaseModel):
    """Unknown keys are errors: a typo such as `netwroks` must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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

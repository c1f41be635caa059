"""Settings: the one typed place for everything that recurs from week to week (composer.yaml)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import partial
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, HttpUrl, ValidationError, field_validator

from composer.content.fields import EmailAddress, Line, Markdown, Strict
from composer.errors import ComposerError

# Branding values are written into CSS, where HTML escaping does not protect: each is checked by
# its kind, so that no value can close a rule and start another (or fetch a URL).
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_FONT_NAME = r"-?[^\W\d][\w-]*(?: +-?[^\W\d][\w-]*)*"  # CSS identifiers: Segoe UI, sans-serif
_FONT_STACK = re.compile(rf"{_FONT_NAME}(?: *, *{_FONT_NAME})*")


def _colour(value: str) -> str:
    if not _COLOUR.fullmatch(value):
        raise ValueError(f"{value!r} is not a colour: write it as #rrggbb, e.g. #1d4e6b")
    return value


def _font_stack(value: str) -> str:
    if not _FONT_STACK.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a list of font names: write names separated by commas, without "
            "quotes, e.g. Segoe UI, Arial, sans-serif"
        )
    return value


def _https(url: HttpUrl, *, why: str) -> HttpUrl:
    if url.scheme != "https":
        raise ValueError(f"{url} is not an https:// URL: {why}")
    return url


Colour = Annotated[str, AfterValidator(_colour), Field(description="#rrggbb")]
FontStack = Annotated[Line, AfterValidator(_font_stack), Field(description="font names, comma-separated")]
ImageUrl = Annotated[HttpUrl, AfterValidator(partial(_https, why="mail clients do not show http images"))]
UnsubscribeUrl = Annotated[
    HttpUrl, AfterValidator(partial(_https, why="one-click unsubscribe (RFC 8058) works only over https"))
]

M = TypeVar("M", bound="Server")


class Programme(Strict):
    """Who sends the Update: its names, language and time zone."""

    name: Line
    short_name: Line
    language: str = Field(default="en-GB", pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    timezone: str = Field(default="Europe/London", description="IANA name; the time zone of event times")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Europe/London") from None
        return value


class Address(Strict):
    """A display name and one email address (From:)."""

    name: Line
    email: EmailAddress


class Link(Strict):
    """A titled https link (the programme's plan)."""

    title: Line
    url: HttpUrl


class Image(Strict):
    """An https image with its alt text, for readers with images off."""

    url: ImageUrl
    alt: Line


class NavLink(Strict):
    """A workstream in the email's header: a text link, which works with images off."""

    label: Line
    url: HttpUrl


class Branding(Strict):
    """Colours, fonts and images; each value is checked by its kind, since it reaches CSS."""

    primary_colour: Colour = "#1d4e6b"
    accent_colour: Colour = "#c8102e"
    text_colour: Colour = "#222222"
    background_colour: Colour = "#f2f4f6"
    action_colour: Colour = Field(
        default="#915300", description='"Action required" and its box: its own colour, apart from the labels'
    )
    font_stack: FontStack = "Arial, Helvetica, sans-serif"
    logo: Image | None = None
    banner: Image | None = None
    hero: Image | None = None
    hero_in_email: bool = Field(
        default=False,
        description="also show the hero in the email, not only on the archive's pages (with images off, "
        "as Outlook shows an email by default, a mail client shows a broken image in its place)",
    )


ReminderLayout = Literal["compact", "full"]
ItemsOrder = Literal["networks_first", "file"]


class ReminderDefaults(Strict):
    """How long items are reminded, and in what order and layout."""

    default_weeks: int = Field(default=3, ge=0, le=52)
    order: Literal["date", "issue"] = Field(
        default="date", description="date: soonest next date first, undated after; issue: newest first"
    )
    open_warn_weeks: int = Field(
        default=12, ge=1, le=520, description="`composer check` warns about open notices older than this"
    )
    layout: ReminderLayout = Field(
        default="compact",
        description="compact: title, next date and the action's first sentence, linked to the full text "
        "in the archive; full: every reminder whole, as this week's items",
    )


class Diary(Strict):
    """Dates for your diary: on or off, and how far ahead it looks."""

    enabled: bool = True
    weeks: int = Field(default=12, ge=1, le=104, description="how far ahead the list looks")


class ToolsDefaults(Strict):
    """How long Tools & Templates keeps an entry, and the note under the list."""

    retention_weeks: int = Field(default=12, ge=1, le=520)
    note: Markdown = Field(
        default="", description="a standing line under Tools & Templates; an issue's own note replaces it"
    )


class LinkCheck(Strict):
    """How `composer check --links` and `send` ask the links' servers (composer/email/links.py)."""

    timeout: float = Field(default=10, gt=0, le=120, description="seconds to wait for each answer")
    cache_hours: float = Field(
        default=24, ge=0, description="how long an answer that was not a failure is reused without asking"
    )
    retry_after_max: float = Field(
        default=30, ge=0, le=600, description="the longest Retry-After of a 429 that is waited for"
    )


GREETING_FIELDS = ("first_name", "name")
_GREETING_FIELD = re.compile(r"\{([^{}]*)\}")


def _greeting(value: str) -> str:
    for name in _GREETING_FIELD.findall(value):
        if name not in GREETING_FIELDS:
            raise ValueError(f"{{{name}}} is not a member's field: use {{first_name}} or {{name}}")
    if re.search(r"[{}]", _GREETING_FIELD.sub("", value)):
        raise ValueError(f"{value!r} has a {{ or }} without its pair")
    return value


def _no_fields(value: str) -> str:
    if re.search(r"[{}]", value):
        raise ValueError(f"{value!r} is used when a member's field is empty: it cannot name a field")
    return value


class Greeting(Strict):
    """The line each email opens with, from the member's own fields where the lists have them."""

    text: Annotated[Line, AfterValidator(_greeting)] = Field(
        default="Dear {first_name},", description="may use {first_name} and {name}"
    )
    fallback: Annotated[Line, AfterValidator(_no_fields)] = Field(
        default="Dear colleague,", description="for a reader without the fields that text uses"
    )

    @property
    def fields(self) -> list[str]:
        """The member's fields the text uses."""
        return _GREETING_FIELD.findall(self.text)

    def for_reader(self, *, name: str = "", first_name: str = "") -> str:
        values = {"first_name": first_name.strip(), "name": name.strip()}
        if not all(values[field] for field in self.fields):
            return self.fallback
        return _GREETING_FIELD.sub(lambda match: values[match[1]], self.text)


Security = Literal["starttls", "tls", "none"]


class Server(Strict):
    """What the SMTP and IMAP settings share; host, port, username and security may come from the
    environment (see `_overridden`)."""

    host: Line | None = None
    username: Line | None = None
    allow_plaintext: bool = Field(
        default=False, description="allow security: none to a host that is not loopback"
    )
    timeout: float = Field(default=60, gt=0, description="seconds to wait for each reply")


class Smtp(Server):
    """The relay `composer send` talks to; the password comes from the environment only."""

    port: int | None = Field(default=None, ge=1, le=65535, description="default: 587, or 465 for tls")
    security: Security = "starttls"
    data_timeout: float = Field(
        default=600,
        gt=0,
        description="seconds to wait for the reply to a message's content (RFC 5321: 10 minutes)",
    )
    connections: int = Field(default=2, ge=1, le=32)


class Sending(Strict):
    """How the Update is sent: list headers, unsubscribe, rates, retries, the relay."""

    outbox: str = "outbox"
    journal: str = ".composer/journal.sqlite"
    transport: Literal["auto", "outbox", "smtp"] = "auto"
    smtp: Smtp = Field(default_factory=Smtp)
    rate_per_minute: int = Field(default=30, ge=1)
    rate_per_day: int | None = Field(default=None, ge=1)
    retries: int = Field(default=3, ge=0, le=20)
    retry_delay: float = Field(default=5, ge=0, description="seconds before the first retry; then doubled")
    pause_after: int = Field(
        default=10, ge=1, description="stop after this many failed attempts in a row (server or account down)"
    )
    list_id: Line
    unsubscribe_url: UnsubscribeUrl | None = Field(
        default=None, description="your web page that takes ?token=...; without it, mailto links only"
    )
    unsubscribe_mailto: EmailAddress | None = Field(
        default=None, description="where unsubscribe replies go (default: the from address): composer inbox"
    )

    def unsubscribe_address(self, sender: str) -> str:
        """The mailbox the unsubscribe mailto links write to: the one `composer inbox` reads."""
        return self.unsubscribe_mailto or sender

    def with_environment(self, env: Mapping[str, str] | None = None) -> Sending:
        """SMTP settings as overridden by COMPOSER_SMTP_* variables, as deployments expect."""
        smtp = _overridden(self.smtp, "COMPOSER_SMTP_", env)
        return self if smtp is self.smtp else self.model_copy(update={"smtp": smtp})


class Inbox(Server):
    """The programme's mailbox, read by `composer inbox` for unsubscribe replies and bounces."""

    port: int | None = Field(default=None, ge=1, le=65535, description="default: 993, or 143 for starttls")
    security: Security = "tls"
    ca_file: Line | None = Field(
        default=None,
        description="a CA certificate (PEM) to trust instead of the system's, for a private server",
    )
    folder: Line = "INBOX"
    processed_folder: Line = Field(default="composer/processed", description="where handled messages go")
    soft_bounce_limit: int = Field(
        default=3,
        ge=1,
        le=52,
        description="soft bounces in consecutive Updates before a person is suppressed",
    )
    max_message_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="a larger message is recorded as unreadable and left in the mailbox, unread",
    )

    def with_environment(self, env: Mapping[str, str] | None = None) -> Inbox:
        """IMAP settings as overridden by COMPOSER_IMAP_* variables, like SMTP's."""
        return _overridden(self, "COMPOSER_IMAP_", env)


_ENVIRONMENT_KEYS = ("host", "port", "username", "security")


def _overridden(model: M, prefix: str, env: Mapping[str, str] | None) -> M:
    """The model with host, port, username and security taken from `prefix`-named variables."""
    env = os.environ if env is None else env
    overrides: dict[str, object] = {}
    for key in _ENVIRONMENT_KEYS:
        value = env.get(f"{prefix}{key.upper()}", "").strip()
        if value:
            overrides[key] = value.lower() if key == "security" else value
    if not overrides:
        return model
    try:
        return type(model).model_validate({**model.model_dump(), **overrides})
    except ValidationError as exc:
        error = exc.errors()[0]
        key = str(error["loc"][0])
        raise ComposerError(f"{prefix}{key.upper()}={overrides.get(key)!r}: {error['msg']}") from None


class Review(Strict):
    """Colleagues who review each Update before it goes: `composer send --review` sends them a
    [REVIEW] copy of every edition."""

    to: list[EmailAddress] = Field(default_factory=list, description="the reviewers' addresses")


class Settings(Strict):
    """composer.yaml, validated: everything that recurs from week to week."""

    programme: Programme
    sender: Address = Field(alias="from")
    reply_to: EmailAddress | None = None
    subject: Line = "{short_name} Update No {number} – {date}"
    intro: Markdown = ""
    greeting: Greeting = Field(default_factory=Greeting)
    plan: Link | None = None
    branding: Branding = Field(default_factory=Branding)
    navigation: list[NavLink] = Field(default_factory=list)
    archive_url: HttpUrl
    items_order: ItemsOrder = Field(
        default="networks_first",
        description="networks_first: in an edition for some networks, their items come before the "
        "items for everyone; file: in the issue file's order",
    )
    reminders: ReminderDefaults = Field(default_factory=ReminderDefaults)
    diary: Diary = Field(default_factory=Diary)
    tools: ToolsDefaults = Field(default_factory=ToolsDefaults)
    max_issue_bytes: int = Field(default=1_000_000, ge=1, description="larger issue files are refused unread")
    links: LinkCheck = Field(default_factory=LinkCheck)
    sending: Sending
    inbox: Inbox = Field(default_factory=Inbox)
    review: Review = Field(default_factory=Review)

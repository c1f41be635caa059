"""Rendering an edition: Jinja2 templates → MJML → HTML (mjml-python) → CSS inlined (premailer).

Templates in the project's `templates/` hold all markup; this module only prepares what they show
and runs the pipeline. Content is passed to templates as values, never as template source, so
Jinja syntax typed in an issue is shown literally. Nothing here touches the network: no web font
is declared, premailer may not download stylesheets, and cssutils' fetcher for `@import` refuses.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from html import escape as html_escape
from pathlib import Path
from typing import Any

import cssutils  # type: ignore[import-untyped]
import jinja2
import mjml
from premailer import Premailer  # type: ignore[import-untyped]

from composer.content import templates
from composer.content.carry import Plan, long_date
from composer.content.model import Contact, Item
from composer.content.project import Project
from composer.content.schedule import DiaryDate, diary, hours, live_deadline, next_date, upcoming, when_lines
from composer.content.settings import ReminderLayout, Settings
from composer.email.colours import DARK, readable_on
from composer.email.editions import EditionKey, Selection, edition_name, select, shared
from composer.email.markdown import TextLinks, first_sentence, heading, shorten, to_html, to_text, wrap
from composer.errors import ComposerError

HTML_TEMPLATE = "email.mjml.j2"
CSS_TEMPLATE = "email.css.j2"
TEXT_TEMPLATE = "email.txt.j2"
PREHEADER_LENGTH = 140

PLACEHOLDERS: dict[str, str] = {
    "greeting": "%%COMPOSER_GREETING%%",
    "unsubscribe_url": "%%COMPOSER_UNSUBSCRIBE_URL%%",
    "networks": "%%COMPOSER_NETWORKS%%",
    "token": "%%COMPOSER_TOKEN%%",
}

# Parts of an edition shown only to readers in a network (the footer's "stop receiving news of"
# links): the edition is shared by every set of networks with the same items, and each reader's
# message keeps the sections of their own networks (see messages.EncodedEdition.personalise).
SECTION_START = "%%COMPOSER_IF_NETWORK_{}%%"
SECTION_END = "%%COMPOSER_END_IF%%"
SECTION = re.compile(r"%%COMPOSER_IF_NETWORK_([a-z0-9-]+)%%(.*?)%%COMPOSER_END_IF%%", re.S)

SUBJECT_FIELDS = ("programme", "short_name", "number", "date")
_SUBJECT_FIELD = re.compile(r"\{(" + "|".join(SUBJECT_FIELDS) + r")\}")


@dataclass(frozen=True)
class Edition:
    """One finished edition; the placeholder tokens are left in for sending to fill per person.

    `serves`: every edition key whose readers get exactly this (the first is `key`, its name).
    """

    key: EditionKey
    name: str
    selection: Selection
    subject: str
    preheader: str
    html: str
    text: str
    serves: tuple[EditionKey, ...]


def archive_page_url(settings: Settings, number: int) -> str:
    """The web archive's page of an issue: where "view in browser" points."""
    return f"{str(settings.archive_url).rstrip('/')}/{number}/"


_page_url = archive_page_url  # Renderer's parameter of the same name would shadow it


def item_url(page_url: Callable[[int], str], number: int, item_id: str) -> str:
    """An item on the archive page of issue `number`: an absolute link that every client follows,
    where an in-message `#fragment` fails in Gmail for iOS and Yahoo's apps."""
    return f"{page_url(number)}#item-{item_id}"


def edition_url(page_url: Callable[[int], str], number: int, selection: Selection) -> str:
    """The archive's page of one edition, where its readers' "View in your browser" points: the
    full edition is the issue's page itself; the page of an edition shows what its readers got."""
    return page_url(number) if selection.key is None else f"{page_url(number)}{selection.page}"


def calendar_url(settings: Settings, number: int, item_id: str) -> str:
    """The .ics file of an item's event, published with the archive page of issue `number`."""
    return f"{archive_page_url(settings, number)}{item_id}.ics"


def keep_sections(text: str, networks: Collection[str]) -> str:
    """The text as a reader in `networks` sees it: their networks' sections kept, the others cut."""
    return SECTION.sub(lambda match: match[2] if match[1] in networks else "", text)


def fill_placeholders(text: str, values: Mapping[str, str], networks: Collection[str] = ()) -> str:
    """Replace tokens by values given by logical name; values go in as given (escape for HTML).

    The sections for a network are kept for a reader in `networks`, and left out otherwise.
    """
    text = keep_sections(text, networks)
    for name, value in values.items():
        text = text.replace(PLACEHOLDERS[name], value)
    return text


def reader_values(
    settings: Settings,
    *,
    unsubscribe_url: str,
    html: bool,
    name: str = "",
    first_name: str = "",
    networks: Iterable[str] = (),
    token: str = "",
) -> dict[str, str]:
    """Placeholder values for one reader, worded the same for sending, preview and archive.

    The greeting of settings (its fallback for a reader nobody knows); network names as "A, B and
    C", wrapped for the text part, where the template gives them lines of their own; escaped when
    they go into HTML as is.
    """
    values = {
        "greeting": settings.greeting.for_reader(name=name, first_name=first_name),
        "unsubscribe_url": unsubscribe_url,
        "networks": join_names(networks) if html else "\n".join(wrap(join_names(networks))),
        "token": token,
    }
    return {key: html_escape(value) for key, value in values.items()} if html else values


def join_names(names: Iterable[str]) -> str:
    """Names sorted and joined as "A, B and C"."""
    ordered = sorted(names)
    return ", ".join(ordered[:-1]) + " and " + ordered[-1] if len(ordered) > 1 else "".join(ordered)


def phone_text(phone: str) -> str:
    """A phone number that never wraps: its spaces made non-breaking."""
    return phone.replace(" ", "\u00a0")


def tel_url(phone: str) -> str:
    """The tel: link of a phone number as written ("07700 900123" → tel:07700900123)."""
    return "tel:" + re.sub(r"[^0-9+]", "", phone)


def reminder_when(item: Item, on: dt.date) -> str:
    """What a compact reminder says of when: the next session still to come (named by its label),
    or the live deadline."""
    day = next_date(item, on)
    if day is None:
        return ""
    sessions = upcoming(item.event, on)
    if sessions and max(sessions[0].date, on) == day:  # a session first (or the same day as the deadline)
        session = sessions[0]
        text = f"{day:%A} {long_date(day)}" + (f", {hours(session)}" if session.start else "")
        return f"{session.label} – {text}" if session.label else text
    return f"Deadline {day:%A} {long_date(day)}"


def subject_line(pattern: str, *, settings: Settings, plan: Plan) -> str:
    """Fill {programme} {short_name} {number} {date}; other braces stay for the checks to flag."""
    values = {
        "programme": settings.programme.name,
        "short_name": settings.programme.short_name,
        "number": str(plan.issue.number),
        "date": long_date(plan.issue.date),
    }
    return _SUBJECT_FIELD.sub(lambda match: values[match[1]], pattern)


def default_preheader(selection: Selection, *, limit: int = PREHEADER_LENGTH) -> str:
    """This edition's item titles, cut at a word before `limit`: what the inbox shows first."""
    titles = [item.title for item in selection.items] or [r.item.title for r in selection.reminders]
    return shorten("This week: " + "; ".join(titles), limit) if titles else ""


def cited_contacts(contacts: Mapping[str, Contact], selection: Selection) -> dict[str, Contact]:
    """The edition's Contact Details: contacts its items (and their sessions) cite, in order of first
    mention, then standing."""
    items: list[Item] = [*selection.items, *(r.item for r in selection.reminders)]
    cited = [
        contact_id
        for item in items
        for contact_id in [
            *item.contacts,
            *(c for session in (item.event.sessions if item.event else []) for c in session.contacts),
        ]
    ]
    cited += [contact.id for contact in contacts.values() if contact.standing]
    return {contact_id: contacts[contact_id] for contact_id in dict.fromkeys(cited)}


def diary_dates(settings: Settings, plan: Plan, selection: Selection) -> list[DiaryDate]:
    """ "Dates for your diary": the sessions still to come of the edition's reminders (empty when
    switched off). This week's text (its items, and the reminders it updates) is shown whole, each
    with its "When" line and calendar link: listing those sessions again would show the same
    event a third time."""
    if not settings.diary.enabled:
        return []
    entries = [(r.item, r.version_issue) for r in selection.reminders if not r.updated]
    return diary(entries, plan.issue.date, settings.diary.weeks)


class _TextHelper:
    """What the plain-text template needs from Python: Markdown, wrapping and link references."""

    def __init__(self) -> None:
        self.links = TextLinks()

    def markdown(self, source: str) -> str:
        return to_text(source, self.links)

    def ref(self, url: object) -> str:
        return self.links.ref(str(url))

    def notes(self) -> str:
        return self.links.notes()

    @staticmethod
    def wrap(text: str, prefix: str = "") -> str:
        return "\n".join(wrap(text, prefix=prefix))

    @staticmethod
    def heading(text: str, rule: str = "-") -> str:
        return "\n".join(heading(text, rule))


def _refuse_fetch(url: str) -> None:
    """cssutils' fetcher for `@import`: nothing is ever fetched (None means "not available")."""
    return None


cssutils.util._defaultFetcher = _refuse_fetch  # premailer parses with cssutils' default fetcher
cssutils.log.setLevel(logging.CRITICAL)  # it warns about every mso-* and -webkit-* property


def compile_mjml(source: str) -> str:
    """MJML to HTML with MRML; no web fonts, comments dropped (Outlook's conditionals stay)."""
    try:
        return mjml.mjml2html(source, disable_comments=True, fonts={})
    except ValueError as exc:
        raise ComposerError(f"templates/{HTML_TEMPLATE} does not give valid MJML: {exc}") from exc


_STYLE_TAG = "<style"
_PRE = re.compile(r"(<pre\b.*?</pre>)", re.S | re.I)
_NEWLINES = re.compile(r"\n\s*")
_BETWEEN_TAGS = re.compile(r">\n(?=<)")


def minify(html: str) -> str:
    """Drop indentation and the newlines left between tags; <pre> is kept as it is.

    MRML already drops whitespace-only text between tags in the body (so does our Markdown
    renderer's output, which has no soft newlines): what is left is in the head and in Outlook's
    conditional comments, where it never shows.
    """
    parts = _PRE.split(html) if "<pre" in html else [html]
    parts[::2] = [_BETWEEN_TAGS.sub(">", _NEWLINES.sub("\n", part)) for part in parts[::2]]
    return "".join(parts)


def inline_css(html: str, css: str) -> str:
    """Inline the template's CSS into the compiled HTML, then minify.

    MJML's own <style> blocks (resets, responsive columns) stay in the head untouched; inlining
    them would repeat the same declarations on every table cell.
    """
    marked = html.replace(_STYLE_TAG, f'{_STYLE_TAG} data-premailer="ignore"')
    inliner = Premailer(
        marked,
        css_text=[css],
        allow_network=False,
        disable_validation=True,
        disable_basic_attributes=["width", "height", "align", "valign", "bgcolor"],
        strip_important=False,
        cssutils_logging_level=logging.CRITICAL,
    )
    return "<!doctype html>" + minify(inliner.transform(pretty_print=False))


def _environment(root: Path) -> templates.Templates:
    """One Jinja environment per project and set of its own templates, compiled once a process.

    Compiling is slower than rendering an edition; Jinja still notices a template edited since
    (by its modification time), so the preview shows every save, and a template the project adds
    (which shadows a packaged one Jinja already compiled) makes a new environment.
    """
    folder = root / templates.TEMPLATES_DIR
    own = tuple(sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))) if folder.is_dir() else ()
    return _compiled(root, own)


@functools.lru_cache(maxsize=8)
def _compiled(root: Path, own: tuple[str, ...]) -> templates.Templates:
    """The environment of `_environment`; `own` takes part only as the cache's key."""
    env = templates.Templates(
        root,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("mjml.j2", "html.j2"), disabled_extensions=("txt.j2", "css.j2")
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["long_date"] = long_date
    env.filters["markdown"] = to_html
    env.filters["first_sentence"] = first_sentence
    env.filters["phone"] = phone_text
    env.filters["tel"] = tel_url
    return env


class Renderer:
    """Loads a project's templates once; renders any edition of any issue."""

    def __init__(
        self,
        project: Project,
        *,
        archive_page_url: Callable[[int], str] | None = None,
        layout: ReminderLayout | None = None,
        web: bool = False,
    ):
        """`layout` overrides the settings' reminders.layout: the archive shows every reminder whole;
        `web` renders a page of the archive, where images load (the hero is shown)."""
        self.project = project
        self.web = web
        self.settings = project.settings
        self.page_url = archive_page_url or functools.partial(_page_url, self.settings)
        self.layout = layout or self.settings.reminders.layout
        self.env = _environment(project.root)
        self._css: str | None = None

    def render_template(self, name: str, context: Mapping[str, Any]) -> str:
        """Render one of the project's templates; a broken or missing one is named with its line."""
        return self.env.render(name, context)

    def context(self, plan: Plan, key: EditionKey) -> dict[str, Any]:
        """Everything the templates see for one edition."""
        settings, issue = self.settings, plan.issue
        selection = select(plan, key)
        return {
            "settings": settings,
            **self.colours,
            "issue": issue,
            "edition": selection,
            "full": key is None,
            "items": selection.items,
            "reminders": selection.reminders,
            "tools": plan.tools,
            "tools_note": settings.tools.note if issue.tools_note is None else issue.tools_note,
            "contacts": cited_contacts(self.project.contacts, selection),
            "contacts_of": lambda item: [self.project.contacts[id_] for id_ in item.contacts],
            "network_names": lambda item: [self.project.networks[id_].name for id_ in item.networks],
            "intro": settings.intro if issue.intro is None else issue.intro,
            "subject": subject_line(issue.subject or settings.subject, settings=settings, plan=plan),
            "preheader": issue.preheader or default_preheader(selection),
            "placeholders": PLACEHOLDERS,
            "if_reader_in": SECTION_START.format,
            "end_if": SECTION_END,
            "networks": self.project.networks,
            "unsubscribe_mailto": settings.sending.unsubscribe_address(settings.sender.email),
            "view_url": edition_url(self.page_url, issue.number, selection),
            "layout": self.layout,
            "web": self.web,
            "item_url": functools.partial(item_url, self.page_url),
            "next_date": lambda item: reminder_when(item, issue.date),
            "calendar_url": lambda number, item_id: calendar_url(settings, number, item_id),
            "when": lambda item: when_lines(item.event, issue.date, self.contact_names) if item.event else [],
            "deadline_of": lambda item: live_deadline(item, issue.date),
            "diary": diary_dates(settings, plan, selection),
        }

    def mjml(self, context: Mapping[str, Any]) -> str:
        """The Jinja stage of the HTML: MJML source, ready for compile_mjml."""
        return self.render_template(HTML_TEMPLATE, context)

    def css(self) -> str:
        """The CSS to inline; it depends on the branding only, so it is rendered once."""
        if self._css is None:
            self._css = self.render_template(CSS_TEMPLATE, self.colours)
        return self._css

    @functools.cached_property
    def contact_names(self) -> dict[str, str]:
        """Contact id to name: a labelled session's "When" phrase names its own contacts."""
        return {contact_id: contact.name for contact_id, contact in self.project.contacts.items()}

    @functools.cached_property
    def colours(self) -> dict[str, Any]:
        """The branding, and the dark-mode palette with the branding colours made readable on it."""
        branding = self.settings.branding
        dark = {
            **DARK,
            "primary": readable_on(branding.primary_colour, DARK["box"]),
            "accent": readable_on(branding.accent_colour, DARK["box"]),
            "action": readable_on(branding.action_colour, DARK["box"]),
        }
        return {"branding": branding, "dark": dark}

    def text(self, context: Mapping[str, Any]) -> str:
        """The plain-text part, with runs of blank lines that the template's ifs leave reduced to one."""
        raw = self.render_template(TEXT_TEMPLATE, {**context, "t": _TextHelper()})
        lines = [line.rstrip() for line in raw.strip().split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"

    def edition(self, plan: Plan, key: EditionKey, serves: tuple[EditionKey, ...] = ()) -> Edition:
        """One edition (key None: the full edition) through the whole pipeline.

        `serves`: the keys that share it (see editions.shared); by default, `key` alone.
        """
        context = self.context(plan, key)
        html = inline_css(compile_mjml(self.mjml(context)), self.css())
        return Edition(
            key=key,
            name=edition_name(key),
            selection=context["edition"],
            subject=context["subject"],
            preheader=context["preheader"],
            html=html,
            text=self.text(context),
            serves=serves or (key,),
        )


def render_editions(
    project: Project, plan: Plan, keys: Iterable[EditionKey], *, renderer: Renderer | None = None
) -> list[Edition]:
    """The distinct editions among `keys`, each rendered once with one Renderer (a new one by default)."""
    renderer = renderer or Renderer(project)
    return [renderer.edition(plan, selection.key, served) for selection, served in shared(plan, keys)]

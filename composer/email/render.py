"""Rendering an edition: Jinja2 templates → MJML → HTML (mjml-python) → CSS inlined (premailer).

Templates in the project's `templates/` hold all markup; this module only prepares what they show
and runs the pipeline. Content is passed to templates as values, never as template source, so
Jinja syntax typed in an issue is shown literally. Nothing here touches the network: no web font
is declared, premailer may not download stylesheets, and cssutils' fetcher for `@import` refuses.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape as html_escape
from pathlib import Path
from typing import Any, overload

import jinja2

from composer.content import templates
from composer.content.carry import Plan, long_date
from composer.content.model import Contact, Item
from composer.content.project import Project
from composer.content.schedule import DiaryDate, diary, hours, live_deadline, next_date, upcoming, when_lines
from composer.content.settings import ReminderLayout, Settings
from composer.email.colours import DARK, readable_on
from composer.email.editions import EditionKey, Selection, edition_name, select, shared
from composer.email.inliner import compile_mjml, inline_css
from composer.email.markdown import TextLinks, first_sentence, heading, shorten, to_html, to_text, wrap
from composer.email.sections import (
    EVERYONE,
    SECTION_END,
    SECTION_START,
    Condition,
    Section,
    keep_sections,
    section,
)

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

# Values of one edition (not of one reader) that the sectioned document leaves to each message.
EDITION_PLACEHOLDERS: dict[str, str] = {
    "preheader": "%%COMPOSER_PREHEADER%%",
    "view_url": "%%COMPOSER_VIEW_URL%%",
}

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


def archive_base(settings: Settings) -> str:
    """The web archive's address, ending in one slash: every page of it starts so."""
    return str(settings.archive_url).rstrip("/") + "/"


def archive_page_url(settings: Settings, number: int) -> str:
    """The web archive's page of an issue: where "view in browser" points."""
    return f"{archive_base(settings)}{number}/"


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


def _cites(item: Item) -> list[str]:
    """The contacts an item and its sessions cite, each once, in order."""
    sessions = item.event.sessions if item.event else []
    return list(dict.fromkeys([*item.contacts, *(c for session in sessions for c in session.contacts)]))


def cited_contacts(contacts: Mapping[str, Contact], selection: Selection) -> dict[str, Contact]:
    """The edition's Contact Details: contacts its items (and their sessions) cite, in order of first
    mention, then standing."""
    items: list[Item] = [*selection.items, *(r.item for r in selection.reminders)]
    cited = [contact_id for item in items for contact_id in _cites(item)]
    cited += [contact.id for contact in contacts.values() if contact.standing]
    return {contact_id: contacts[contact_id] for contact_id in dict.fromkeys(cited)}


def _networks(items: Iterable[Item]) -> frozenset[str]:
    return frozenset(network for item in items for network in item.networks)


class Shown:
    """Who sees what, as the templates ask it of a list of items (for a heading, a line, a block).

    In an edition rendered for one set of networks, what it holds is shown to all its readers
    (`EVERYONE`) and what it lacks to none (None). In the document that serves every edition but
    the full one (`sectioned`), each part is a section kept by the readers it is shown to.
    """

    def __init__(self, *, sectioned: bool):
        self.sectioned = sectioned

    def of(self, items: Iterable[Item]) -> Section | None:
        """Around what readers see when they get any of `items` (None: nobody does)."""
        return self._readers(list(items), getting=True)

    def without(self, items: Iterable[Item]) -> Section | None:
        """Around what readers see when they get none of `items` (None: nobody does)."""
        return self._readers(list(items), getting=False)

    def _readers(self, items: list[Item], *, getting: bool) -> Section | None:
        if items and self.sectioned and not any(item.for_everyone for item in items):
            networks = _networks(items)
            return section(Condition(networks) if getting else Condition(None, networks))
        return EVERYONE if bool(items) == getting else None  # every reader gets some of them, or none does

    def member(self, key: EditionKey) -> Section | None:
        """Around the footer's words for a member of some networks (None: not one)."""
        if self.sectioned and key:
            return section(Condition(frozenset(key)))
        return EVERYONE if key else None

    def contact(self, key: EditionKey) -> Section | None:
        """Around the footer's words for a reader in no network (None: not one)."""
        if self.sectioned:
            return section(Condition(None, frozenset(key or ())))
        return None if key else EVERYONE

    def contacts(
        self, contacts: Mapping[str, Contact], selection: Selection
    ) -> list[tuple[Contact, Section]]:
        """Contact Details, each contact with who sees it there.

        A reader sees a contact where the first of their items citing it is (then the standing
        ones cited by none): in the sectioned document a contact may be listed at each item citing
        it, kept by the readers for whom that item is the first to cite it.
        """
        if not self.sectioned:
            return [(contact, EVERYONE) for contact in cited_contacts(contacts, selection).values()]
        slots: list[tuple[Contact, Section]] = []
        earlier: dict[str, list[Item]] = {}
        for item in [*selection.items, *(r.item for r in selection.reminders)]:
            for contact_id in _cites(item):
                before = earlier.setdefault(contact_id, [])
                seen = _networks(before)
                repeated = item.networks and set(item.networks) <= seen  # its readers met the contact before
                if not repeated and not any(other.for_everyone for other in before):
                    shown = None if item.for_everyone else frozenset(item.networks)
                    slots.append((contacts[contact_id], section(Condition(shown, seen))))
                before.append(item)
        for contact in contacts.values():
            before = earlier.get(contact.id, [])
            if contact.standing and not any(other.for_everyone for other in before):
                slots.append((contact, section(Condition(None, _networks(before)))))
        return slots


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

    def context(self, plan: Plan, key: EditionKey, *, sectioned: bool = False) -> dict[str, Any]:
        """Everything the templates see for one edition (`sectioned`: for the document that serves
        every edition but the full one, its `key` naming every network)."""
        settings, issue = self.settings, plan.issue
        selection = select(plan, key)
        shown = Shown(sectioned=sectioned)
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
            "placeholders": PLACEHOLDERS,
            "if_reader_in": SECTION_START.format,
            "end_if": SECTION_END,
            "networks": self.project.networks,
            "unsubscribe_mailto": settings.sending.unsubscribe_address(settings.sender.email),
            "layout": self.layout,
            "web": self.web,
            "item_url": functools.partial(item_url, self.page_url),
            "next_date": lambda item: reminder_when(item, issue.date),
            "calendar_url": lambda number, item_id: calendar_url(settings, number, item_id),
            "when": lambda item: when_lines(item.event, issue.date, self.contact_names) if item.event else [],
            "deadline_of": lambda item: live_deadline(item, issue.date),
            "diary": diary_dates(settings, plan, selection),
            "readers": shown,
            "contact_slots": shown.contacts(self.project.contacts, selection),
            "as_member": shown.member(key),
            "as_contact": shown.contact(key),
            **(EDITION_PLACEHOLDERS if sectioned else edition_values(self.page_url, plan, selection)),
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
        return self._finished(context, key, inline_css(compile_mjml(self.mjml(context)), self.css()), serves)

    def _finished(
        self, context: Mapping[str, Any], key: EditionKey, html: str, serves: tuple[EditionKey, ...]
    ) -> Edition:
        """The edition of `context` with its HTML, and its plain text rendered."""
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

    def sections(self, plan: Plan) -> Sectioned | None:
        """Every edition but the full one in one document, through the whole pipeline once: each
        part that not every reader gets in a section (see `Shown`), the values of each edition
        left as placeholders (`EDITION_PLACEHOLDERS`).

        None when the templates do not write those sections (a programme's own, written before
        them): what a reader in no network, and one in the first network with news, would be cut
        is compared with their editions rendered alone, and each edition is then rendered alone.
        """
        shown = [*plan.items, *(reminder.item for reminder in plan.reminders)]
        everyone = frozenset(self.project.networks) | _networks(shown)
        context = self.context(plan, everyone, sectioned=True)
        sections = Sectioned(plan, inline_css(compile_mjml(self.mjml(context)), self.css()))
        samples = [frozenset(), *(frozenset(item.networks[:1]) for item in shown if item.networks)][:2]
        for key in samples:
            alone = keep_sections(self.edition(plan, key).html, key)
            if normal_whitespace(keep_sections(self.cut(sections, key)[1], key)) != normal_whitespace(alone):
                return None
        return sections

    def from_sections(
        self, sections: Sectioned, key: frozenset[str], serves: tuple[EditionKey, ...] = ()
    ) -> Edition:
        """The edition for `key` cut from the sectioned document (its plain text rendered alone:
        its link references are numbered in the order its readers meet them).

        The network sections of every set of networks it serves are kept, as `edition` keeps them.
        """
        context, html = self.cut(sections, key, serves)
        return self._finished(context, key, html, serves)

    def cut(
        self, sections: Sectioned, key: frozenset[str], serves: tuple[EditionKey, ...] = ()
    ) -> tuple[dict[str, Any], str]:
        """The context and HTML of the edition for `key` (see from_sections), without its text."""
        context = self.context(sections.plan, key)
        networks = frozenset(n for k in serves or (key,) for n in k or ())
        values = {name: context[name] for name in EDITION_PLACEHOLDERS}
        return context, sections.html_for(networks, values)


def normal_whitespace(html: str) -> str:
    """HTML with no whitespace between tags and any other run of it as one space: how an edition
    cut from sections is compared with the same edition rendered alone (their line breaks differ)."""
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", html)).strip()


def edition_values(page_url: Callable[[int], str], plan: Plan, selection: Selection) -> dict[str, str]:
    """What differs between editions besides their sections: the preheader and the archive page."""
    return {
        "preheader": plan.issue.preheader or default_preheader(selection),
        "view_url": edition_url(page_url, plan.issue.number, selection),
    }


def edition_value_html(name: str, value: str) -> str:
    """An edition's value escaped as the CSS inliner writes it: the preheader is text, where quotes
    stay as they are; the archive page's URL is an attribute's value."""
    return html_escape(value, quote=name != "preheader")


@dataclass(frozen=True)
class Sectioned:
    """The HTML that serves every edition of an issue but the full one (see Renderer.sections)."""

    plan: Plan
    html: str

    def html_for(self, networks: Collection[str], values: Mapping[str, str]) -> str:
        """The HTML of the edition read by members of `networks`, with that edition's `values`."""
        html = keep_sections(self.html, networks)
        for name, value in values.items():
            html = html.replace(EDITION_PLACEHOLDERS[name], edition_value_html(name, value))
        return html


class Editions(Sequence[Edition]):
    """The distinct editions among some keys, each made when first asked for: the full one
    rendered alone, the others cut from one sectioned document (rendered once, when first needed).

    `composer check` looks at the HTML of most of them only (`cut`): their plain text, rendered
    for each, is made for those who read it (`build`, the preview).
    """

    def __init__(self, renderer: Renderer, plan: Plan, keys: Iterable[EditionKey]):
        self.renderer, self.plan = renderer, plan
        self.found = shared(plan, keys)
        self._made: dict[int, Edition] = {}
        self._sections: tuple[Sectioned | None] | None = None  # (None,): the templates have none

    def __len__(self) -> int:
        return len(self.found)

    @overload
    def __getitem__(self, index: int) -> Edition: ...

    @overload
    def __getitem__(self, index: slice) -> list[Edition]: ...

    def __getitem__(self, index: int | slice) -> Edition | list[Edition]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        index = range(len(self))[index]
        if index not in self._made:
            selection, served = self.found[index]
            sections = None if selection.key is None else self.sections
            self._made[index] = (
                self.renderer.edition(self.plan, selection.key, served)
                if selection.key is None or sections is None
                else self.renderer.from_sections(sections, selection.key, served)
            )
        return self._made[index]

    @property
    def sections(self) -> Sectioned | None:
        """The document every edition but the full one is cut from (None: each is rendered alone)."""
        if self._sections is None:
            self._sections = (self.renderer.sections(self.plan),)
        return self._sections[0]

    def name(self, index: int) -> str:
        return edition_name(self.found[index][0].key)

    def cut(self, index: int) -> tuple[str, str] | None:
        """The HTML and preheader of an edition cut from sections, without rendering its plain
        text (None for the full edition)."""
        selection, served = self.found[index]
        if selection.key is None:
            return None
        sections = self.sections
        if index in self._made or sections is None:
            return self[index].html, self[index].preheader
        context, html = self.renderer.cut(sections, selection.key, served)
        return html, context["preheader"]

    def find(self, identity: Hashable) -> Edition | None:
        """The edition with this identity (`Selection.identity`), if it is among them."""
        index = next(
            (i for i, (selection, _) in enumerate(self.found) if selection.identity == identity), None
        )
        return None if index is None else self[index]


def render_editions(
    project: Project, plan: Plan, keys: Iterable[EditionKey], *, renderer: Renderer | None = None
) -> Editions:
    """The distinct editions among `keys`, each made once with one Renderer (a new one by default)."""
    return Editions(renderer or Renderer(project), plan, keys)

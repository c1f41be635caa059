"""Rendering an edition: Jinja2 templates → MJML → HTML (mjml-python) → CSS inlined (premailer).

Templates in the project's `templates/` hold all markup; this module runs the pipeline, with what
they are given worked out in templatecontext and their environment in environment. Content is
passed to templates as values, never as template source, so Jinja syntax typed in an issue is
shown literally. Nothing here touches the network: no web font is declared, premailer may not
download stylesheets, and cssutils' fetcher for `@import` refuses.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, overload

from composer.content import templates
from composer.content.carry import Plan
from composer.content.project import Project
from composer.content.schedule import live_deadline, when_lines
from composer.content.settings import ReminderLayout
from composer.email.colours import DARK, readable_on
from composer.email.editions import EditionKey, EditionView, Selection, edition_name, select, shared
from composer.email.environment import TextHelper, environment
from composer.email.inliner import compile_mjml, inline_css
from composer.email.placeholders import EDITION_PLACEHOLDERS, PLACEHOLDERS, edition_value_html
from composer.email.sections import SECTION_END, SECTION_START, keep_sections
from composer.email.templatecontext import (
    Shown,
    cited_contacts,
    diary_dates,
    edition_values,
    networks_of,
    reminder_when,
    subject_line,
)
from composer.email.textsections import READER_SECTIONS, SectionedLinks, SectionedText, tidy
from composer.email.urls import archive_page_url, calendar_url, item_url

_page_url = archive_page_url  # Renderer's parameter of the same name would shadow it

HTML_TEMPLATE = "email.mjml.j2"
CSS_TEMPLATE = "email.css.j2"
TEXT_TEMPLATE = "email.txt.j2"


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


class Renderer:
    """Loads a project's templates once; renders any edition of any issue."""

    def __init__(
        self,
        project: Project,
        *,
        archive_page_url: Callable[[int], str] | None = None,
        layout: ReminderLayout | None = None,
        web: bool = False,
        env: templates.Templates | None = None,
    ):
        """`layout` overrides the settings' reminders.layout: the archive shows every reminder whole;
        `web` renders a page of the archive, where images load (the hero is shown); `env`: the
        project's compiled templates when the caller keeps them (a new environment by default)."""
        self.project = project
        self.web = web
        self.settings = project.settings
        self.page_url = archive_page_url or functools.partial(_page_url, self.settings)
        self.layout = layout or self.settings.reminders.layout
        self.env = env or environment(project.root)
        self._css: str | None = None

    def render_template(self, name: str, context: Mapping[str, Any]) -> str:
        """Render one of the project's templates; a broken or missing one is named with its line."""
        return self.env.render(name, context)

    def context(self, plan: Plan, key: EditionKey, *, sectioned: bool = False) -> dict[str, Any]:
        """Everything the templates see for one edition (`sectioned`: for the document that serves
        every edition but the full one, its `key` naming every network)."""
        shown = Shown(sectioned=frozenset(key or ()) if sectioned else None)
        return self._context(plan, select(plan, key).view, shown)

    def _context(self, plan: Plan, edition: EditionView, shown: Shown) -> dict[str, Any]:
        """The templates' context, made from what every reader sharing the edition gets alike and
        never from its key, which names only the first of the sets of networks sharing it: what a
        template prints is the same for every reader of the edition, whatever its author wrote.
        Each reader's own networks reach their message as placeholders and sections alone."""
        settings, issue = self.settings, plan.issue
        named = networks_of(edition.shown)  # the networks its items name: the same for each of its readers
        return {
            "settings": settings,
            **self.colours,
            "issue": issue,
            "edition": edition,
            "full": edition.full,
            "items": edition.items,
            "reminders": edition.reminders,
            "tools": plan.tools,
            "tools_note": settings.tools.note if issue.tools_note is None else issue.tools_note,
            "contacts": cited_contacts(self.project.contacts, edition),
            "contacts_of": lambda item: [self.project.contacts[id_] for id_ in item.contacts],
            "network_names": lambda item: [self.project.networks[id_].name for id_ in item.networks],
            "intro": settings.intro if issue.intro is None else issue.intro,
            "subject": subject_line(issue.subject or settings.subject, settings=settings, plan=plan),
            "placeholders": PLACEHOLDERS,
            "if_reader_in": SECTION_START.format,
            "end_if": SECTION_END,
            "networks": {id_: n for id_, n in self.project.networks.items() if id_ in named},
            "unsubscribe_mailto": settings.sending.unsubscribe_address(settings.sender.email),
            "layout": self.layout,
            "web": self.web,
            "item_url": functools.partial(item_url, self.page_url),
            "next_date": lambda item: reminder_when(item, issue.date),
            "calendar_url": functools.partial(calendar_url, self.page_url),
            "when": lambda item: when_lines(item.event, issue.date, self.contact_names) if item.event else [],
            "deadline_of": lambda item: live_deadline(item, issue.date),
            "diary": diary_dates(settings, plan, edition),
            "readers": shown,
            "contact_slots": shown.contacts(self.project.contacts, edition),
            "as_member": shown.member(edition),
            "as_contact": shown.contact(edition),
            **(EDITION_PLACEHOLDERS if shown.sectioned else edition_values(self.page_url, plan, edition)),
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
        return tidy(self.render_template(TEXT_TEMPLATE, {**context, "t": TextHelper()}))

    def sectioned_text(self, context: Mapping[str, Any]) -> SectionedText:
        """The plain text of the sectioned document, its link references marked for each edition
        to number those it keeps (see textsections)."""
        links = SectionedLinks()
        raw = self.render_template(TEXT_TEMPLATE, {**context, **READER_SECTIONS, "t": TextHelper(links)})
        return SectionedText(raw, tuple(links.urls))

    def edition(self, plan: Plan, key: EditionKey, serves: tuple[EditionKey, ...] = ()) -> Edition:
        """One edition (key None: the full edition) through the whole pipeline.

        `serves`: the keys that share it (see editions.shared); by default, `key` alone.
        """
        context = self.context(plan, key)
        html = inline_css(compile_mjml(self.mjml(context)), self.css())
        return self._finished(plan, context, key, (html, self.text(context)), serves)

    def _finished(
        self,
        plan: Plan,
        context: Mapping[str, Any],
        key: EditionKey,
        parts: tuple[str, str],
        serves: tuple[EditionKey, ...],
    ) -> Edition:
        """The edition of `context` with its HTML and plain text."""
        html, text = parts
        return Edition(
            key=key,
            name=edition_name(key),
            selection=select(plan, key),
            subject=context["subject"],
            preheader=context["preheader"],
            html=html,
            text=text,
            serves=serves or (key,),
        )

    def sections(self, plan: Plan) -> Sectioned | None:
        """Every edition but the full one in one document, through the whole pipeline once: each
        part that not every reader gets in a section (see `Shown`), the values of each edition
        left as placeholders (`EDITION_PLACEHOLDERS`).

        None when the templates do not write those sections (a programme's own, written before
        them): what a reader in no network, and one in the first network with news, would be cut
        is compared with their editions rendered alone, and each edition is then rendered alone.
        The plain text is compared apart: without its sections (`text` None), each edition's is
        rendered alone.
        """
        shown = plan.shown
        everyone = frozenset(self.project.networks) | networks_of(shown)
        context = self.context(plan, everyone, sectioned=True)
        html = inline_css(compile_mjml(self.mjml(context)), self.css())
        sections = Sectioned(plan, html, self.sectioned_text(context))
        samples = [frozenset(), *(frozenset(item.networks[:1]) for item in shown if item.networks)][:2]
        for key in samples:
            alone = self.edition(plan, key)
            _, html, text = self.cut(sections, key)
            if not _same_for(key, html, alone.html):
                return None
            if text is not None and not _same_for(key, text, alone.text):
                sections = replace(sections, text=None)
        return sections

    def from_sections(
        self, sections: Sectioned, key: frozenset[str], serves: tuple[EditionKey, ...] = ()
    ) -> Edition:
        """The edition for `key` cut from the sectioned document (its plain text rendered alone when
        the templates write no sections in it).

        The network sections of every set of networks it serves are kept, as `edition` keeps them.
        """
        context, html, text = self.cut(sections, key, serves)
        text = self.text(context) if text is None else text
        return self._finished(sections.plan, context, key, (html, text), serves)

    def cut(
        self,
        sections: Sectioned,
        key: frozenset[str],
        serves: tuple[EditionKey, ...] = (),
        *,
        text: bool = True,
    ) -> tuple[dict[str, Any], str, str | None]:
        """The context, HTML and plain text (None: not sectioned, or not asked for) of the edition
        for `key` (see from_sections); `check` measures the HTML of most editions only."""
        context = self.context(sections.plan, key)
        networks = frozenset(n for k in serves or (key,) for n in k or ())
        values = {name: context[name] for name in EDITION_PLACEHOLDERS}
        cut_text = sections.text.text_for(networks, values) if text and sections.text is not None else None
        return context, sections.html_for(networks, values), cut_text


def _same_for(key: frozenset[str], cut: str, alone: str) -> bool:
    """Whether a reader in `key` gets the same from an edition cut from sections as from the same
    edition rendered alone, but for whitespace."""
    return normal_whitespace(keep_sections(cut, key)) == normal_whitespace(keep_sections(alone, key))


def normal_whitespace(html: str) -> str:
    """HTML with no whitespace between tags and any other run of it as one space: how an edition
    cut from sections is compared with the same edition rendered alone (their line breaks differ)."""
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", html)).strip()


@dataclass(frozen=True)
class Sectioned:
    """The HTML and plain text that serve every edition of an issue but the full one (see
    Renderer.sections; `text` None: each edition's is rendered alone)."""

    plan: Plan
    html: str
    text: SectionedText | None

    def html_for(self, networks: Collection[str], values: Mapping[str, str]) -> str:
        """The HTML of the edition read by members of `networks`, with that edition's `values`."""
        html = keep_sections(self.html, networks)
        for name, value in values.items():
            html = html.replace(EDITION_PLACEHOLDERS[name], edition_value_html(name, value))
        return html


class Editions(Sequence[Edition]):
    """The distinct editions among some keys, each made when first asked for: the full one
    rendered alone, the others cut from one sectioned document (rendered once, when first needed).

    `composer check` looks at the HTML of most of them only (`cut`); the whole edition is made for
    those who read it all (`build`, the preview, `send`).
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
        context, html, _ = self.renderer.cut(sections, selection.key, served, text=False)
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

"""The pre-send checks of finished editions: what would clip, break or look wrong in mail clients.

Gmail clips a message whose HTML passes about 102 KB and drops a <style> block over 16 KB;
images need alt text for readers who block them; links must be absolute to work in a mail client.
Problems point at the line that holds the offending text: an item of the issue, a reminder or
tool in the earlier issue that wrote it, or a setting in composer.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from html.parser import HTMLParser

from composer.content.carry import Plan
from composer.content.layout import SETTINGS_FILE
from composer.content.project import Project, SourcedIssue
from composer.content.settings import Branding, Settings
from composer.content.yamlio import Loc, Located
from composer.email.colours import CONTRAST_MIN, WHITE, contrast
from composer.email.editions import EditionKey
from composer.email.render import (
    PLACEHOLDERS,
    SUBJECT_FIELDS,
    Edition,
    Editions,
    fill_placeholders,
    join_names,
    reader_values,
)
from composer.email.sections import SECTION_END, keep_sections, sections_balanced
from composer.email.templatechecks import check_template_css, template_line
from composer.errors import Problem, Severity
from composer.lists.recipients import Person

KB = 1024
HTML_WARNING = 80 * KB
HTML_LIMIT = 102 * KB
STYLE_LIMIT = 16 * KB
PREHEADER_MAX = 150
SUBJECT_MAX = 70  # a phone's inbox shows about this many characters of a subject
TEXT_WIDTH = 78
SAMPLE_TOKEN = "x" * 43  # the length of a signed unsubscribe token
# Colours that templates/email.mjml.j2 and email.css.j2 fix rather than take from the branding
FOOTER_TEXT = "#1f2326"  # the footer's text and links, on the body's background_colour
ACTION_BACKGROUND = "#f6f7f9"  # the Action Required box

_TOKEN = re.compile(r"%%COMPOSER_[A-Z_]*%%")
_TEMPLATE_SYNTAX = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_SUBJECT_FIELD = re.compile(r"\{[^{}]*\}")
_SAFE_LINK = re.compile(r"^(https://|mailto:|tel:)", re.I)
_HIDDEN = re.compile(r"display\s*:\s*none", re.I)
_COLOUR = re.compile(r"(?<![-\w])color\s*:", re.I)
_URL_LINE = re.compile(r"^\S*(https?://|mailto:)\S+$")  # a link alone on its line may run long


class Scan(HTMLParser):
    """Collects the images, links and <style> text of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.style_bytes = 0
        self.hidden_coloured = 0  # hidden elements with a text colour: a hidden preheader in white
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values)
        elif tag == "a" and values.get("href") is not None:
            self.links.append(values["href"] or "")
        style = values.get("style") or ""
        if _HIDDEN.search(style) and _COLOUR.search(style):
            self.hidden_coloured += 1
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style_bytes += len(data.encode())


def check_editions(
    editions: Sequence[Edition],
    *,
    project: Project,
    sourced: SourcedIssue,
    plan: Plan,
    reader: Person | None = None,
) -> list[Problem]:
    """Every problem of every edition, and of the templates' CSS, each reported once.

    A problem traced to a line (an item's link, a tool added weeks ago, a setting, a template) is
    the same in every edition that shows it; one that no line explains names the editions it was
    found in. `reader`: the member with the longest greeting (see `longest_greeting`), whose
    values are spliced into the text to measure it.
    """
    check = edition_checker(project=project, sourced=sourced, plan=plan, reader=reader)
    found: dict[Problem, list[str]] = {problem: [] for problem in check_template_css(project.root)}

    def add(problems: Iterable[Problem], names: Iterable[str]) -> None:
        for problem in problems:
            listed = found.setdefault(problem, [])
            listed += [name for name in names if name not in listed]

    if not isinstance(editions, Editions):
        for edition in editions:
            add(check(edition), [edition.name])
    else:  # one document serves every edition but the full one: read once, each one's HTML measured
        sources, file = text_sources(project, sourced, plan), project.rel(sourced.path)
        full = [i for i, (selection, _) in enumerate(editions.found) if selection.key is None]
        others = [i for i in range(len(editions)) if i not in full]
        # read whole: the full edition, and of the others the one with the longest network names
        # (its text's personalised lines are the longest); the rest differ in their size only
        longest = max(others, key=lambda i: _names_length(project, editions.found[i][0].key), default=None)
        for group, index in ((full, full[0] if full else None), (others, longest)):
            if index is not None:
                edition = editions[index]
                own = list(_check_cut(edition.html, edition.preheader, edition.subject, sources, file))
                add([p for p in check(edition) if p not in own], [editions.name(i) for i in group])
                add(own, [edition.name])
        for index in others:
            if index != longest:
                html, preheader = editions.cut(index) or ("", "")
                add(_check_cut(html, preheader, edition.subject, sources, file), [editions.name(index)])
    return [
        problem if problem.field else replace(problem, field=_editions(names, len(editions)))
        for problem, names in found.items()
    ]


def _names_length(project: Project, key: EditionKey) -> int:
    """How long the names of an edition's networks are, joined as its readers' footer has them."""
    return len(join_names(project.networks[n].name for n in key or () if n in project.networks))


def edition_checker(
    *, project: Project, sourced: SourcedIssue, plan: Plan, reader: Person | None = None, scan: bool = True
) -> Callable[[Edition], list[Problem]]:
    """The checks of one edition, with where its texts come from worked out once for all of them
    (a send checks each edition as it makes it ready).

    `scan`: also read its HTML for images, links and styles; an edition cut from the sectioned
    document holds nothing there that the document (and the full edition) did not show.
    """
    sources = text_sources(project, sourced, plan)
    file = project.rel(sourced.path)
    return lambda edition: [
        *_check(edition, sources, file, project, scan=scan),
        *_check_spliced(edition, project, file, reader),
    ]


def _editions(names: list[str], total: int) -> str:
    if len(names) == total > 1:
        return "every edition"
    if len(names) <= 3:
        return ("edition " if len(names) == 1 else "editions ") + ", ".join(names)
    return f"{len(names)} editions ({', '.join(names[:2])}, …)"


@dataclass(frozen=True)
class TextSource:
    """A text of the project's files that the emails show, and where it is written."""

    text: str
    file: str
    line: int | None
    field: str
    base: bool = False  # a base URL: the links to the archive's pages start with it


def text_sources(project: Project, sourced: SourcedIssue, plan: Plan) -> list[TextSource]:
    """Where the editions' texts come from: the issue first, then the earlier issues that wrote
    its reminders and tools, then composer.yaml."""
    found: list[TextSource] = []

    def add(owner: SourcedIssue | None, loc: Loc, field: str, text: object, base: bool = False) -> None:
        file, located = (
            (project.rel(owner.path), owner.located) if owner else (SETTINGS_FILE, project.settings_lines)
        )
        found.append(TextSource(str(text), file, located.line_of(loc), field, base))

    def items(owner: SourcedIssue, ids: set[str] | None = None) -> None:
        for index, item in enumerate(owner.issue.items):
            if ids is None or item.id in ids:
                for name in ("title", "body", "action"):
                    add(owner, ("items", index, name), f"items[{item.id}].{name}", getattr(item, name))

    issue, settings = sourced.issue, project.settings
    items(sourced)
    for name in ("intro", "subject", "preheader", "tools_note"):
        if getattr(issue, name):
            add(sourced, (name,), name, getattr(issue, name))
    by_number = {s.number: s for s in project.issues}
    for reminder in plan.reminders:
        if owner := by_number.get(reminder.version_issue):
            items(owner, {reminder.item.id})
    for entry in plan.tools:
        if owner := by_number.get(entry.issue):
            for index, tool in enumerate(owner.issue.tools):
                if tool.key == entry.tool.key:
                    add(owner, ("tools", index, "title"), f"tools[{index}].title", tool.title)
                    add(owner, ("tools", index, "url"), f"tools[{index}].url", tool.key)
    if issue.intro is None:
        add(None, ("intro",), "intro", settings.intro)
    if issue.tools_note is None and settings.tools.note:
        add(None, ("tools", "note"), "tools.note", settings.tools.note)
    for index, link in enumerate(settings.navigation):
        add(None, ("navigation", index, "url"), f"navigation[{index}].url", link.url)
    if not issue.subject:
        add(None, ("subject",), "subject", settings.subject)
    if settings.plan:
        add(None, ("plan", "title"), "plan.title", settings.plan.title)
        add(None, ("plan", "url"), "plan.url", settings.plan.url)
    for name in ("logo", "banner", "hero"):
        if image := getattr(settings.branding, name):
            add(None, ("branding", name, "url"), f"branding.{name}.url", image.url)
    add(None, ("archive_url",), "archive_url", settings.archive_url, base=True)
    return found


def problem_at(
    source: TextSource | None, file: str, message: str, severity: Severity = "error", field: str = ""
) -> Problem:
    """A problem at its source's line, or in the issue's file for the editions it is found in."""
    if source is None:
        return Problem(file, message, None, field, severity)
    return Problem(source.file, message, source.line, source.field, severity)


def locate(sources: list[TextSource], needle: str) -> TextSource | None:
    """The first source whose text holds needle (or, for a base URL, begins it)."""
    if not needle:
        return None
    return next((s for s in sources if needle in s.text or (s.base and needle.startswith(s.text))), None)


def _named(sources: list[TextSource], field: str) -> TextSource | None:
    """The source of a field that the emails show whole, such as the subject."""
    return next((s for s in sources if s.field == field), None)


def _in_template(project: Project, file: str, needle: str, message: str, suffix: str = ".mjml.j2") -> Problem:
    """A warning at the template line that holds needle, else in the issue for its editions."""
    template, line = template_line(project.root, needle, suffix) or (file, None)
    return Problem(template, message, line, severity="warning")


def _check(
    edition: Edition, sources: list[TextSource], file: str, project: Project, *, scan: bool
) -> Iterator[Problem]:
    yield from _check_cut(edition.html, edition.preheader, edition.subject, sources, file)
    if scan:
        yield from _scanned(edition, sources, file, project)
    yield from _check_parts(edition, sources, file)


def _check_cut(
    html: str, preheader: str, subject: str, sources: list[TextSource], file: str
) -> Iterator[Problem]:
    """What differs between editions cut from one document: the size, the preheader (and the
    subject, the same in all)."""
    size = len(html.encode())
    if size >= HTML_LIMIT:
        yield Problem(
            file,
            f"the HTML is {size / KB:.1f} KB: Gmail clips messages from 102 KB; "
            "shorten the items or move some to a later issue",
        )
    elif size > HTML_WARNING:
        yield Problem(
            file,
            f"the HTML is {size / KB:.1f} KB, close to the 102 KB at which Gmail clips messages",
            severity="warning",
        )
    yield from _check_lines(preheader, subject, sources, file)


def _scanned(edition: Edition, sources: list[TextSource], file: str, project: Project) -> Iterator[Problem]:
    """What reading the HTML finds: a <style> too large, images and links mail clients fail on."""
    scan = Scan()
    scan.feed(edition.html)
    scan.close()
    if scan.style_bytes > STYLE_LIMIT:
        yield Problem(
            file,
            f"the <style> blocks hold {scan.style_bytes / KB:.1f} KB: Gmail drops one over "
            "16 KB; move CSS to templates/email.css.j2 so that it is inlined",
        )
    for image in scan.images:
        src = image.get("src") or ""
        source = locate(sources, src)
        if not (image.get("alt") or "").strip():
            yield problem_at(
                source, file, f"image {src} has no alt text: describe it, e.g. ![what it shows]({src})"
            )
        if not src.lower().startswith("https://"):
            yield problem_at(
                source,
                file,
                f"image {src or '(empty)'} is not an absolute https:// URL: mail clients will not show it",
            )
    if scan.hidden_coloured:
        yield _in_template(
            project,
            file,
            "<mj-preview" if template_line(project.root, "<mj-preview") else "display:none",
            "the hidden preheader has a text colour: SpamAssassin scores hidden coloured text "
            "(HTML_FONT_LOW_CONTRAST); write it as a hidden <div> with no colour, as the example does",
        )
    tokens = set(PLACEHOLDERS.values())
    for href in scan.links:
        if href in tokens or _SAFE_LINK.match(href):
            continue
        source = locate(sources, href)
        if href.startswith("#"):
            message = (
                f"link {href} jumps within the email: Gmail for iOS and Yahoo's apps do not follow "
                "it; link to the item's archive page or to a mailto: address"
            )
            yield (
                problem_at(source, file, message, "warning")
                if source
                else _in_template(project, file, 'href="#', message)
            )
        elif href.lower().startswith("http://"):
            shown = f"{source.text}…" if source and source.base else href  # one warning for them all
            yield problem_at(
                source, file, f"link {shown} is not https: use https:// if the site supports it", "warning"
            )
        else:
            yield problem_at(
                source,
                file,
                f"link {href or '(empty)'} is not an absolute https:// URL: readers "
                "cannot follow it from an email",
            )


def _check_lines(preheader: str, subject: str, sources: list[TextSource], file: str) -> Iterator[Problem]:
    """The preheader and the subject: what the inbox shows."""
    if not preheader.strip():
        yield Problem(
            file,
            "no preheader: add `preheader:` with a line that makes people open the email",
            severity="warning",
        )
    elif len(preheader) > PREHEADER_MAX:
        yield problem_at(
            _named(sources, "preheader"),
            file,
            f"the preheader has {len(preheader)} characters: mail clients show about {PREHEADER_MAX} at most",
            "warning",
            "preheader",
        )
    if len(subject) > SUBJECT_MAX:
        yield problem_at(
            _named(sources, "subject"),
            file,
            f"the subject has {len(subject)} characters: a phone's inbox cuts it after about "
            f"{SUBJECT_MAX}; try {{short_name}} Update No {{number}} – {{date}}",
            "warning",
            "subject",
        )
    for leftover in _SUBJECT_FIELD.findall(subject):
        yield problem_at(
            _named(sources, "subject"),
            file,
            f"the subject has {leftover} left in it: the fields are "
            + ", ".join(f"{{{name}}}" for name in SUBJECT_FIELDS),
            "warning",
            "subject",
        )


def _check_parts(edition: Edition, sources: list[TextSource], file: str) -> Iterator[Problem]:
    """Tokens and sections of both parts, and template syntax shown literally in the text."""
    known = {*PLACEHOLDERS.values(), SECTION_END}
    for part, content in (("HTML", edition.html), ("text", edition.text)):
        for token in sorted(set(_TOKEN.findall(content)) - known):
            yield Problem(
                file,
                f"unknown placeholder {token} in the {part} part: check the templates "
                f"(known: {', '.join(sorted(known))})",
            )
        if not sections_balanced(content):
            yield Problem(
                file,
                f"the {part} part's network sections do not open and close in turn: each "
                "if_reader_in(id) needs its end_if (check the templates)",
            )
    for syntax in sorted(set(_TEMPLATE_SYNTAX.findall(edition.text))):
        yield problem_at(
            locate(sources, syntax),
            file,
            f"{syntax} is shown literally: issue files are not templates, and only "
            "sending fills in each reader's name and unsubscribe link",
            "warning",
        )


def longest_greeting(settings: Settings, people: Iterable[Person]) -> Person | None:
    """The member whose greeting is the longest: the sample reader of `_check_spliced` (None: a
    reader without names, greeted with the fallback, is as long as any)."""
    greeting = settings.greeting
    fields = greeting.fields

    def filled(person: Person) -> int:  # the length of the fields in their greeting; -1: the fallback
        values = [getattr(person, field).strip() for field in fields]
        return sum(map(len, values)) if all(values) else -1

    longest = max(people, key=filled, default=None)
    if longest is None or filled(longest) < 0:
        return None
    fallback = greeting.for_reader()
    text = greeting.for_reader(name=longest.name, first_name=longest.first_name)
    return longest if len(text) > len(fallback) else None


def _check_spliced(edition: Edition, project: Project, file: str, reader: Person | None) -> Iterator[Problem]:
    """Lines of the personalised text part over 78 columns, measured with a sample reader's values
    spliced in (the longest greeting on the lists), since sending splices them after wrapping."""
    settings = project.settings
    values = reader_values(
        settings,
        html=False,
        unsubscribe_url=f"{settings.sending.unsubscribe_url}?token={SAMPLE_TOKEN}",
        token=SAMPLE_TOKEN,
        name=reader.name if reader else "",
        first_name=reader.first_name if reader else "",
        networks=[project.networks[n].name for n in edition.key or () if n in project.networks],
    )
    by_token = {token: name for name, token in PLACEHOLDERS.items()}
    for raw in keep_sections(edition.text, edition.key or ()).splitlines():
        if "%%COMPOSER_" not in raw:  # only a line with a placeholder is lengthened by splicing
            continue
        line = max(fill_placeholders(raw, values).split("\n"), key=len)  # a value may run to more lines
        if len(line) <= TEXT_WIDTH or _URL_LINE.match(line.strip()):
            continue
        spliced = [by_token[token] for token in _TOKEN.findall(raw) if token in by_token]
        if spliced:
            yield _in_template(
                project,
                file,
                f"placeholders.{spliced[0]}",
                f"a personalised text line runs to {len(line)} columns (over {TEXT_WIDTH}): "
                f"{line[:40]}…; put placeholders.{spliced[0]} on a line of its own",
                ".txt.j2",
            )


def check_branding(branding: Branding, lines: Located) -> list[Problem]:
    """Colour pairs the templates use, against WCAG's 4.5:1 contrast for readable text.

    One warning per colour to change, naming every place where it is hard to read.
    """
    pairs = [
        ("text_colour", branding.text_colour, WHITE, "text"),
        ("text_colour", branding.text_colour, ACTION_BACKGROUND, "text in the Action Required box"),
        ("primary_colour", branding.primary_colour, WHITE, "links"),
        ("primary_colour", branding.primary_colour, ACTION_BACKGROUND, "links in the Action Required box"),
        ("primary_colour", WHITE, branding.primary_colour, "the header's white text"),
        ("accent_colour", branding.accent_colour, WHITE, "labels and section headings"),
        ("action_colour", branding.action_colour, ACTION_BACKGROUND, "the Action Required heading"),
        ("background_colour", FOOTER_TEXT, branding.background_colour, "footer text"),
    ]
    failing: dict[str, list[str]] = {}
    for field, foreground, background, use in pairs:
        ratio = contrast(foreground, background)
        if ratio < CONTRAST_MIN:
            failing.setdefault(field, []).append(
                f"{use} in {foreground} on {background} has a contrast of {ratio:.1f}:1"
            )
    return [
        Problem(
            SETTINGS_FILE,
            f"{'; '.join(uses)}, below {CONTRAST_MIN}:1: choose a "
            f"{'lighter' if field == 'background_colour' else 'darker'} colour",
            lines.line_of(("branding", field)),
            f"branding.{field}",
            "warning",
        )
        for field, uses in failing.items()
    ]

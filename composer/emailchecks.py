"""The pre-send checks of finished editions: what would clip, break or look wrong in mail clients.

Gmail clips a message whose HTML passes about 102 KB and drops a <style> block over 16 KB;
images need alt text for readers who block them; links must be absolute to work in a mail client.
Problems point at the issue file, at the item whose Markdown holds the offending link if any.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser

from composer.errors import Problem
from composer.project import SETTINGS_FILE, SourcedIssue
from composer.render import PLACEHOLDERS, SUBJECT_FIELDS, Edition
from composer.settings import Branding
from composer.yamlio import Located

KB = 1024
HTML_WARNING = 80 * KB
HTML_LIMIT = 102 * KB
STYLE_LIMIT = 16 * KB
PREHEADER_MAX = 150
CONTRAST_MIN = 4.5  # WCAG AA for body text
WHITE = "#ffffff"

_TOKEN = re.compile(r"%%COMPOSER_[A-Z_]*%%")
_TEMPLATE_SYNTAX = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_SUBJECT_FIELD = re.compile(r"\{[^{}]*\}")
_SAFE_LINK = re.compile(r"^(https://|mailto:|tel:|#)", re.I)


class _Scan(HTMLParser):
    """Collects the images, links and <style> text of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.style_bytes = 0
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values)
        elif tag == "a" and values.get("href") is not None:
            self.links.append(values["href"] or "")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style_bytes += len(data.encode())


def check_editions(editions: Iterable[Edition], sourced: SourcedIssue, *, file: str) -> list[Problem]:
    """Every problem of every edition, each reported once (an item's link is in many editions)."""
    found: dict[tuple[str, int | None, str], Problem] = {}
    for edition in editions:
        for problem in _check(edition, sourced, file):
            found.setdefault((problem.message, problem.line, problem.field), problem)
    return list(found.values())


def _check(edition: Edition, sourced: SourcedIssue, file: str) -> Iterator[Problem]:
    where = f"edition {edition.name}"
    size = len(edition.html.encode())
    if size >= HTML_LIMIT:
        yield Problem(
            file,
            f"the HTML is {size / KB:.1f} KB: Gmail clips messages from 102 KB; "
            "shorten the items or move some to a later issue",
            None,
            where,
        )
    elif size > HTML_WARNING:
        yield Problem(
            file,
            f"the HTML is {size / KB:.1f} KB, close to the 102 KB at which Gmail clips messages",
            None,
            where,
            "warning",
        )
    scan = _Scan()
    scan.feed(edition.html)
    scan.close()
    if scan.style_bytes > STYLE_LIMIT:
        yield Problem(
            file,
            f"the <style> blocks hold {scan.style_bytes / KB:.1f} KB: Gmail drops one over "
            "16 KB; move CSS to templates/email.css.j2 so that it is inlined",
            None,
            where,
        )
    for image in scan.images:
        src = image.get("src") or ""
        line, field = _locate(sourced, src)
        if not (image.get("alt") or "").strip():
            yield Problem(
                file,
                f"image {src} has no alt text: describe it, e.g. ![what it shows]({src})",
                line,
                field or where,
            )
        if not src.lower().startswith("https://"):
            yield Problem(
                file,
                f"image {src or '(empty)'} is not an absolute https:// URL: mail clients will not show it",
                line,
                field or where,
            )
    tokens = set(PLACEHOLDERS.values())
    for href in scan.links:
        if href in tokens or _SAFE_LINK.match(href):
            continue
        line, field = _locate(sourced, href)
        if href.lower().startswith("http://"):
            yield Problem(
                file,
                f"link {href} is not https: use https:// if the site supports it",
                line,
                field or where,
                "warning",
            )
        else:
            yield Problem(
                file,
                f"link {href or '(empty)'} is not an absolute https:// URL: readers "
                "cannot follow it from an email",
                line,
                field or where,
            )
    yield from _check_text(edition, sourced, file, where)


def _check_text(edition: Edition, sourced: SourcedIssue, file: str, where: str) -> Iterator[Problem]:
    preheader_line = sourced.located.line_of(("preheader",)) if sourced.issue.preheader else None
    if not edition.preheader.strip():
        yield Problem(
            file,
            "no preheader: add `preheader:` with a line that makes people open the email",
            None,
            where,
            "warning",
        )
    elif len(edition.preheader) > PREHEADER_MAX:
        yield Problem(
            file,
            f"the preheader has {len(edition.preheader)} characters: mail clients show "
            f"about {PREHEADER_MAX} at most",
            preheader_line,
            "preheader",
            "warning",
        )
    for leftover in _SUBJECT_FIELD.findall(edition.subject):
        yield Problem(
            file,
            f"the subject has {leftover} left in it: the fields are "
            + ", ".join(f"{{{name}}}" for name in SUBJECT_FIELDS),
            None,
            "subject",
            "warning",
        )
    known = set(PLACEHOLDERS.values())
    for part, content in (("HTML", edition.html), ("text", edition.text)):
        for token in sorted(set(_TOKEN.findall(content)) - known):
            yield Problem(
                file,
                f"unknown placeholder {token} in the {part} part: check the templates "
                f"(known: {', '.join(sorted(known))})",
                None,
                where,
            )
    for syntax in sorted(set(_TEMPLATE_SYNTAX.findall(edition.text))):
        line, field = _locate(sourced, syntax)
        yield Problem(
            file,
            f"{syntax} is shown literally: issue files are not templates, and only "
            "sending fills in each reader's name and unsubscribe link",
            line,
            field or where,
            "warning",
        )


def _locate(sourced: SourcedIssue, needle: str) -> tuple[int | None, str]:
    """The line and field of the issue's text that contains needle, when it comes from the issue."""
    issue = sourced.issue
    if not needle:
        return None, ""
    for index, item in enumerate(issue.items):
        for name in ("title", "body", "action"):
            if needle in getattr(item, name):
                return sourced.located.line_of(("items", index, name)), f"items[{item.id}].{name}"
    if issue.intro and needle in issue.intro:
        return sourced.located.line_of(("intro",)), "intro"
    return None, ""


def check_branding(branding: Branding, lines: Located) -> list[Problem]:
    """Colour pairs the templates use, against WCAG's 4.5:1 contrast for readable text."""
    pairs = [
        ("text_colour", branding.text_colour, WHITE, "text"),
        ("primary_colour", branding.primary_colour, WHITE, "links and item titles"),
        ("accent_colour", branding.accent_colour, WHITE, "labels and section headings"),
        ("primary_colour", WHITE, branding.primary_colour, "the header's white text"),
    ]
    problems = []
    for field, foreground, background, use in pairs:
        ratio = contrast(foreground, background)
        if ratio < CONTRAST_MIN:
            problems.append(
                Problem(
                    SETTINGS_FILE,
                    f"{use} in {foreground} on {background} has a contrast of "
                    f"{ratio:.1f}:1, below {CONTRAST_MIN}:1: choose a darker colour",
                    lines.line_of(("branding", field)),
                    f"branding.{field}",
                    "warning",
                )
            )
    return problems


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    red, green, blue = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue

"""What reading an edition's HTML finds: a <style> block Gmail drops, images without alt text or
https, links a mail client cannot follow, a hidden preheader in a colour spam filters score."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

from composer.content.project import Project
from composer.email.placeholders import PLACEHOLDERS
from composer.email.render import Edition
from composer.email.templatechecks import template_line
from composer.email.textsources import TextSource, in_template, locate, problem_at
from composer.errors import Problem

KB = 1024
STYLE_LIMIT = 16 * KB

_SAFE_LINK = re.compile(r"^(https://|mailto:|tel:)", re.I)
_HIDDEN = re.compile(r"display\s*:\s*none", re.I)
_COLOUR = re.compile(r"(?<![-\w])color\s*:", re.I)


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


def check_scanned(
    edition: Edition, sources: list[TextSource], file: str, project: Project
) -> Iterator[Problem]:
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
        yield in_template(
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
                else in_template(project, file, 'href="#', message)
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

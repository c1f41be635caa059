"""The Jinja environment of a project's templates with its filters, and the helper the plain-text
template calls for Markdown, wrapping and link references."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2

from composer.content import templates
from composer.content.carry import long_date
from composer.email.markdown import TextLinks, first_sentence, heading, to_html, to_text, wrap


def phone_text(phone: str) -> str:
    """A phone number that never wraps: its spaces made non-breaking."""
    return phone.replace(" ", "\u00a0")


def tel_url(phone: str) -> str:
    """The tel: link of a phone number as written ("07700 900123" → tel:07700900123)."""
    return "tel:" + re.sub(r"[^0-9+]", "", phone)


class TextHelper:
    """What the plain-text template needs from Python: Markdown, wrapping and link references."""

    def __init__(self, links: TextLinks | None = None) -> None:
        """`links`: how references are numbered (by default, in the order of one message)."""
        self.links = links or TextLinks()

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


def environment(root: Path) -> templates.Templates:
    """A project's Jinja environment: its own templates first, then the packaged ones.

    Compiling is slower than rendering an edition, so whoever renders many editions keeps one
    (the workspace does, see composer/workspace.py). Jinja notices a template edited since it was
    compiled (by its modification time); a template the project adds, which shadows a packaged one
    already compiled, needs a new environment (`own_templates` tells when).
    """
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


def own_templates(root: Path) -> tuple[str, ...]:
    """The names of the project's own templates: an environment serves while they stay the same."""
    folder = root / templates.TEMPLATES_DIR
    return tuple(sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))) if folder.is_dir() else ()

"""Placeholders: the values a rendered edition leaves to each message (a reader's, or an edition's
in the document that serves every edition but the full one), and how they are worded and filled."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from html import escape as html_escape

from composer.content.settings import Settings
from composer.email.markdown import wrap
from composer.email.sections import keep_sections

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


def edition_value_html(name: str, value: str) -> str:
    """An edition's value escaped as the CSS inliner writes it: the preheader is text, where quotes
    stay as they are; the archive page's URL is an attribute's value."""
    return html_escape(value, quote=name != "preheader")

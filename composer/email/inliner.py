"""The HTML stage of an edition: MJML compiled (mjml-python), the CSS inlined (premailer) and
the result minified. Nothing here touches the network: premailer may not download stylesheets
and cssutils' fetcher for `@import` refuses."""

from __future__ import annotations

import logging
import re

import cssutils  # type: ignore[import-untyped]
import mjml
from premailer import Premailer  # type: ignore[import-untyped]

from composer.errors import ComposerError


def _refuse_fetch(url: str) -> None:
    """cssutils' fetcher for `@import`: nothing is ever fetched (None means "not available")."""
    return None


cssutils.util._defaultFetcher = _refuse_fetch  # premailer parses with cssutils' default fetcher
cssutils.log.setLevel(logging.CRITICAL)  # it warns about every mso-* and -webkit-* property


def compile_mjml(source: str, *, template: str = "email.mjml.j2") -> str:
    """MJML to HTML with MRML; no web fonts, comments dropped (Outlook's conditionals stay)."""
    try:
        return mjml.mjml2html(source, disable_comments=True, fonts={})
    except ValueError as exc:
        raise ComposerError(f"templates/{template} does not give valid MJML: {exc}") from exc


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

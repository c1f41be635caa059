"""The branding's colours against WCAG's contrast for readable text, where the templates use them."""

from __future__ import annotations

from composer.content.layout import SETTINGS_FILE
from composer.content.settings import Branding
from composer.content.yamlio import Located
from composer.email.colours import CONTRAST_MIN, WHITE, contrast
from composer.errors import Problem

# Colours that templates/email.mjml.j2 and email.css.j2 fix rather than take from the branding
FOOTER_TEXT = "#1f2326"  # the footer's text and links, on the body's background_colour
ACTION_BACKGROUND = "#f6f7f9"  # the Action Required box


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

"""Colour arithmetic for the email: WCAG contrast, and the branding colours made readable on the
dark background that mail clients in dark mode show."""

from __future__ import annotations

CONTRAST_MIN = 4.5  # WCAG AA for body text
WHITE = "#ffffff"
# The dark-mode palette of templates/email.mjml.j2 (the branding gives the light one)
DARK = {
    "background": "#121417",  # around the email
    "card": "#1c2024",  # behind the content
    "box": "#262b31",  # the Action Required box
    "text": "#e4e7ea",
    "muted": "#b8bfc6",  # dates, places, contact lines, the footer
}


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two #rrggbb colours."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    red, green, blue = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def readable_on(colour: str, background: str, minimum: float = CONTRAST_MIN) -> str:
    """colour, mixed with white in steps of 5% until it reads on a dark background: the branding's
    hue kept, its contrast restored (a navy link becomes a light blue)."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    for step in range(21):
        share = step / 20
        mixed = "#" + "".join(f"{round(c + (255 - c) * share):02x}" for c in (red, green, blue))
        if contrast(mixed, background) >= minimum:
            return mixed
    return WHITE

"""The web archive's addresses that emails link to: its pages, an item on them, an event's .ics."""

from __future__ import annotations

from collections.abc import Callable

from composer.content.settings import Settings
from composer.email.editions import EditionView


def archive_base(settings: Settings) -> str:
    """The web archive's address, ending in one slash: every page of it starts so."""
    return str(settings.archive_url).rstrip("/") + "/"


def archive_page_url(settings: Settings, number: int) -> str:
    """The web archive's page of an issue: where "view in browser" points."""
    return f"{archive_base(settings)}{number}/"


def item_url(page_url: Callable[[int], str], number: int, item_id: str) -> str:
    """An item on the archive page of issue `number`: an absolute link that every client follows,
    where an in-message `#fragment` fails in Gmail for iOS and Yahoo's apps."""
    return f"{page_url(number)}#item-{item_id}"


def edition_url(page_url: Callable[[int], str], number: int, edition: EditionView) -> str:
    """The archive's page of one edition, where its readers' "View in your browser" points: the
    full edition is the issue's page itself; the page of an edition shows what its readers got."""
    return page_url(number) if edition.full else f"{page_url(number)}{edition.page}"


def calendar_url(page_url: Callable[[int], str], number: int, item_id: str) -> str:
    """The .ics file of an item's event, published with the archive page of issue `number`."""
    return f"{page_url(number)}{item_id}.ics"

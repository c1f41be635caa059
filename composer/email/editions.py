"""Editions: which items a reader receives, given the networks they belong to.

A person's networks map to exactly one edition; rendering and sending both use `edition_key`,
so what the preview shows for a network is what its members are sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from composer.content.carry import Plan, Reminder
from composer.content.model import Item

EditionKey = frozenset[str] | None
FULL: EditionKey = None


def edition_key(networks: Iterable[str]) -> frozenset[str]:
    """The edition for someone in these networks (an empty set: the items for everyone only)."""
    return frozenset(networks)


def edition_name(key: EditionKey) -> str:
    """A stable, file-name-safe name: `full`, `everyone`, or network ids joined by `+`."""
    if key is None:
        return "full"
    return "+".join(sorted(key)) if key else "everyone"


def parse_edition_name(name: str) -> EditionKey:
    if name == "full":
        return FULL
    if name == "everyone":
        return frozenset()
    return frozenset(name.split("+"))


def receives(item: Item, key: EditionKey) -> bool:
    return key is None or item.for_everyone or not key.isdisjoint(item.networks)


@dataclass(frozen=True)
class Selection:
    """The items and reminders of one edition, in the issue's order."""

    key: EditionKey
    items: tuple[Item, ...]
    reminders: tuple[Reminder, ...]

    @property
    def name(self) -> str:
        return edition_name(self.key)


def select(plan: Plan, key: EditionKey) -> Selection:
    return Selection(
        key,
        tuple(item for item in plan.items if receives(item, key)),
        tuple(r for r in plan.reminders if receives(r.item, key)),
    )

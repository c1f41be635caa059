"""Editions: which items a reader receives, given the networks they belong to.

A person's networks map to exactly one edition key; rendering and sending both use `edition_key`,
so what the preview shows for a network is what its members are sent. Many sets of networks
receive the same items and reminders: they share one rendered edition (`Selection.identity`), which
is named after the first set it serves. What differs between their readers (the names of their
networks, the footer's links for each of their networks with news) is filled in per reader.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from composer.content.carry import Plan, Reminder
from composer.content.model import Item

EditionKey = frozenset[str] | None
FULL: EditionKey = None


def edition_key(networks: Iterable[str]) -> frozenset[str]:
    """The edition for someone in these networks (an empty set: the items for everyone only)."""
    return frozenset(networks)


@functools.lru_cache(maxsize=8192)
def edition_name(key: EditionKey) -> str:
    """A stable, file-name-safe name: `full`, `everyone`, or network ids joined by `+`.

    Cached: a send names the edition of each of its readers (100,000 of them, in a few thousand
    sets of networks)."""
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
class EditionView:
    """What every reader of an edition gets alike: all that templates are given of it (`edition`).

    Readers in different sets of networks share one rendered edition when they get the same items
    and reminders, and it is rendered for the first of those sets: its key, name and networks would
    tell every reader the first set's networks, so they are not here. Each reader's own networks
    reach their message as spliced values and sections (see render.Renderer.context).
    """

    full: bool
    for_members: bool  # its readers are members of some network: the footer's wording
    items: tuple[Item, ...]
    reminders: tuple[Reminder, ...]

    @property
    def identity(self) -> Hashable:
        """What the templates can tell apart: views that are equal render the same."""
        return (
            self.full,
            self.for_members,
            tuple(item.id for item in self.items),
            tuple(reminder.item.id for reminder in self.reminders),
        )

    @property
    def page(self) -> str:
        """The file name of this edition's page in the web archive (`index.html` for the full one).

        Named after what it shows, not after a set of networks: every set of networks sharing the
        edition gets the same page, whichever of them the mailing lists name first.
        """
        if self.full:
            return "index.html"
        return f"edition-{hashlib.sha256(repr(self.identity).encode()).hexdigest()[:10]}.html"

    @property
    def networks_with_news(self) -> frozenset[str]:
        """The networks with news in this edition: the footer offers each of its readers in one of
        them to stop it, in a section kept only for that network's readers (`sections.SECTION_START`)."""
        if not self.for_members:
            return frozenset()
        return frozenset(network for item in self.shown for network in item.networks)

    @property
    def shown(self) -> list[Item]:
        """Every item the edition shows: its new items, then those its reminders recall."""
        return [*self.items, *(reminder.item for reminder in self.reminders)]


@dataclass(frozen=True)
class Selection:
    """The items and reminders of one edition, in the order it shows them, and the key it was
    selected for (which templates never see: see `EditionView`)."""

    key: EditionKey
    items: tuple[Item, ...]
    reminders: tuple[Reminder, ...]

    @property
    def name(self) -> str:
        return edition_name(self.key)

    @functools.cached_property
    def view(self) -> EditionView:
        """What the readers of every key sharing this edition get alike."""
        return EditionView(self.key is None, bool(self.key), self.items, self.reminders)

    @property
    def page(self) -> str:
        """The file name of this edition's page in the web archive (see `EditionView.page`)."""
        return self.view.page

    @property
    def identity(self) -> Hashable:
        """What the templates can tell apart: selections with the same view render the same."""
        return self.view.identity


def select(plan: Plan, key: EditionKey) -> Selection:
    """The edition's items and reminders. In an edition for some networks (not the full one), the
    items of the reader's own networks come first unless the plan keeps the file's order: a
    reader's own news is what they open the Update for."""
    items = [item for item in plan.items if receives(item, key)]
    if key and plan.items_order == "networks_first":
        items.sort(key=lambda item: item.for_everyone)
    return Selection(key, tuple(items), tuple(r for r in plan.reminders if receives(r.item, key)))


def shared(plan: Plan, keys: Iterable[EditionKey]) -> list[tuple[Selection, tuple[EditionKey, ...]]]:
    """The distinct editions among `keys`, each with the keys it serves, in the order first met.

    Each is selected for its first key, which names it: list the keys in the order names should
    come from (the full edition first, then by name).
    """
    groups: dict[Hashable, tuple[Selection, list[EditionKey]]] = {}
    for key in keys:
        selection = select(plan, key)
        groups.setdefault(selection.identity, (selection, []))[1].append(key)
    return [(selection, tuple(served)) for selection, served in groups.values()]


@dataclass(frozen=True)
class Audience:
    """One edition as `composer send` sends it: named after the first (by name) of the sets of
    networks it serves, with how many people get it."""

    key: frozenset[str]
    recipients: int
    serves: tuple[frozenset[str], ...]  # by name, as `send --dry-run` lists them

    @property
    def name(self) -> str:
        return edition_name(self.key)


class EditionGroups:
    """Sets of networks grouped by the edition their readers get (`Selection.identity`), each
    edition named after the first of its sets by name: the one rule `send`, its dry run and the
    preview's menu name editions by. A name is final once every set has been seen."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self._identities: dict[EditionKey, Hashable] = {}
        self._first: dict[Hashable, EditionKey] = {}

    def identity(self, key: EditionKey) -> Hashable:
        """The edition a key's readers get (keys with the same items and reminders share one)."""
        if key not in self._identities:
            self._identities[key] = identity = select(self.plan, key).identity
            first = self._first.get(identity)
            if first is None or edition_name(key) < edition_name(first):
                self._first[identity] = key
        return self._identities[key]

    def first(self, key: EditionKey) -> EditionKey:
        """The key the edition of `key`'s readers is named after (and rendered for)."""
        return self._first[self.identity(key)]

    def name(self, key: EditionKey) -> str:
        return edition_name(self.first(key))


def audiences(plan: Plan, readers: Iterable[frozenset[str]]) -> list[Audience]:
    """The editions that readers of these edition keys (one key per reader) are sent, most readers
    first (in the order first met on a tie): what `send --dry-run` lists, for the preview's menu."""
    groups = EditionGroups(plan)
    counts: dict[Hashable, dict[frozenset[str], int]] = {}
    for key in readers:
        served = counts.setdefault(groups.identity(key), {})
        served[key] = served.get(key, 0) + 1
    found = [
        Audience(min(served, key=edition_name), sum(served.values()), tuple(sorted(served, key=edition_name)))
        for served in counts.values()
    ]
    return sorted(found, key=lambda audience: -audience.recipients)

"""Sections: parts of a document kept only by some readers, between markers each message keeps
or drops for its reader's networks (see messages.EncodedEdition.personalise)."""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass

# Parts of a document shown only to some readers: the footer's "stop receiving news of" links,
# and in the document that serves every edition but the full one (`Renderer.sections`), each
# item, reminder, diary line and contact. A section's condition (`Condition.spec`) names the
# networks whose readers keep it; each reader's message keeps the sections whose condition their
# networks meet (see messages.EncodedEdition.personalise). Sections may sit inside sections.
SECTION_START = "%%COMPOSER_IF_NETWORK_{}%%"
SECTION_END = "%%COMPOSER_END_IF%%"
_MARKER = re.compile(r"%%COMPOSER_IF_NETWORK_([a-z0-9+!-]+)%%|%%COMPOSER_END_IF%%")


@dataclass(frozen=True)
class Condition:
    """Who keeps a section: readers in any of `any_of` (every reader when None) and in none of
    `none_of`. Written in a marker as `a+b` (any of a, b), `a+b!c` (and not c) or `!c`."""

    any_of: frozenset[str] | None
    none_of: frozenset[str] = frozenset()

    @staticmethod
    @functools.lru_cache(maxsize=4096)
    def parse(spec: str) -> Condition:
        shown, _, hidden = spec.partition("!")
        return Condition(
            frozenset(shown.split("+")) if shown else None,
            frozenset(hidden.split("+")) if hidden else frozenset(),
        )

    @property
    def spec(self) -> str:
        hidden = "!" + "+".join(sorted(self.none_of)) if self.none_of else ""
        return "+".join(sorted(self.any_of or ())) + hidden

    def holds(self, networks: Collection[str]) -> bool:
        """Whether a reader in `networks` keeps the section."""
        shown = self.any_of is None or not self.any_of.isdisjoint(networks)
        return shown and self.none_of.isdisjoint(networks)


@dataclass(frozen=True)
class Section:
    """What a template writes around a part shown only to some readers (both empty: to all)."""

    start: str = ""
    end: str = ""


EVERYONE = Section()


def section(condition: Condition) -> Section:
    """The markers around a part kept by the readers meeting `condition` (none when all do)."""
    unconditional = condition.any_of is None and not condition.none_of
    return EVERYONE if unconditional else Section(SECTION_START.format(condition.spec), SECTION_END)


def sections_balanced(text: str) -> bool:
    """Whether every section of the text closes, and closes only what opened."""
    depth = 0
    for match in _MARKER.finditer(text):
        depth += 1 if match[1] is not None else -1
        if depth < 0:
            return False
    return depth == 0


def keep_sections(text: str, networks: Collection[str]) -> str:
    """The text as a reader in `networks` sees it: the sections they keep, the others cut (and
    everything inside them)."""
    out: list[str] = []
    position, dropped = 0, 0
    opened: list[bool] = []
    for match in _MARKER.finditer(text):
        if not dropped:
            out.append(text[position : match.start()])
        position = match.end()
        if match[1] is not None:
            kept = not dropped and Condition.parse(match[1]).holds(networks)
            opened.append(kept)
            dropped += not kept
        elif opened and not opened.pop():
            dropped -= 1
    if not dropped:
        out.append(text[position:])
    return "".join(out)

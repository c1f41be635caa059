"""Sections: parts of a document kept only by some readers, between markers each message keeps
or drops for its reader's networks (see messages.EncodedEdition.personalise)."""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Final, TypeVar

# Parts of a document shown only to some readers: the footer's "stop receiving news of" links,
# and in the document that serves every edition but the full one (`Renderer.sections`), each
# item, reminder, diary line and contact. A section's condition (`Condition.spec`) names the
# networks whose readers keep it; each reader's message keeps the sections whose condition their
# networks meet (see messages.EncodedEdition.personalise). Sections may sit inside sections.
SECTION_START = "%%COMPOSER_IF_NETWORK_{}%%"
SECTION_END = "%%COMPOSER_END_IF%%"
SPEC_CHARACTERS = "a-z0-9+!-"  # what a condition is written with (network ids, "+" and "!")
_MARKER = re.compile(rf"%%COMPOSER_IF_NETWORK_([{SPEC_CHARACTERS}]+)%%|%%COMPOSER_END_IF%%")


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


class SectionEnd:
    """The end of the innermost open section, in a stream of pieces."""


END: Final = SectionEnd()
T = TypeVar("T")


def tokens(text: str) -> Iterator[str | Condition | SectionEnd]:
    """A text as its pieces between markers, each start marker as its Condition, each end as END."""
    position = 0
    for match in _MARKER.finditer(text):
        yield text[position : match.start()]
        yield END if match[1] is None else Condition.parse(match[1])
        position = match.end()
    yield text[position:]


def kept(pieces: Iterable[T | Condition | SectionEnd], networks: Collection[str], boundary: T) -> Iterator[T]:
    """The pieces a reader in `networks` keeps: those outside sections and in the sections they
    keep, and `boundary` where a section starts or ends in what they see. The one walk of nested
    sections, for a text (`keep_sections`) and for an encoded message alike."""
    opened: list[bool] = []  # for each section open here, whether it is kept
    dropped = 0  # how many of them are not
    for piece in pieces:
        if isinstance(piece, Condition):
            if not dropped:
                yield boundary
            keep = not dropped and piece.holds(networks)
            opened.append(keep)
            dropped += not keep
        elif isinstance(piece, SectionEnd):
            if opened and not opened.pop():  # an end that closes nothing is left out
                dropped -= 1
            if not dropped:
                yield boundary
        elif not dropped:
            yield piece


def sections_balanced(text: str) -> bool:
    """Whether every section of the text closes, and closes only what opened."""
    depth = 0
    for piece in tokens(text):
        depth += 1 if isinstance(piece, Condition) else -1 if isinstance(piece, SectionEnd) else 0
        if depth < 0:
            return False
    return depth == 0


def keep_sections(text: str, networks: Collection[str]) -> str:
    """The text as a reader in `networks` sees it: the sections they keep, the others cut (and
    everything inside them)."""
    return "".join(kept(tokens(text), networks, ""))

"""The plain text of every edition but the full one, cut from one document rendered once an issue.

Link references are numbered in the order a reader meets them, and each notes block lists the
ones met since the previous block: which numbers, and which block lists a URL, depend on what the
reader keeps. So the document marks every reference (a mark and a number of its own for each one
written) and every notes block, and each edition's text numbers and lists what it keeps, as
`TextLinks` does when the edition is rendered alone.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from composer.email.markdown import REFERENCE_MARK, TextLinks
from composer.email.placeholders import EDITION_PLACEHOLDERS
from composer.email.sections import SECTION_END, SECTION_START, keep_sections

NOTES_MARK = "\ufdd1"  # a Unicode noncharacter, for use inside a program: no issue writes one
# The sections a template writes itself (`if_reader_in`: the footer's "Stop receiving news of")
# are each reader's, not an edition's: in the document they are written apart, so that cutting an
# edition leaves them for each message to keep or drop, as in the edition rendered alone.
_READER = "%%COMPOSER_READER_"
READER_SECTIONS = {
    "if_reader_in": SECTION_START.replace("%%COMPOSER_", _READER).format,
    "end_if": SECTION_END.replace("%%COMPOSER_", _READER),
}
_PIECE = re.compile(rf"{REFERENCE_MARK}(\d+)\]|{NOTES_MARK}")


class SectionedLinks(TextLinks):
    """Link references for the sectioned document: each one marked with a number of its own (so
    that a reader's text can number the ones it keeps) and each notes block left as a mark.

    A mark (`\ufdd0` in place of "[") is as wide as the reference it becomes or wider: the nth
    reference written is numbered n at most in any edition, so no line grows past the width.
    """

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def ref(self, url: str) -> str:
        self.urls.append(url)
        return f"{REFERENCE_MARK}{len(self.urls)}]"

    def notes(self) -> str:
        return NOTES_MARK


def tidy(raw: str) -> str:
    """A rendered plain text with the runs of blank lines that the template's ifs leave reduced to
    one, and no space at the ends of lines."""
    lines = [line.rstrip() for line in raw.strip().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def renumber(text: str, urls: list[str] | tuple[str, ...]) -> str:
    """The marked references of `text` numbered in order (a URL keeps its first number), and each
    notes block listing the URLs first met since the previous one: what `TextLinks` writes when
    the same references and blocks come in the same order."""
    numbers: dict[str, int] = {}
    pending: list[str] = []

    def replaced(match: re.Match[str]) -> str:
        if match[1] is None:
            notes = "\n".join(f"[{numbers[url]}] {url}" for url in pending)
            pending.clear()
            return notes
        url = urls[int(match[1]) - 1]
        if url not in numbers:
            numbers[url] = len(numbers) + 1
            pending.append(url)
        return f"[{numbers[url]}]"

    return _PIECE.sub(replaced, text)


@dataclass(frozen=True)
class SectionedText:
    """The raw plain text that serves every edition but the full one, and the URL of each of its
    marked references (the first is numbered 1)."""

    raw: str
    urls: tuple[str, ...]

    def text_for(self, networks: Collection[str], values: Mapping[str, str]) -> str:
        """The plain text of the edition read by members of `networks`, with that edition's `values`."""
        text = renumber(keep_sections(self.raw, networks), self.urls).replace(_READER, "%%COMPOSER_")
        text = tidy(text)
        for name, value in values.items():
            text = text.replace(EDITION_PLACEHOLDERS[name], value)
        return text

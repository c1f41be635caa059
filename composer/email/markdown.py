"""Markdown from issue files, as a safe HTML fragment for the email and as wrapped plain text.

CommonMark through markdown-it-py with raw HTML turned off: tags typed in YAML come out as text,
and the library's link validation refuses schemes such as `javascript:`.
"""

from __future__ import annotations

import functools
import re

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode
from markupsafe import Markup

WIDTH = 78
CODE_INDENT = "    "
CODE_CONTINUED = "↪ "  # starts the rest of a code line too long for the width
CODE_MIN_WIDTH = 16  # deep in lists and quotes, code overflows rather than break every few characters
HEADING_SHIFT = 3  # sections are <h2> and item titles <h3>: a `#` heading in a body sits below

_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
SENTENCE_MIN = 30  # characters: shorter first sentences are lead-ins
ACTION_LIMIT = 200  # characters: a longer first sentence of an action is left to the full text
_WORDS = ("text", "code_inline", "softbreak", "hardbreak")

_md = MarkdownIt("commonmark", {"html": False})
# A soft line break is a space: MRML drops a newline that stands alone between two tags, which
# would glue `**a**` and `*b*` on consecutive lines together.
_md.add_render_rule("softbreak", lambda *_: " ")


@functools.lru_cache(maxsize=1024)
def to_html(source: str) -> Markup:
    """The HTML fragment of a Markdown text; safe to place unescaped in a template.

    Cached: every edition of an issue shows the same items.
    """
    tokens = _md.parse(source)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + HEADING_SHIFT, 6)}"
    return Markup(_md.renderer.render(tokens, _md.options, {}))


class TextLinks:
    """Numbered link references for one plain-text message.

    A URL keeps its number for the whole message; `notes()` lists the URLs numbered since the
    previous call, so each block of the message ends with the references it introduced.
    """

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._pending: list[str] = []

    def ref(self, url: str) -> str:
        """The marker, e.g. `[3]`, that stands for url in the text."""
        if url not in self._numbers:
            self._numbers[url] = len(self._numbers) + 1
            self._pending.append(url)
        return f"[{self._numbers[url]}]"

    def notes(self) -> str:
        lines = [f"[{self._numbers[url]}] {url}" for url in self._pending]
        self._pending.clear()
        return "\n".join(lines)


# Opens a link reference in place of "[" in the document every edition but the full one is cut
# from (see textsections): a Unicode noncharacter, for use inside a program, which no issue writes.
REFERENCE_MARK = "\ufdd0"
_REFERENCE = re.compile(rf"[\[{REFERENCE_MARK}]\d+\][.,;:!?)]*")


def wrap(text: str, width: int = WIDTH, prefix: str = "") -> list[str]:
    """Wrap at width, never breaking a word (a long URL overflows whole); newlines are hard breaks.

    Greedy and much faster than textwrap, which dominated building the plain text.
    Only spaces and tabs separate words: a no-break space keeps its words together, and a link
    reference ("[12]") stays on the line of the word it follows.
    """
    return list(_wrapped(text, width, prefix))


@functools.lru_cache(maxsize=8192)
def _wrapped(text: str, width: int, prefix: str) -> tuple[str, ...]:
    """`wrap`, cached: the editions of an issue wrap the same paragraphs (a send makes hundreds)."""
    indent = " " * len(prefix)
    lines: list[str] = []
    for index, paragraph in enumerate(text.split("\n")):
        line = prefix if index == 0 else indent
        empty = True
        words: list[str] = []
        for word in paragraph.replace("\t", " ").split(" "):
            if words and _REFERENCE.fullmatch(word):
                words[-1] += " " + word
            elif word:
                words.append(word)
        for word in words:
            if empty:
                line += word
                empty = False
            elif len(line) + 1 + len(word) > width:
                lines.append(line)
                line = indent + word
            else:
                line += " " + word
        lines.append(line.rstrip())
    return tuple(lines)


def shorten(text: str, limit: int) -> str:
    """text on one line of at most `limit` characters, cut at a word and marked with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ;:,–-") + "…"


@functools.lru_cache(maxsize=1024)
def first_sentence(source: str, limit: int = ACTION_LIMIT) -> str:
    """What a compact reminder shows of its Action Required text, as plain words (no link markers):
    its first sentence, never cut inside (a phrase cut short reads as a different request), or ""
    when that sentence is longer than `limit` characters: the reminder's link leads to all of it.
    A sentence of a word or two (a bold lead-in such as "**Marketing.**") takes the next one with it."""
    words: list[str] = []
    for token in _md.parse(source):
        if token.type == "inline":
            words.extend(child.content or " " for child in token.children or () if child.type in _WORDS)
            words.append(" ")
    text = ""
    for sentence in _SENTENCE_END.split(" ".join("".join(words).split())):
        text = f"{text} {sentence}".strip()
        if len(text) >= SENTENCE_MIN:
            break
    return text if len(text) <= limit else ""


def _code_lines(line: str, width: int = WIDTH) -> list[str]:
    """A line of code, indented and hard-wrapped: code has no spaces to break at safely, so the
    line is cut at the width and each piece after the first is marked as a continuation."""
    line = line.expandtabs(4)
    room = max(width - len(CODE_INDENT), CODE_MIN_WIDTH)
    lines = [CODE_INDENT + line[:room]]
    rest, room = line[room:], room - len(CODE_CONTINUED)
    while rest:
        lines.append(CODE_INDENT + CODE_CONTINUED + rest[:room])
        rest = rest[room:]
    return lines


def heading(text: str, rule: str, width: int = WIDTH) -> list[str]:
    """A heading for plain text: the wrapped text underlined with `rule`."""
    lines = wrap(text, width)
    return lines + [rule * max(len(line) for line in lines)]


def to_text(source: str, links: TextLinks, *, width: int = WIDTH) -> str:
    """Plain text of a Markdown text: lists as lists, quotes marked `>`, links as references."""
    renderer = _TextRenderer(links)
    return "\n".join(renderer.join(renderer.blocks(_tree(source), width)))


@functools.lru_cache(maxsize=1024)
def _tree(source: str) -> SyntaxTreeNode:
    """The parsed Markdown (read-only once built), cached for the many editions of an issue."""
    return SyntaxTreeNode(_md.parse(source))


class _TextRenderer:
    def __init__(self, links: TextLinks):
        self.links = links

    def blocks(self, node: SyntaxTreeNode, width: int) -> list[list[str]]:
        return [lines for child in node.children if (lines := self.block(child, width))]

    @staticmethod
    def join(blocks: list[list[str]], tight: bool = False) -> list[str]:
        lines: list[str] = []
        for index, block in enumerate(blocks):
            if index and not tight:
                lines.append("")
            lines.extend(block)
        return lines

    def block(self, node: SyntaxTreeNode, width: int) -> list[str]:
        kind = node.type
        if kind == "paragraph":
            return wrap(self.inline(node.children[0]), width)
        if kind == "heading":
            return heading(self.inline(node.children[0]), "~", width)
        if kind in ("bullet_list", "ordered_list"):
            return self.list(node, width)
        if kind == "blockquote":
            return [f"> {line}".rstrip() for line in self.join(self.blocks(node, width - 2))]
        if kind in ("code_block", "fence"):
            return [
                part for line in node.content.rstrip("\n").split("\n") for part in _code_lines(line, width)
            ]
        if kind == "hr":
            return ["* * *"]
        return []

    def list(self, node: SyntaxTreeNode, width: int) -> list[str]:
        count = len(node.children)
        if node.type == "ordered_list":
            start = int(node.attrs.get("start", 1))
            size = len(str(start + count - 1)) + 2
            markers = [f"{start + n}.".ljust(size) for n in range(count)]
        else:
            markers = ["- "] * count
        tight = all(p.hidden for item in node.children for p in item.children if p.type == "paragraph")
        lines: list[str] = []
        for index, (item, marker) in enumerate(zip(node.children, markers, strict=True)):
            if index and not tight:
                lines.append("")
            inner = self.join(self.blocks(item, width - len(marker)), tight) or [""]
            lines.append(marker + inner[0])
            lines += [" " * len(marker) + line if line else "" for line in inner[1:]]
        return lines

    def inline(self, node: SyntaxTreeNode) -> str:
        parts: list[str] = []
        for child in node.children:
            kind = child.type
            if kind in ("text", "code_inline"):
                parts.append(child.content)
            elif kind == "softbreak":
                parts.append(" ")
            elif kind == "hardbreak":
                parts.append("\n")
            elif kind == "strong":
                parts.append(f"*{self.inline(child)}*")
            elif kind == "em":
                parts.append(f"_{self.inline(child)}_")
            elif kind == "link":
                href = str(child.attrs["href"])
                label = self.inline(child)
                bare = label in (href, href.removeprefix("mailto:"))
                parts.append(label if bare else f"{label} {self.links.ref(href)}")
            elif kind == "image":
                parts.append(f"[image: {self.inline(child)}] {self.links.ref(str(child.attrs['src']))}")
            else:
                parts.append(self.inline(child))
        return "".join(parts)

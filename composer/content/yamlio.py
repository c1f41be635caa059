"""Safe YAML loading that remembers the line of every value, so schema errors can name it.

Hostile files are refused at their line before they can cost memory or time: the node tree is
built from the parser's events in a loop (no recursion to overflow), with limits on nesting,
aliases and what aliases expand to, and only YAML's plain tags. libyaml parses when PyYAML has
it (about 20 times faster); the pure-Python parser gives the same values and lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    Event,
    MappingStartEvent,
    ScalarEvent,
    SequenceStartEvent,
)
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from composer.errors import Problem, ValidationFailed, not_utf8

Loc = tuple[str | int, ...]
_CLOCK_LIKE = re.compile(r"^\d{1,2}[:.]\d{2}$")

FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PURE_LOADER = yaml.SafeLoader
MAX_DEPTH = 32  # the formats need 5 levels; deep nesting only exhausts the stack
MAX_ALIASES = 100
MAX_ALIAS_VALUES = 10_000  # values that aliases may add to a file, counted as they expand
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # as YAML 1.1 counts lines
_NO_ALIASES = "this file takes no anchors or aliases, write the value out"
_YAML_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {
    ScalarEvent: {_YAML_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp")},
    SequenceStartEvent: {_YAML_TAG + "seq"},
    MappingStartEvent: {_YAML_TAG + "map"},
}


@dataclass
class Located:
    """Plain data from a YAML file, plus the line (1-based) where each field path starts."""

    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of the deepest known prefix of loc (pydantic locs may go deeper than YAML)."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None


def field_path(loc: Loc, data: Any) -> str:
    """A readable field path that follows the YAML (list entries named by their id if any)."""
    parts: list[str] = []
    current = data
    for index, segment in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(current, list) and isinstance(segment, int) and segment < len(current):
            current = current[segment]
            name = current.get("id") if isinstance(current, dict) else None
            parts[-1:] = [f"{parts[-1] if parts else ''}[{name if isinstance(name, str) else segment}]"]
        elif isinstance(current, dict):
            if segment in current:
                current = current[segment]
            elif not last:
                continue  # a pydantic union tag, not a key of the file
            parts.append(str(segment))
        else:
            break
    return ".".join(parts)


def _mark(mark: Any) -> yaml.Mark:
    """libyaml's marks have the same fields as PyYAML's; the type stubs do not say so."""
    return cast(yaml.Mark, mark)


@dataclass
class _Open:
    """A collection being composed: its node, a key waiting for its value, its expanded size."""

    node: CollectionNode
    anchor: str | None
    key: Node | None = None
    size: int = 1


class _Composer:
    """Builds one document's node tree from parser events, refusing what the formats never need."""

    def __init__(self, file: str, *, aliases: bool):
        self.file = file
        self.aliases = aliases
        self.resolver = yaml.SafeLoader("")
        self.anchors: dict[str, Node] = {}
        self.sizes: dict[str, int] = {}  # values each anchored node expands to; set once it is closed
        self.open: list[_Open] = []
        self.alias_count = 0
        self.alias_values = 0
        self.documents = 0
        self.root: Node | None = None

    def compose(self, events: Iterable[Event]) -> Node | None:
        for event in events:
            if isinstance(event, DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    raise self.refuse("a second YAML document starts here: remove the `---`", event)
            elif isinstance(event, AliasEvent):
                self.add(*self.alias(event))
            elif isinstance(event, (ScalarEvent, CollectionStartEvent)):
                self.start(event)
            elif isinstance(event, CollectionEndEvent):
                done = self.open.pop()
                done.node.end_mark = _mark(event.end_mark)
                self.add(done.node, done.size, done.anchor)
        return self.root

    def refuse(self, message: str, event: Event) -> ValidationFailed:
        mark = event.start_mark
        return ValidationFailed([Problem(self.file, message, mark.line + 1 if mark else None)])

    def start(self, event: ScalarEvent | CollectionStartEvent) -> None:
        anchor = event.anchor
        if anchor is not None and not self.aliases:
            raise self.refuse(f"YAML anchor &{anchor}: {_NO_ALIASES}", event)
        if anchor is not None and anchor in self.anchors:
            first = self.anchors[anchor].start_mark.line + 1
            raise self.refuse(f"YAML anchor &{anchor} is already defined on line {first}: rename one", event)
        tag, start, end = event.tag, _mark(event.start_mark), _mark(event.end_mark)
        if tag is not None and tag != "!" and tag not in _PLAIN_TAGS[type(event)]:
            shown = "!!" + tag[len(_YAML_TAG) :] if tag.startswith(_YAML_TAG) else tag
            raise self.refuse(
                f"YAML tag {shown} is not allowed: remove it (values are plain text, numbers, dates)",
                event,
            )
        if isinstance(event, ScalarEvent):
            if tag is None or tag == "!":
                tag = self.resolver.resolve(ScalarNode, event.value, event.implicit)
            scalar = ScalarNode(tag, event.value, start, end, style=event.style)
            if anchor is not None:
                self.anchors[anchor] = scalar
            self.add(scalar, 1, anchor)
            return
        if len(self.open) >= MAX_DEPTH:
            raise self.refuse(f"values nested more than {MAX_DEPTH} levels deep: flatten them", event)
        kind = SequenceNode if isinstance(event, SequenceStartEvent) else MappingNode
        if tag is None or tag == "!":
            tag = self.resolver.resolve(kind, None, event.implicit)
        node = kind(tag, [], start, None, flow_style=event.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        self.open.append(_Open(node, anchor))

    def alias(self, event: AliasEvent) -> tuple[Node, int]:
        name = event.anchor
        if not self.aliases:
            raise self.refuse(f"YAML alias *{name}: {_NO_ALIASES}", event)
        if name not in self.anchors:
            raise self.refuse(f"YAML alias *{name} names no anchor: define &{name} before it", event)
        if name not in self.sizes:
            raise self.refuse(f"YAML alias *{name} is inside the value it names: write it out", event)
        self.alias_count += 1
        if self.alias_count > MAX_ALIASES:
            raise self.refuse(f"more than {MAX_ALIASES} YAML aliases: write the values out", event)
        self.alias_values += self.sizes[name]
        if self.alias_values > MAX_ALIAS_VALUES:
            raise self.refuse(
                f"YAML aliases expand to more than {MAX_ALIAS_VALUES:,} values here: write the values out",
                event,
            )
        return self.anchors[name], self.sizes[name]

    def add(self, node: Node, size: int, anchor: str | None = None) -> None:
        if anchor is not None:
            self.sizes[anchor] = size
        if not self.open:
            self.root = node
            return
        parent = self.open[-1]
        parent.size += size
        if isinstance(parent.node, SequenceNode):
            parent.node.value.append(node)
        elif parent.key is None:
            parent.key = node
        else:
            parent.node.value.append((parent.key, node))
            parent.key = None


# Unicode's noncharacters are for a program's own use, never text (email/textsections.py marks
# link references with two of them): a file holding one is refused at its line.
_NONCHARACTER = re.compile("[\ufdd0-\ufdef\ufffe\uffff]")


class _Walker:
    """Turns a composed node tree into plain data, recording lines and duplicate keys."""

    def __init__(self) -> None:
        self.loader = yaml.SafeLoader("")
        self.lines: dict[Loc, int] = {}
        self.duplicates: list[tuple[Loc, int]] = []
        self.noncharacters: list[tuple[Loc, int, str]] = []

    def walk(self, node: Node, loc: Loc) -> Any:
        self.lines[loc] = node.start_mark.line + 1
        if isinstance(node, MappingNode):
            self.loader.flatten_mapping(node)
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.scalar(key_node)
                if not isinstance(key, (str, int)):
                    key = str(key)
                if key in out:
                    self.duplicates.append((loc + (key,), key_node.start_mark.line + 1))
                out[key] = self.walk(value_node, loc + (key,))
                self.lines[loc + (key,)] = key_node.start_mark.line + 1
            return out
        if isinstance(node, SequenceNode):
            return [self.walk(child, loc + (i,)) for i, child in enumerate(node.value)]
        value = self.scalar(node)
        if isinstance(value, str) and (found := _NONCHARACTER.search(value)):
            self.noncharacters.append((loc, node.start_mark.line + 1, found.group()))
        return value

    def scalar(self, node: Node) -> Any:
        if isinstance(node, ScalarNode) and not node.style and _CLOCK_LIKE.match(node.value):
            return node.value  # a time such as 10:30 or 10.30, not YAML 1.1's base-60 int or a float
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, KeyError, AttributeError, yaml.YAMLError):
            # An impossible date such as 2019-13-45, or `!!bool maybe`: keep the text and let
            # validation say why.
            return node.value


def _syntax_problem(exc: yaml.MarkedYAMLError, display: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    reason = " ".join(filter(None, [exc.context, exc.problem]))
    if exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
        reason += f" (the construct opened on line {exc.context_mark.line + 1})"
    return Problem(display, f"YAML syntax error: {reason}", line)


def parse_yaml(
    text: str, display: str, *, aliases: bool = True, loader: type[yaml.SafeLoader] = FAST_LOADER
) -> tuple[Located | None, list[Problem]]:
    """Parse YAML text into located data; a syntax error or a refused construct is a problem."""
    try:
        node = _Composer(display, aliases=aliases).compose(yaml.parse(text, Loader=loader))
        if node is None:
            return Located(None, {(): 1}), []
        walker = _Walker()
        data = walker.walk(node, ())
    except ValidationFailed as refused:
        return None, refused.problems
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(exc, display)]
    except yaml.reader.ReaderError as exc:
        # The parsers count the position differently (bytes or characters); the character is
        # refused wherever it occurs, so its first occurrence is the line to fix.
        before = text[: max(text.find(chr(exc.character)), 0)]
        line = len(_LINE_BREAK.findall(before)) + 1
        message = f"character U+{exc.character:04X} is not allowed in YAML: remove it"
        return None, [Problem(display, message, line)]
    except yaml.YAMLError as exc:
        return None, [Problem(display, f"YAML syntax error: {exc}")]
    duplicates = [
        Problem(display, f"duplicate key {loc[-1]!r}: keep one of them", line, field_path(loc, data))
        for loc, line in walker.duplicates
    ]
    if walker.noncharacters:  # refused like a control character: the file holds something not text
        return None, [
            Problem(
                display,
                f"character U+{ord(char):04X} is a Unicode noncharacter, not text (composer marks its "
                "own work with them): remove it",
                line,
                field_path(loc, data),
            )
            for loc, line, char in walker.noncharacters
        ]
    return Located(data, walker.lines), duplicates


def oversized(size: int, display: str, max_bytes: int | None) -> list[Problem]:
    """The refusal of a file over `max_issue_bytes` (empty when it is within it)."""
    if max_bytes is None or size <= max_bytes:
        return []
    message = f"the file is {size:,} bytes, over the limit of {max_bytes:,}: split it "
    return [Problem(display, message + "(or raise max_issue_bytes in composer.yaml)")]


class ParsedFiles(Protocol):
    """Parsed files kept between runs, by name and the digest of their bytes (parsecache.ParseCache)."""

    def digest(self, data: bytes, *, aliases: bool) -> str: ...

    def get(self, name: str, digest: str) -> Located | None: ...

    def put(self, name: str, digest: str, located: Located) -> None: ...


def load_yaml(
    path: Path,
    display: str,
    *,
    max_bytes: int | None = None,
    aliases: bool = True,
    cache: ParsedFiles | None = None,
) -> tuple[Located | None, list[Problem]]:
    """Read and parse one YAML file; a file over max_bytes is refused unread.

    `cache`: parsed files kept between runs (see parsecache); a file parsed without a problem is
    kept there, and taken from there while its bytes are the same.
    """
    try:
        too_large = oversized(path.stat().st_size, display, max_bytes)
        if too_large:
            return None, too_large
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except FileNotFoundError:
        return None, [Problem(display, "file not found")]
    except UnicodeDecodeError as exc:
        return None, [not_utf8(display, exc)]
    except OSError as exc:
        return None, [Problem(display, f"cannot read the file: {exc}")]
    if cache is None:
        return parse_yaml(text, display, aliases=aliases)
    digest = cache.digest(raw, aliases=aliases)
    kept = cache.get(display, digest)
    if kept is not None:
        return kept, []
    located, problems = parse_yaml(text, display, aliases=aliases)
    if located is not None and not problems:
        cache.put(display, digest, located)
    return located, problems

"""Safe YAML loading that remembers the line of every value, so schema errors can name it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from composer.errors import Problem, not_utf8

Loc = tuple[str | int, ...]
_CLOCK_LIKE = re.compile(r"^\d{1,2}[:.]\d{2}$")


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


class _Walker:
    """Turns a composed node tree into plain data, recording lines and duplicate keys."""

    def __init__(self, file: str):
        self.file = file
        self.loader = yaml.SafeLoader("")
        self.lines: dict[Loc, int] = {}
        self.duplicates: list[tuple[Loc, int]] = []

    def walk(self, node: yaml.Node, loc: Loc) -> Any:
        self.lines[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
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
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(child, loc + (i,)) for i, child in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode) and node.style is None and _CLOCK_LIKE.match(node.value):
            return node.value  # a time such as 10:30 or 10.30, not YAML 1.1's base-60 int or a float
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError):
            # An impossible date such as 2019-13-45: keep the text and let validation say why.
            return node.value


def load_yaml(path: Path, display: str) -> tuple[Located | None, list[Problem]]:
    """Parse one YAML file with the safe loader; syntax errors come back as problems."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None, [Problem(display, "file not found")]
    except UnicodeDecodeError as exc:
        return None, [not_utf8(display, exc)]
    except OSError as exc:
        return None, [Problem(display, f"cannot read the file: {exc}")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        reason = " ".join(filter(None, [exc.context, exc.problem]))
        if exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            reason += f" (the construct opened on line {exc.context_mark.line + 1})"
        return None, [Problem(display, f"YAML syntax error: {reason}", line)]
    except yaml.YAMLError as exc:
        return None, [Problem(display, f"YAML syntax error: {exc}")]
    if node is None:
        return Located(None, {(): 1}), []
    walker = _Walker(display)
    data = walker.walk(node, ())
    duplicates = [
        Problem(display, f"duplicate key {loc[-1]!r}: keep one of them", line, field_path(loc, data))
        for loc, line in walker.duplicates
    ]
    return Located(data, walker.lines), duplicates

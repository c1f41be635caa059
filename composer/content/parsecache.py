"""Parsed YAML files kept between runs, so that a command parses only the files changed since.

Parsing is most of loading a long history (about 4 ms an issue file: 0.6 s of every `check` at
150 issues). Each entry holds a file's plain data and line table as JSON, never code, and is used
only for a file whose bytes hash to the ones it was made from; a cache that is missing, damaged,
of another version or unwritable is simply not used. Validation always runs on the data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from composer.content.layout import cache_folder
from composer.content.yamlio import Located

CACHE_FILE = "parsed.json"  # in the project's cache folder (layout.cache_folder)
VERSION = 1
MAX_BYTES = 64_000_000  # larger is not a cache composer wrote: it is ignored


class Unreadable(ValueError):
    """An entry that is not one composer wrote."""


def encode(value: Any) -> Any:
    """YAML's plain values as JSON: mappings (keys of any type, in order) and dates tagged."""
    if isinstance(value, dict):
        return {"m": [[encode(key), encode(item)] for key, item in value.items()]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if value is None or isinstance(value, (str, int, float)):
        return value
    raise Unreadable(f"cannot keep a {type(value).__name__}")


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"m"} and isinstance(value["m"], list):
        return dict(_pair(pair) for pair in value["m"])
    if set(value) == {"t"} and isinstance(value["t"], str):
        return dt.datetime.fromisoformat(value["t"])
    if set(value) == {"d"} and isinstance(value["d"], str):
        return dt.date.fromisoformat(value["d"])
    raise Unreadable("an object with no known tag")


def _pair(pair: Any) -> tuple[str | int, Any]:
    """One key and value of a mapping; a key is text or a number, as yamlio makes them."""
    if not isinstance(pair, list) or len(pair) != 2:
        raise Unreadable("a mapping entry is not a pair")
    key = decode(pair[0])
    if not isinstance(key, (str, int)):
        raise Unreadable("a mapping key is neither text nor a number")
    return key, decode(pair[1])


class ParseCache:
    """The parsed files of one project, by name, each with the hash of the bytes it came from."""

    def __init__(self, root: Path):
        self.path = cache_folder(root) / CACHE_FILE
        self._entries: dict[str, Any] | None = None  # read when first asked (the preview rarely asks)
        self.changed = False

    @property
    def entries(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = {}
            try:
                if self.path.stat().st_size <= MAX_BYTES:
                    stored = json.loads(self.path.read_bytes())
                    if isinstance(stored, dict) and stored.get("version") == VERSION:
                        entries = stored.get("files")
                        self._entries = entries if isinstance(entries, dict) else {}
            except (OSError, ValueError, RecursionError):
                pass
        return self._entries

    @staticmethod
    def digest(data: bytes, *, aliases: bool) -> str:
        return hashlib.sha256(data + (b"\x00aliases" if aliases else b"")).hexdigest()

    def get(self, name: str, digest: str) -> Located | None:
        entry = self.entries.get(name)
        if not isinstance(entry, dict) or entry.get("digest") != digest:
            return None
        try:
            lines = {tuple(decode(loc)): line for loc, line in entry["lines"]}
            if not all(isinstance(line, int) for line in lines.values()):
                raise Unreadable("a line is not a number")
            return Located(decode(entry["data"]), lines)
        except (KeyError, TypeError, ValueError, RecursionError):
            del self.entries[name]
            self.changed = True
            return None

    def put(self, name: str, digest: str, located: Located) -> None:
        try:
            data = encode(located.data)
            lines = [[encode(list(loc)), line] for loc, line in located.lines.items()]
        except Unreadable:
            return
        self.entries[name] = {"digest": digest, "data": data, "lines": lines}
        self.changed = True

    def keep_only(self, names: set[str]) -> None:
        """Forget the files that are gone (of a cache that was read at all)."""
        if self._entries is None:
            return
        for name in set(self.entries) - names:
            del self.entries[name]
            self.changed = True

    def save(self) -> None:
        """Write the cache; a folder that cannot be written just goes without."""
        if not self.changed:
            return
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps({"version": VERSION, "files": self.entries}), encoding="utf-8")
            temporary.replace(self.path)
        except OSError:
            temporary.unlink(missing_ok=True)
        self.changed = False

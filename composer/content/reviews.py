"""Reviews: colleagues' comments and approvals of an issue, from the preview's review address.

Kept as one JSON line per entry in `.composer/reviews/<number>.jsonl` (name, time, text): lines
are only ever appended, so two reviewers posting at once cannot lose each other's words, and the
file reads well in an editor. The manager resolves a comment by appending a line that names it;
`composer send` mentions the comments not resolved yet (it does not block).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from composer.errors import ComposerError

REVIEWS_DIR = ".composer/reviews"
MAX_NAME = 80
MAX_TEXT = 4000

Kind = Literal["comment", "approve", "resolve"]
_append_lock = threading.Lock()  # one writer at a time within the preview's threads


@dataclass(frozen=True)
class Entry:
    """One line of the file: a comment, an approval, or the manager resolving the comment `of`."""

    kind: Kind
    name: str
    time: str  # ISO 8601 to the millisecond, with its offset: also the id a resolve line names
    text: str = ""
    of: str = ""


@dataclass(frozen=True)
class Reviews:
    """What the reviewers said about one issue, in the order they said it."""

    entries: tuple[Entry, ...]

    @property
    def comments(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "comment"]

    @property
    def approvals(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "approve"]

    @property
    def resolved(self) -> set[str]:
        return {e.of for e in self.entries if e.kind == "resolve"}

    @property
    def unresolved(self) -> list[Entry]:
        resolved = self.resolved
        return [e for e in self.comments if e.time not in resolved]


def reviews_path(root: Path, number: int) -> Path:
    return root / REVIEWS_DIR / f"{number}.jsonl"


def read_reviews(root: Path, number: int) -> Reviews:
    """The issue's reviews; a line that is not an entry (edited by hand, say) is skipped."""
    try:
        lines = reviews_path(root, number).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return Reviews(())
    except (OSError, UnicodeDecodeError) as exc:
        raise ComposerError(f"cannot read {REVIEWS_DIR}/{number}.jsonl: {exc}") from exc
    entries = []
    for line in lines:
        try:
            data = json.loads(line)
            kind = data["kind"]
            if kind not in get_args(Kind):
                continue
            fields = {key: str(data.get(key, "")) for key in ("name", "time", "text", "of")}
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
        entries.append(Entry(kind, **fields))
    return Reviews(tuple(entries))


def _clean(value: str, *, limit: int, lines: bool) -> str:
    """A reviewer's words without control characters (line breaks kept in a comment's text)."""
    kept = "".join(
        c for c in value if (lines and c == "\n") or unicodedata.category(c)[0] != "C" or c == "\t"
    )
    kept = kept.replace("\t", " ").strip()
    if len(kept) > limit:
        raise ComposerError(f"at most {limit} characters, please (this has {len(kept)})")
    return kept


def add_entry(root: Path, number: int, kind: Kind, *, name: str, text: str = "", of: str = "") -> Entry:
    """Append a comment, an approval or a resolve line (raises ComposerError on bad input)."""
    name = _clean(name, limit=MAX_NAME, lines=False)
    text = _clean(text.replace("\r\n", "\n"), limit=MAX_TEXT, lines=True)
    if not name:
        raise ComposerError("give your name, so that the manager knows whom to ask")
    if kind == "comment" and not text:
        raise ComposerError("write a comment first (or press Approve)")
    if kind == "resolve" and of not in {e.time for e in read_reviews(root, number).comments}:
        raise ComposerError("there is no such comment to resolve")
    when = dt.datetime.now().astimezone().isoformat(timespec="milliseconds")  # unique: resolves name it
    entry = Entry(kind, name, when, text, of)
    path = reviews_path(root, number)
    line = json.dumps({k: v for k, v in entry.__dict__.items() if v or k == "text"}, ensure_ascii=False)
    try:
        with _append_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as file:
                file.write(line + "\n")
    except OSError as exc:
        raise ComposerError(f"cannot write {REVIEWS_DIR}/{number}.jsonl: {exc.strerror or exc}") from exc
    return entry

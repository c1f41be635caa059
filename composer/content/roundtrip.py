"""Writing an issue file as a person would: only what changed changes.

The browser's editor sends the whole issue as plain data (JSON: dates as YYYY-MM-DD). What it
changed is found by comparing that with the file as `composer check` reads it (yamlio), and
only those values are set in the file's round-trip tree (ruamel.yaml), so that comments, key
order, block scalars, quoting and blank lines stay where the person left them. The file is
replaced atomically, and never over a version the editor did not load (its hash is compared).
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.tokens import CommentToken

from composer.content.layout import write_atomically
from composer.content.yamlio import parse_yaml
from composer.errors import ComposerError, ValidationFailed

# Keys whose text values are dates in the model: the form sends them as text.
DATE_KEYS = frozenset({"date", "deadline", "until", "end_date", "closes"})
# Lists a person writes on one line (`networks: [a, b]`), and mappings they write as one row.
FLOW_LISTS = frozenset({"networks", "contacts", "drop"})
FLOW_MAPPINGS = frozenset({"sessions", "links"})
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ChangedOnDisk(ComposerError):
    """The file changed since the editor loaded it: nothing is written; `diff` shows what saving
    now would do to the file as it is on disk (its change and the editor's, side by side)."""

    def __init__(self, message: str, diff: str, current: str):
        super().__init__(message)
        self.diff, self.current = diff, current  # current: the hash to save over the file on disk


@dataclass(frozen=True)
class Loaded:
    """An issue file as the editor gets it: its text, the hash a save must match, its data."""

    text: str
    digest: str
    data: dict[str, Any]


def digest_of(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def as_form(value: Any) -> Any:
    """Plain data as the form holds it (JSON): dates as text, everything else as it is."""
    if isinstance(value, dict):
        return {str(key): as_form(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_form(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _read(path: Path, display: str) -> tuple[bytes, str, dict[str, Any]]:
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except FileNotFoundError as exc:
        raise ComposerError(f"{display} is not there any more") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ComposerError(f"cannot read {display}: {exc}") from exc
    located, problems = parse_yaml(text, display, aliases=False)
    if located is None or problems:
        raise ValidationFailed(problems)
    data = located.data if isinstance(located.data, dict) else {}
    return raw, text, as_form(data)


def load_for_edit(path: Path, display: str) -> Loaded:
    """The file as the editor starts from it; a file that is not valid YAML cannot be edited here
    (its problems say where): a text editor mends it first."""
    raw, text, data = _read(path, display)
    return Loaded(text, digest_of(raw), data)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a line a person wrote
    yaml.indent(mapping=2, sequence=4, offset=2)  # `items:` then `  - id:`, as the examples are written
    return yaml


def apply_changes(text: str, base: dict[str, Any], new: dict[str, Any]) -> str:
    """`text` with the values that differ between `base` (what the file holds, as the form has
    it) and `new` set, and nothing else touched; a file written on Windows keeps its CRLF lines."""
    windows = "\r\n" in text
    text = text.replace("\r\n", "\n")
    yaml = _yaml()
    try:
        document = yaml.load(text)
    except YAMLError as exc:
        raise ComposerError(f"the file is not valid YAML: {exc}") from exc
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise ComposerError("the file does not hold a mapping of fields: mend it in a text editor")
    normal = _dump(yaml, document)  # before the change: dumping moves some comments, so load again
    document = yaml.load(text) or CommentedMap()
    _merge_map(document, base, new)
    edited = _dump(yaml, document)
    patched = keep_untouched(text, normal, edited)
    # The patch is only ever a shorter diff of the same document: if it were not, write ruamel's own.
    located, problems = parse_yaml(patched, "patched", aliases=False)
    expected, _ = parse_yaml(edited, "edited", aliases=False)
    if located is None or problems or expected is None or located.data != expected.data:
        patched = edited
    return patched.replace("\n", "\r\n") if windows else patched


def _dump(yaml: YAML, document: CommentedMap) -> str:
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def keep_untouched(original: str, normal: str, edited: str) -> str:
    """`edited` with every stretch the edit did not touch taken from `original`.

    ruamel re-emits a few things in its own layout (a flow mapping a person wrapped over two
    lines comes out on one), so its output with no change (`normal`) is not quite the file. The
    file is cut into stretches that line up with `normal` (the same lines, or lines ruamel laid
    out anew); a stretch the edit left as it was is copied from the file, any other from `edited`.
    """
    file, before, after = (text.splitlines(keepends=True) for text in (original, normal, edited))
    # where each line boundary of `normal` lands in `edited` (inside a change: at its start)
    landing = [0] * (len(before) + 1)
    assigned = [False] * (len(before) + 1)
    for tag, i1, i2, j1, _j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        for offset, boundary in enumerate(range(i1, i2 + 1)):
            if not assigned[boundary]:
                landing[boundary] = j1 + offset if tag == "equal" else j1
                assigned[boundary] = True
    out: list[str] = []
    for _tag, a1, a2, b1, b2 in difflib.SequenceMatcher(None, before, file, autojunk=False).get_opcodes():
        stretch = after[landing[a1] : landing[a2]]
        out += file[b1:b2] if stretch == before[a1:a2] else stretch
    return "".join(out)


def save_issue(
    path: Path, display: str, new: dict[str, Any], loaded_digest: str, loaded_text: str | None = None
) -> str:
    """Write the editor's version of the issue file and return the new hash.

    Refused (ChangedOnDisk) when the file is no longer the one the editor loaded: the message
    shows what changed on disk since (when `loaded_text`, the version the editor loaded, is
    known) and what saving now would change. Problems of the content do not stop a save (the
    YAML is always valid): they are checked afterwards, as for any file.
    """
    raw, text, base = _read(path, display)
    written = apply_changes(text, base, new)
    if digest_of(raw) != loaded_digest:
        theirs = _diff(loaded_text or text, text, "as you opened it", "on disk now", display)
        diff = _diff(text, written, "on disk now", "with your changes", display)
        raise ChangedOnDisk(
            f"{display} changed on disk since you opened it (in a text editor, or a git pull): "
            "nothing was saved. Below is what changed, and what saving yours over it would change; "
            "your draft is kept",
            (f"Changed on disk:\n{theirs}\n" if theirs else "") + f"Saving yours now:\n{diff}",
            digest_of(raw),
        )
    encoded = (codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b"") + written.encode("utf-8")
    if encoded != raw:
        write_atomically(path, encoded)
    return digest_of(encoded)


def _diff(before: str, after: str, old: str, new: str, display: str) -> str:
    lines = before.splitlines(keepends=True), after.splitlines(keepends=True)
    return "".join(difflib.unified_diff(*lines, f"{display} ({old})", f"{display} ({new})"))


def _merge_map(node: CommentedMap, base: dict[str, Any], new: dict[str, Any], parent: str = "") -> None:
    for key in [k for k in node if k not in new]:
        del node[key]
    for position, (key, value) in enumerate(new.items()):
        name = _name(parent, key)
        if key in node and key in base:
            if base[key] != value:
                node[key] = _merge(node[key], base[key], value, name)
        else:
            before = [k for k in list(new)[:position] if k in node]
            index = list(node).index(before[-1]) + 1 if before else 0
            if index == len(node) and node.ca.end:
                _end_comments_to_last_key(node)
            node.insert(index, key, _fresh(value, name))


def _end_comments_to_last_key(node: CommentedMap) -> None:
    """Comment lines at the end of the file stay under the key they follow (the scaffold's
    commented-out example tools under `tools:`) when a key is added after it."""
    text = "".join(token.value for token in node.ca.end)
    node.ca.end = []
    entry = node.ca.items.setdefault(list(node)[-1], [None, None, None, None])
    entry[2] = CommentToken("\n" + text, CommentMark(0), None)


def _name(parent: str, key: str) -> str:
    """What a value is, by its key; under `reminders.keep` the keys are ids and the values dates."""
    return "until" if parent == "keep" else key


def _merge(node: Any, base: Any, new: Any, key: str) -> Any:
    """The node for `new`, reusing `node` (and its comments and style) as far as it still fits."""
    if isinstance(node, CommentedMap) and isinstance(base, dict) and isinstance(new, dict):
        _merge_map(node, base, new, key)
        return node
    if isinstance(node, CommentedSeq) and isinstance(base, list) and isinstance(new, list):
        _merge_seq(node, base, new, key)
        return node
    if isinstance(new, (dict, list)):
        return _fresh(new, key)
    return _scalar(node, new, key)


def _match(base: list[Any], new: list[Any]) -> list[int | None]:
    """For each entry of `new`, the entry of `base` it continues: the same id, else the same value,
    else the same place (an entry edited where it stands)."""
    used: set[int] = set()
    found: list[int | None] = []
    for index, entry in enumerate(new):
        ident = _id(entry)
        candidates = [i for i, old in enumerate(base) if i not in used]
        pick = next((i for i in candidates if ident and _id(base[i]) == ident), None)
        if pick is None:
            pick = next((i for i in candidates if base[i] == entry), None)
        in_place = len(base) == len(new) and index in candidates
        if pick is None and in_place and type(base[index]) is type(entry):
            pick = index
        if pick is not None:
            used.add(pick)
        found.append(pick)
    return found


def _id(entry: Any) -> Any:
    return entry.get("id") if isinstance(entry, dict) else None


def _merge_seq(node: CommentedSeq, base: list[Any], new: list[Any], key: str) -> None:
    matched = _match(base, new)
    if matched == list(range(len(base))) and len(new) == len(base):
        for index, (old, value) in enumerate(zip(base, new, strict=True)):
            if old != value:
                node[index] = _merge(node[index], old, value, key)
        return
    entries = [
        _fresh(value, key) if old is None else _merge(node[old], base[old], value, key)
        for old, value in zip(matched, new, strict=True)
    ]
    comments = dict(node.ca.items)
    node.ca.items.clear()
    for index, old in enumerate(matched):
        if old is not None and old in comments:
            node.ca.items[index] = comments[old]
    del node[:]
    node.extend(entries)


def _fresh(value: Any, key: str) -> Any:
    """A new value, in the style a person writes it in this project's files."""
    if isinstance(value, dict):
        mapping = CommentedMap()
        for name, item in value.items():
            mapping[name] = _fresh(item, _name(key, name))
        if key in FLOW_MAPPINGS:
            mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list):
        sequence = CommentedSeq(_fresh(item, key) for item in value)
        if key in FLOW_LISTS or all(not isinstance(item, (dict, list)) for item in value):
            sequence.fa.set_flow_style()
        return sequence
    return _scalar(None, value, key)


def _scalar(old: Any, value: Any, key: str) -> Any:
    """A scalar in its old style where it had one: quoted stays quoted, a block stays a block."""
    if not isinstance(value, str):
        return value
    if (key in DATE_KEYS or isinstance(old, dt.date)) and _ISO_DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass  # an impossible date is kept as typed: validation says why
    if "\n" in value:  # text over lines, or a line ending as a block's does: a block, as a person writes
        block = FoldedScalarString if isinstance(old, FoldedScalarString) else LiteralScalarString
        return block(value)
    for style in (DoubleQuotedScalarString, SingleQuotedScalarString):
        if isinstance(old, style):
            return style(value)
    return value

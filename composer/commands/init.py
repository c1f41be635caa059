"""`composer init`: a new programme folder from the starter (or the example) shipped in the package.

The folder gets settings, contacts, networks, empty mailing lists, a first issue, the issue JSON
Schema for editors and a .gitignore, but no templates: the packaged ones serve until the
programme copies one to restyle it (`composer templates copy`).
"""

from __future__ import annotations

import datetime as dt
from importlib.resources.abc import Traversable
from pathlib import Path

from composer.content.templates import packaged
from composer.errors import ComposerError

SCHEMA = "schema/issue.schema.json"
FIRST_ISSUE = "issues/1.yaml"
# The example programme is the repository's own top level (in an editable install, the whole
# checkout): only these parts of it are the programme.
EXAMPLE_PARTS = ["composer.yaml", "contacts.yaml", "issues", "recipients"]
DATE_MARK = "$date"  # in the starter's first issue: replaced by the day of `composer init`


def init_project(folder: Path, *, example: bool = False, today: dt.date | None = None) -> list[Path]:
    """Write the starter (or example) programme into an empty or new folder; return the files."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ComposerError(f"{folder} is not an empty folder: give a new or empty folder to init")
    source = packaged("example" if example else "starter")
    parts = EXAMPLE_PARTS if example else [entry.name for entry in source.iterdir()]
    files = dict(found for part in parts for found in _files(source / part, part))
    if not example:
        date = (today or dt.date.today()).isoformat()
        files[FIRST_ISSUE] = files[FIRST_ISSUE].replace(DATE_MARK.encode(), date.encode())
    files[".gitignore"] = files.pop("gitignore", b"") or packaged("starter", "gitignore").read_bytes()
    files[SCHEMA] = packaged(*SCHEMA.split("/")).read_bytes()
    written = []
    for name, data in sorted(files.items()):
        path = folder / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:
            raise ComposerError(f"cannot write {exc.filename or path}: {exc.strerror or exc}") from exc
        written.append(path)
    return written


def _files(entry: Traversable, name: str) -> list[tuple[str, bytes]]:
    """A packaged data file, or every one under a packaged folder, by its path in the programme."""
    if not entry.is_dir():
        return [] if name.endswith((".py", ".pyc")) else [(name, entry.read_bytes())]
    found: list[tuple[str, bytes]] = []
    for child in entry.iterdir():
        if child.name != "__pycache__":
            found += _files(child, f"{name}/{child.name}")
    return found

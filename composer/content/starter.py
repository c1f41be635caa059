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
DATE_MARK = "$date"  # in the starter's first issue: replaced by the day of `composer init`


def init_project(folder: Path, *, example: bool = False, today: dt.date | None = None) -> list[Path]:
    """Write the starter (or example) programme into an empty or new folder; return the files."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ComposerError(f"{folder} is not an empty folder: give a new or empty folder to init")
    files = dict(_files(packaged("example" if example else "starter")))
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


def _files(source: Traversable, prefix: str = "") -> list[tuple[str, bytes]]:
    """Every data file under a packaged folder, by its path inside it."""
    found: list[tuple[str, bytes]] = []
    for entry in source.iterdir():
        if entry.is_dir():
            if entry.name != "__pycache__":
                found += _files(entry, f"{prefix}{entry.name}/")
        elif not entry.name.endswith((".py", ".pyc")):
            found.append((prefix + entry.name, entry.read_bytes()))
    return found

"""Where a programme folder keeps its files, how one is replaced whole, and where composer keeps
what it can make again."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import platformdirs

SETTINGS_FILE = "composer.yaml"
CONTACTS_FILE = "contacts.yaml"
NETWORKS_FILE = "recipients/networks.yaml"
ISSUES_DIR = "issues"
RECIPIENTS_DIR = "recipients"  # the networks and the mailing lists
TEMPLATES_DIR = "templates"  # the programme's own templates, each replacing a packaged one
WATCHED = (
    SETTINGS_FILE,
    CONTACTS_FILE,
    ISSUES_DIR,
    TEMPLATES_DIR,
    RECIPIENTS_DIR,
)  # what the project is read from
CACHE_VARIABLE = "COMPOSER_CACHE_DIR"  # overrides the user's cache folder (tests, a shared machine)


def cache_folder(root: Path) -> Path:
    """This project's caches (parsed issue files, link answers): in the user's cache folder, never
    in the project, so that a command that only reads (check, lists, send --dry-run) writes
    nothing there. One folder per project, named by its path; deleting it only costs time."""
    base = os.environ.get(CACHE_VARIABLE) or platformdirs.user_cache_dir("composer", appauthor=False)
    return Path(base) / hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]


Snapshot = dict[Path, tuple[int, int, int]]


def snapshot(root: Path, names: Iterable[str] = WATCHED) -> Snapshot:
    """Inode, size and mtime of every watched file: any edit, even an atomic save, changes it."""
    found: Snapshot = {}
    for name in names:
        top = root / name
        for path in [top, *top.rglob("*")] if top.is_dir() else [top]:
            try:
                info = path.stat()
            except OSError:
                continue
            if not path.is_dir():
                found[path] = (info.st_ino, info.st_size, info.st_mtime_ns)
    return found


def write_atomically(path: Path, data: bytes) -> None:
    """A temporary file beside the target, then a rename: readers see the old file or the new."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

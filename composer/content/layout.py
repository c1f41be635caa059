"""Where a programme folder keeps its files, and where composer keeps what it can make again."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import platformdirs

SETTINGS_FILE = "composer.yaml"
CONTACTS_FILE = "contacts.yaml"
NETWORKS_FILE = "recipients/networks.yaml"
ISSUES_DIR = "issues"
CACHE_VARIABLE = "COMPOSER_CACHE_DIR"  # overrides the user's cache folder (tests, a shared machine)


def cache_folder(root: Path) -> Path:
    """This project's caches (parsed issue files, link answers): in the user's cache folder, never
    in the project, so that a command that only reads (check, lists, send --dry-run) writes
    nothing there. One folder per project, named by its path; deleting it only costs time."""
    base = os.environ.get(CACHE_VARIABLE) or platformdirs.user_cache_dir("composer", appauthor=False)
    return Path(base) / hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]

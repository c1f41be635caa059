"""`composer archive`: the web archive of every issue, a page per edition, with calendar files."""

from __future__ import annotations

from pathlib import Path

from composer.web.archive import ArchiveResult, build_archive
from composer.workspace import Workspace


def archive(root: Path, *, out: Path | None = None) -> ArchiveResult:
    """Write the archive into `out` (default: site/ in the project)."""
    workspace = Workspace(root)
    return build_archive(workspace.project, workspace.lists, out=out)

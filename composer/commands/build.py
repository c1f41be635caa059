"""`composer build`: every edition of an issue written as the files that will be sent."""

from __future__ import annotations

from pathlib import Path

from composer.email.build import BuildResult, build_issue
from composer.workspace import Workspace


def build(root: Path, ref: str | None = None, *, out: Path | None = None) -> BuildResult:
    """Build one issue (default: the latest) into `out` (default: build/<number>/ in the project)."""
    workspace = Workspace(root)
    return build_issue(
        workspace.project, ref, out=out, renderer=workspace.renderer
    )  # lists read once it passes

"""`composer templates`: the packaged templates, and copies of them in the project to restyle."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from composer.content.layout import TEMPLATES_DIR
from composer.content.templates import CopiedTemplates, copy_templates, packaged_names


def listed(root: Path) -> list[tuple[str, bool]]:
    """Every packaged template's name, and whether the project has its own copy."""
    return [(name, (root / TEMPLATES_DIR / name).exists()) for name in packaged_names()]


def copy(root: Path, names: Iterable[str] = (), *, force: bool = False) -> CopiedTemplates:
    """Copy packaged templates (default: all) into the project's templates/; never over its own
    copies unless `force`."""
    return copy_templates(root, names, force=force)

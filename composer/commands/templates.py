"""`composer templates list`: the packaged templates, and which the project has its own copy of
(`templates copy` is content.templates.copy_templates itself)."""

from __future__ import annotations

from pathlib import Path

from composer.content.layout import TEMPLATES_DIR
from composer.content.templates import packaged_names


def listed(root: Path) -> list[tuple[str, bool]]:
    """Every packaged template's name, and whether the project has its own copy."""
    return [(name, (root / TEMPLATES_DIR / name).exists()) for name in packaged_names()]

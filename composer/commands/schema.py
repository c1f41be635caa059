"""`composer schema`: the JSON Schema of issue files, for editors that complete and check fields."""

from __future__ import annotations

import json
from pathlib import Path

from composer.content.model import issue_json_schema
from composer.errors import ComposerError


def schema(out: Path | None = None) -> str:
    """The schema as JSON text; written to `out` when given."""
    text = json.dumps(issue_json_schema(), indent=2) + "\n"
    if out is not None:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ComposerError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return text

"""The README stays true: every setting and every command is documented there."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from composer.cli import main
from composer.content.settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def setting_names(model: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    for name, field in model.model_fields.items():
        names.add(field.alias or name)
        annotation = field.annotation
        for candidate in getattr(annotation, "__args__", (annotation,)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                names |= setting_names(candidate)
    return names


def documented_keys(text: str) -> set[str]:
    """The YAML keys a text shows, whole: `archive_url:` does not document `url:`."""
    return set(re.findall(r"(?<![\w-])([a-z_]+):", text))


def test_a_key_is_documented_only_by_its_whole_name() -> None:
    assert documented_keys("archive_url: x\n  plan: {title: y}") == {"archive_url", "plan", "title"}


def test_every_setting_is_documented() -> None:
    missing = sorted(setting_names(Settings) - documented_keys(README))
    assert not missing, f"settings missing from README.md: {missing}"


def test_every_command_is_documented() -> None:
    missing = sorted(name for name in main.commands if f"`composer {name}" not in README)
    assert not missing, f"commands missing from README.md: {missing}"

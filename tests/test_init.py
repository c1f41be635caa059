"""`composer init` and `composer templates`: a programme folder of its own, restyled file by file."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import Cli
from pydantic import BaseModel
from pydantic_core import PydanticUndefined
from test_docs import setting_names

from composer.cli import main
from composer.commands.build import build
from composer.commands.check import check
from composer.commands.init import init_project
from composer.content.loading import load_project
from composer.content.settings import Settings
from composer.content.templates import copy_templates, packaged, packaged_names
from composer.errors import ComposerError

REPO = Path(__file__).resolve().parent.parent


def test_init_writes_a_starter_that_checks_clean(tmp_path: Path) -> None:
    folder = tmp_path / "programme"
    written = init_project(folder, today=dt.date(2026, 1, 9))
    names = sorted(str(path.relative_to(folder)) for path in written)
    assert names == [
        ".gitignore",
        "composer.yaml",
        "contacts.yaml",
        "issues/1.yaml",
        "recipients/members.csv",
        "recipients/networks.yaml",
        "recipients/suppressed.csv",
        "schema/issue.schema.json",
    ]
    assert not (folder / "templates").exists()
    header = "email,first_name,name,organisation,networks\n"
    assert (folder / "recipients" / "members.csv").read_text() == header
    assert set((folder / ".gitignore").read_text().split()) >= {"build/", "outbox/", "site/", ".composer/"}
    report = check(folder, None)
    assert report.errors == []
    assert report.issue.number == 1 and report.issue.issue.date == dt.date(2026, 1, 9)


def test_the_starter_settings_show_every_setting() -> None:
    text = packaged("starter", "composer.yaml").read_text(encoding="utf-8")
    keys = set(re.findall(r"\b([a-z_]+):", text))
    missing = sorted(setting_names(Settings) - keys)
    assert not missing, f"settings missing from the starter composer.yaml: {missing}"


def test_init_example_writes_the_example_programme(tmp_path: Path) -> None:
    folder = tmp_path / "example"
    init_project(folder, example=True)
    for name in ("composer.yaml", "contacts.yaml", "recipients/members.csv", "issues/377.yaml"):
        assert (folder / name).read_bytes() == (REPO / name).read_bytes()
    assert not (folder / "templates").exists()
    assert check(folder, None).errors == []


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path, run_cli: Cli) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    result = run_cli(None, "init", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{tmp_path} is not an empty folder" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_init_then_check_from_the_command_line(tmp_path: Path, run_cli: Cli) -> None:
    created = run_cli(None, "init", "programme", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    checked = run_cli(None, "check", cwd=tmp_path / "programme")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 error(s)" in checked.stdout


def test_overriding_one_template_changes_only_that_part(tmp_path: Path) -> None:
    folder = tmp_path / "programme"
    init_project(folder, example=True)
    before = build(folder, "377", out=tmp_path / "before")
    (folder / "templates").mkdir()
    text = packaged("templates", "email.txt.j2").read_text(encoding="utf-8")
    own = text.replace("{% set rule", "OUR OWN HEADER\n{% set rule", 1)
    (folder / "templates" / "email.txt.j2").write_text(own, encoding="utf-8")
    after = build(folder, "377", out=tmp_path / "after")
    for old, new in zip(before.editions, after.editions, strict=True):
        assert new.text.read_text() == "OUR OWN HEADER\n" + old.text.read_text()
        assert new.html.read_text() == old.html.read_text()
    (folder / "templates" / "email.txt.j2").unlink()
    (folder / "templates" / "_item.txt.j2").write_text("ITEM {{ item.id }}\n", encoding="utf-8")
    items = build(folder, "377", out=tmp_path / "items")
    full = items.editions[0].text.read_text()
    assert "ITEM " + load_project(folder).issues[-1].issue.items[0].id in full
    assert full.splitlines()[0] == before.editions[0].text.read_text().splitlines()[0]


def test_templates_copy_never_overwrites_silently(tmp_path: Path) -> None:
    ours = tmp_path / "templates" / "email.css.j2"
    ours.parent.mkdir()
    ours.write_text("/* ours */\n", encoding="utf-8")
    result = copy_templates(tmp_path, ["email.css.j2", "preview"])
    assert result.kept == [ours] and ours.read_text() == "/* ours */\n"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in result.copied) == [
        "templates/preview/_verdict.html.j2",
        "templates/preview/base.html.j2",
        "templates/preview/edit.html.j2",
        "templates/preview/index.html.j2",
        "templates/preview/issue.html.j2",
    ]
    assert copy_templates(tmp_path, ["templates/email.css.j2"], force=True).copied == [ours]
    assert ours.read_bytes() == packaged("templates", "email.css.j2").read_bytes()
    with pytest.raises(ComposerError, match="no packaged template 'emial.css.j2'"):
        copy_templates(tmp_path, ["emial.css.j2"])


def test_templates_copy_all_from_the_command_line(tmp_path: Path, run_cli: Cli) -> None:
    result = run_cli(None, "templates", "copy", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "templates"
    copied = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.j2"))
    assert copied == packaged_names()
    again = run_cli(None, "templates", "copy", "email.mjml.j2", cwd=tmp_path)
    assert again.returncode == 0 and "kept" in again.stderr and "--force" in again.stderr
    listed = run_cli(None, "templates", "list", cwd=tmp_path)
    assert "email.mjml.j2  (the project's own)" in listed.stdout


def _default_at(path: list[str]) -> object:
    """The real default of a setting by its path in composer.yaml; None for one without a default."""
    model: type[BaseModel] = Settings
    value: object = None
    for key in path:
        (field,) = [f for name, f in model.model_fields.items() if key in (name, f.alias)]
        value = field.get_default(call_default_factory=True, validated_data={})  # pydantic 2.10 needs it
        if isinstance(value, BaseModel):
            model = type(value)
        elif value is PydanticUndefined:
            value = None
            model = field.annotation  # type: ignore[assignment]  # a required section: its model
    return value


_SETTING = re.compile(r"^(?P<lead> *)(?P<mark># +)?(?P<key>[a-z_]+):(?P<value>.*)$")


def test_every_default_the_starter_shows_is_the_real_one() -> None:
    """Commented settings show their default; those without one (None) show an example."""
    text = packaged("starter", "composer.yaml").read_text(encoding="utf-8")
    path: list[tuple[int, str]] = []
    checked = 0
    for line in text.splitlines():
        match = _SETTING.match(line)
        if match is None:
            continue
        indent = len(match["lead"]) + (len(match["mark"]) - 2 if match["mark"] else 0)
        path = [(level, key) for level, key in path if level < indent] + [(indent, match["key"])]
        shown = yaml.safe_load(f"value:{match['value']}")["value"]  # the value, its comment left out
        if not match["mark"] or shown is None:
            continue
        default = _default_at([key for _, key in path])
        if default is None or default == []:
            continue  # an example of an optional setting
        where = ".".join(key for _, key in path)
        assert shown == default, f"{where}: shows {shown!r}, is {default!r}"
        checked += 1
    assert checked > 30


def test_every_readme_section_the_starter_names_exists() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^#+ (.+)$", readme, re.M))
    named = []
    for name in ("composer.yaml", "contacts.yaml", "issues/1.yaml"):
        text = re.sub(r"\n#\s*", " ", packaged("starter", *name.split("/")).read_text(encoding="utf-8"))
        named += re.findall(r'README\'s\s+"([^"]+)"|"([^"]+)"\s+in the README', text)
    sections = [a or b for a, b in named]
    assert sections and all(section in headings for section in sections), sections


def test_new_after_init_explains_what_blocks_an_earlier_start(tmp_path: Path) -> None:
    folder = tmp_path / "programme"
    init_project(folder, today=dt.date(2026, 12, 5))
    result = CliRunner().invoke(
        main, ["new", "--number", "478", "--date", "2021-11-05", "--project", str(folder)]
    )
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert "not after the latest issue's date 2026-12-05 (issues/1.yaml, the first issue" in message
    assert "delete issues/1.yaml and run this again" in message
    (folder / "issues" / "1.yaml").unlink()
    args = ["new", "--number", "478", "--date", "2021-11-05", "--project", str(folder)]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert (folder / "issues" / "478.yaml").is_file()

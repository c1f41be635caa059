"""`composer new` writes next week's file with its carry-forward listed, and never overwrites."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from composer.cli import main
from composer.content.carry import plan_for
from composer.content.model import issue_json_schema
from composer.content.project import load_project

REPO = Path(__file__).resolve().parent.parent


def test_new_writes_the_next_issue_with_its_reminders(example: Path) -> None:
    before = load_project(example)
    latest = before.issues[-1].issue
    result = CliRunner().invoke(main, ["new", "--project", str(example)])
    assert result.exit_code == 0, result.output
    path = example / "issues" / f"{latest.number + 1}.yaml"
    assert str(path.relative_to(example)) in result.output
    after = load_project(example)
    created = after.find(str(latest.number + 1)).issue
    assert (created.date - latest.date).days == 7
    assert created.items == []
    text = path.read_text()
    plan = plan_for(after, created.number)
    assert plan.reminders, "the example history carries something into next week"
    for reminder in plan.reminders:
        assert f"#   - {reminder.item.id}: {reminder.item.title}" in text
    assert after.problems_for(created.number) == []


def test_new_never_overwrites(example: Path) -> None:
    assert CliRunner().invoke(main, ["new", "--project", str(example)]).exit_code == 0
    path = sorted((example / "issues").glob("*.yaml"))[-1]
    path.write_text(path.read_text() + "# my edits\n")
    again = CliRunner().invoke(main, ["new", "--date", "2030-01-04", "--project", str(example)])
    assert again.exit_code == 0  # a new number, a new file
    same_date = CliRunner().invoke(main, ["new", "--date", "2019-01-04", "--project", str(example)])
    assert same_date.exit_code == 1 and "not after" in same_date.output
    assert path.read_text().endswith("# my edits\n")


def test_new_refuses_an_existing_file(example: Path) -> None:
    project = load_project(example)
    target = example / "issues" / f"{project.issues[-1].number + 1}.yaml"
    target.write_text("number: [broken\n")
    result = CliRunner().invoke(main, ["new", "--project", str(example)])
    assert result.exit_code == 1 and "already exists" in result.output
    assert target.read_text() == "number: [broken\n"


def test_shipped_schema_matches_the_model() -> None:
    shipped = json.loads((REPO / "schema" / "issue.schema.json").read_text())
    assert shipped == issue_json_schema(), "run `make schema` to regenerate schema/issue.schema.json"


def test_example_issues_name_the_schema() -> None:
    for path in sorted((REPO / "issues").glob("*.yaml")):
        assert path.read_text().startswith("# yaml-language-server: $schema=../schema/issue.schema.json")

"""`composer new` writes next week's file with its carry-forward listed, and never overwrites."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from conftest import Cli, copy_example

from composer.cli import main
from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.content.model import issue_json_schema

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


def uncomment_example_item(path: Path) -> None:
    """What a user does: remove the `#` of the example item's lines under `items:`."""
    lines, inside = [], False
    for line in path.read_text().splitlines():
        inside = line.startswith("items:") or (inside and not line.startswith("tools:"))
        lines.append(line[1:] if inside and line.startswith("#  ") else line)
    path.write_text("\n".join(lines) + "\n")


def test_first_issue_mid_stream_explains_carried_items(tmp_path: Path) -> None:
    project = copy_example(tmp_path / "project")
    for path in (project / "issues").glob("*.yaml"):
        path.unlink()
    result = CliRunner().invoke(
        main, ["new", "--date", "2021-11-26", "--number", "478", "--project", str(project)]
    )
    assert result.exit_code == 0, result.output
    text = (project / "issues" / "478.yaml").read_text()
    assert "number: 478" in text and "carried:" in text and "first_published: 476" in text


def test_uncommented_example_is_reported_at_the_lines_to_fill_in(example: Path, run_cli: Cli) -> None:
    assert CliRunner().invoke(main, ["new", "--project", str(example)]).exit_code == 0
    path = sorted((example / "issues").glob("*.yaml"), key=lambda p: int(p.stem))[-1]
    uncomment_example_item(path)
    result = run_cli(example, "check", path.stem)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "YAML syntax error" not in result.stderr
    lines = path.read_text().splitlines()
    date_line = next(n for n, line in enumerate(lines, 1) if "- {date: YYYY-MM-DD" in line)
    deadline_line = next(n for n, line in enumerate(lines, 1) if "deadline: YYYY-MM-DD" in line)
    assert f"{path.name}:{date_line}: items[short-stable-id].event.sessions[0].date" in result.stderr
    assert f"{path.name}:{deadline_line}: items[short-stable-id].deadline" in result.stderr


def test_new_number_and_date_gaps_are_warnings_naming_both_issues(example: Path) -> None:
    result = CliRunner().invoke(
        main, ["new", "--number", "379", "--date", "2019-12-06", "--project", str(example)]
    )
    assert result.exit_code == 0, result.output
    assert "issue numbers jump from 377 (issues/377.yaml) to 379" in result.output
    assert "is 28 days after issue 377's date 2019-11-08 (issues/377.yaml)" in result.output
    check = CliRunner().invoke(main, ["check", "379", "--project", str(example)])
    assert "jump from 377" in check.output and "28 days after" in check.output
    refused = CliRunner().invoke(main, ["new", "--number", "379", "--project", str(example)])
    assert refused.exit_code == 1 and "not after the latest issue's number 379" in refused.output

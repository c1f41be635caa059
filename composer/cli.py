"""The `composer` command: parses options, calls one core function, prints the result.

Each command imports its core lazily so `composer --help` stays fast, and every ComposerError
becomes a message and an exit code here, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from composer.errors import ComposerError, Problem, ValidationFailed

F = TypeVar("F", bound=Callable[..., Any])

project_option = click.option(
    "--project",
    "-C",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The project folder (where composer.yaml is).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        colour = "red" if problem.severity == "error" else "yellow"
        click.secho(str(problem), fg=colour, err=True)


def handle_errors(command: F) -> F:
    """The one place where our errors become output and an exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ValidationFailed as exc:
            print_problems(exc.problems)
            errors = sum(p.severity == "error" for p in exc.problems)
            click.secho(f"{errors} error(s): nothing was written or sent.", fg="red", err=True)
            sys.exit(exc.exit_code)
        except ComposerError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="composer")
def main() -> None:
    """Write the weekly Update once in YAML; preview, check, build and send it."""


@main.command()
@click.argument("issue", required=False)
@project_option
@json_option
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@handle_errors
def check(issue: str | None, root: Path, as_json: bool, strict: bool) -> None:
    """Check ISSUE (number or path; default: the latest) and show its carry-forward plan."""
    from composer.check import check_issue

    report = check_issue(root, issue)
    if as_json:
        echo_json(report.as_dict())
    else:
        print_problems(report.problems)
        click.echo(format_plan(report.plan, report.file))
        click.echo(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    if report.errors or (strict and report.warnings):
        sys.exit(1)


def format_plan(plan: Any, file: str) -> str:
    from composer.carry import long_date

    issue = plan.issue
    lines = [f"Update No {issue.number} · {long_date(issue.date)}  ({file})"]
    lines.append(f"This week's items ({len(issue.items)}):")
    lines += [f"  {item.id}: {item.title}" for item in issue.items]
    lines.append(f"Reminders from previous weeks ({len(plan.reminders)}):")
    for r in plan.reminders:
        lines.append(f"  {r.item.id}: {r.item.title}")
        lines.append(
            f"      from issue {r.first_issue}"
            + (f" (text of issue {r.version_issue})" if r.version_issue != r.first_issue else "")
            + f"; {r.reason}; until {long_date(r.until)}"
        )
    lines.append(f"Tools & Templates ({len(plan.tools)}):")
    lines += [f"  {t.tool.title} (added in issue {t.issue})" for t in plan.tools]
    return "\n".join(lines)


@main.command()
@click.option("--date", "date", type=click.DateTime(["%Y-%m-%d"]), help="The issue's date (default: a week after the latest).")
@project_option
@handle_errors
def new(date: dt.datetime | None, root: Path) -> None:
    """Write next week's issue file and list the reminders it will carry."""
    from composer.project import load_project
    from composer.scaffold import new_issue

    project = load_project(root)
    created = new_issue(project, date=date.date() if date else None)
    click.echo(format_plan(created.plan, project.rel(created.path)))
    click.echo(project.rel(created.path))


@main.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of printing.")
@handle_errors
def schema(out: Path | None) -> None:
    """Print the JSON Schema of issue files (editors use it to complete and check fields)."""
    from composer.model import issue_json_schema

    text = json.dumps(issue_json_schema(), indent=2) + "\n"
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)

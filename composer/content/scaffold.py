"""`composer new`: next week's issue file, with the reminders it will carry listed in a comment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from composer.content import templates
from composer.content.carry import Plan, long_date, plan_issue
from composer.content.layout import ISSUES_DIR
from composer.content.model import Issue
from composer.content.project import Project
from composer.content.references import sequence_warnings
from composer.errors import ComposerError, Problem

TEMPLATE = "new-issue.yaml.j2"


@dataclass(frozen=True)
class NewIssue:
    """What `composer new` wrote: the file, and the warnings about its number and date."""

    path: Path
    file: str  # the path as shown, from the project folder
    plan: Plan
    warnings: list[Problem] = field(default_factory=list)


def new_issue(project: Project, *, date: dt.date | None = None, number: int | None = None) -> NewIssue:
    """Write the file for the issue after the latest one (or `number`); never overwrite a file."""
    latest = project.issues[-1].issue if project.issues else None
    if date is None:
        if latest is None:
            raise ComposerError("there is no issue yet to follow: give the first one's date with --date")
        date = latest.date + dt.timedelta(weeks=1)
    if number is None:
        number = latest.number + 1 if latest else 1
    if latest and number <= latest.number:
        raise ComposerError(
            f"--number {number} is not after the latest issue's number {latest.number}"
            + _what_to_do(project, "number")
        )
    if latest and date <= latest.date:
        raise ComposerError(
            f"--date {date} is not after the latest issue's date {latest.date}" + _what_to_do(project, "date")
        )
    path = project.root / ISSUES_DIR / f"{number}.yaml"
    if path.exists():
        raise ComposerError(f"{project.rel(path)} already exists: edit it, or remove it first")
    draft = Issue(number=number, date=date)
    plan = plan_issue(
        [s.issue for s in project.issues] + [draft],
        number,
        default_weeks=project.settings.reminders.default_weeks,
        retention_weeks=project.settings.tools.retention_weeks,
    )
    env = templates.Templates(
        project.root,
        autoescape=False,  # YAML output: values are written through the `yaml` filter below
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["long_date"] = long_date
    text = env.render(TEMPLATE, {"issue": draft, "plan": plan, "first": latest is None})
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    warnings = []
    if project.issues:
        previous = project.issues[-1]
        warnings = sequence_warnings(
            project.rel(previous.path), previous.issue, project.rel(path), draft, None
        )
    return NewIssue(path, project.rel(path), plan, warnings)


def _what_to_do(project: Project, option: str) -> str:
    """Why the latest issue is in the way, and what to do: after `composer init`, the starter's
    first issue stands in the way of a programme that starts from an earlier Update."""
    latest = project.issues[-1]
    file = project.rel(latest.path)
    if len(project.issues) == 1 and latest.issue.number == 1:
        return (
            f" ({file}, the first issue that `composer init` writes, dated the day it ran). To start "
            f"from an Update your programme has already reached, delete {file} and run this again "
            '(see "Starting mid-stream" in the README)'
        )
    return f" ({file}): give a later --{option}"

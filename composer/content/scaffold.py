"""`composer new`: next week's issue file, with the reminders it will carry listed in a comment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import jinja2

from composer.content import templates
from composer.content.carry import Plan, long_date, plan_issue
from composer.content.model import Issue
from composer.content.project import ISSUES_DIR, Project
from composer.errors import ComposerError

TEMPLATE = "new-issue.yaml.j2"


@dataclass(frozen=True)
class NewIssue:
    path: Path
    plan: Plan


def new_issue(project: Project, *, date: dt.date | None = None) -> NewIssue:
    """Write the file for the issue after the latest one; never overwrite an existing file."""
    latest = project.issues[-1].issue if project.issues else None
    if date is None:
        if latest is None:
            raise ComposerError("there is no issue yet to follow: give the first one's date with --date")
        date = latest.date + dt.timedelta(weeks=1)
    number = latest.number + 1 if latest else 1
    if latest and date <= latest.date:
        raise ComposerError(f"--date {date} is not after the latest issue's date {latest.date}")
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
    text = env.render(TEMPLATE, {"issue": draft, "plan": plan})
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    return NewIssue(path, plan)

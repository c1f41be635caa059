"""`composer check`: one report of everything wrong with an issue and what it will carry forward."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from composer.carry import Plan
from composer.errors import Problem, ValidationFailed
from composer.project import Project, SourcedIssue, load_project


@dataclass(frozen=True)
class CheckReport:
    issue: SourcedIssue
    file: str
    plan: Plan
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def as_dict(self) -> dict[str, object]:
        return {
            "issue": self.issue.number,
            "file": self.file,
            "ok": not self.errors,
            "problems": [p.as_dict() for p in self.problems],
            "plan": self.plan.as_dict(),
        }


def check_issue(root: Path, ref: str | None = None) -> CheckReport:
    """Validate the shared files and the issue (with the issues before it) and plan its reminders."""
    project = load_project(root)
    return check_loaded(project, ref)


def check_loaded(project: Project, ref: str | None = None) -> CheckReport:
    sourced = project.find(ref)
    problems = project.problems_for(sourced.number)
    if any(p.severity == "error" for p in problems):
        raise ValidationFailed(problems)
    return CheckReport(sourced, project.rel(sourced.path), project.plan(sourced.number), problems)

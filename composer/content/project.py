"""A programme folder as loaded: settings, contacts, networks and every issue, with their problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from composer.content.layout import ISSUES_DIR
from composer.content.model import Contact, Issue, Network
from composer.content.settings import Settings
from composer.content.yamlio import Located
from composer.errors import IssueNotFound, Problem, ValidationFailed, display_path


@dataclass(frozen=True)
class SourcedIssue:
    """A validated issue with the file it came from (for messages that point at lines)."""

    issue: Issue
    path: Path
    located: Located

    @property
    def number(self) -> int:
        return self.issue.number


@dataclass
class Project:
    """A programme folder loaded and validated: settings, contacts, networks and every issue.

    Commands work from this one object; files that failed to load are kept as problems (with
    their lines) beside what did load, so that every problem is reported at once.
    """

    root: Path
    settings: Settings
    settings_lines: Located
    contacts: dict[str, Contact]
    networks: dict[str, Network]
    issues: list[SourcedIssue]
    problems: dict[Path, list[Problem]] = field(default_factory=dict)
    broken: dict[Path, int | None] = field(default_factory=dict)
    contact_lines: dict[str, int | None] = field(default_factory=dict)
    _names: dict[Path, str] = field(default_factory=dict, repr=False, compare=False)

    def rel(self, path: Path) -> str:
        if path not in self._names:  # resolving a path is slow, and asked for every problem
            self._names[path] = display_path(path, self.root)
        return self._names[path]

    def find(self, ref: str | int | None = None) -> SourcedIssue:
        """An issue by number or path; the latest when ref is None."""
        if ref is None:
            newest = self.issues[-1].number if self.issues else 0
            newer_broken = [p for p, n in self.broken.items() if n is None or n > newest]
            if newer_broken:
                raise ValidationFailed([p for path in newer_broken for p in self.problems[path]])
            if self.issues:
                return self.issues[-1]
            raise IssueNotFound(f"no issues in {self.root / ISSUES_DIR}: run `composer new --date DATE`")
        text = str(ref)
        if text.isdigit():
            for sourced in self.issues:
                if sourced.number == int(text):
                    return sourced
        else:
            wanted = Path(text).resolve()
            for sourced in self.issues:
                if sourced.path.resolve() == wanted:
                    return sourced
        for path, number in self.broken.items():
            if (text.isdigit() and number == int(text)) or Path(text).resolve() == path.resolve():
                raise ValidationFailed(self.problems_for(number) if number else self.problems[path])
        raise IssueNotFound(f"no issue {text!r}: give an issue number or the path of an issue file")

    def problems_for(self, number: int) -> list[Problem]:
        """Problems that affect issue `number`: the shared files and every issue up to it."""
        numbers = self.file_numbers()
        relevant: list[Problem] = []
        for path, problems in self.problems.items():
            issue_number = numbers.get(path)
            if issue_number is None or issue_number <= number:
                relevant.extend(problems)
        return relevant

    def file_numbers(self) -> dict[Path, int | None]:
        """The issue number of each issue file (None where a broken file has none): looked up by path."""
        return {**self.broken, **{sourced.path: sourced.number for sourced in self.issues}}

"""The project's one error module: every failure a user can cause is a ComposerError.

The CLI turns these into a message and an exit code; nothing else catches them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding in one file, located as precisely as we can (file, line, field path)."""

    file: str
    message: str
    line: int | None = None
    field: str = ""
    severity: Severity = "error"

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        field = f" {self.field}:" if self.field else ""
        label = "" if self.severity == "error" else " warning:"
        return f"{where}:{label}{field} {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "severity": self.severity,
            "message": self.message,
        }


class Findings:
    """What holds `problems` (a check, the lists, the links): its errors and warnings, apart."""

    if TYPE_CHECKING:  # a field of some, a property of others: declared for the checker alone

        @property
        def problems(self) -> list[Problem]: ...

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def not_utf8(file: str, exc: UnicodeDecodeError) -> Problem:
    """A file that is not UTF-8, named at the line and column of its first bad byte, as an editor counts."""
    data = bytes(exc.object)
    before = data[: exc.start]
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
    return Problem(
        file,
        f"column {column}: byte 0x{data[exc.start]:02X} is not UTF-8: save the file as UTF-8",
        before.count(b"\n") + 1,
    )


def display_path(path: Path, root: Path | None = None) -> str:
    """A path as the user would type it: relative to the project when it is inside it."""
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


class ComposerError(Exception):
    """Base of every error the user can cause or fix."""

    exit_code = 1


class ValidationFailed(ComposerError, Findings):
    """Files did not validate; carries every problem found, errors and warnings alike."""

    problems: list[Problem]

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(self.errors)} error(s) found")


class IssueNotFound(ComposerError):
    """The ISSUE argument names no issue file."""


class SendingError(ComposerError):
    """Sending cannot start or had to stop (server down, account locked, bad configuration)."""


class TokenError(ComposerError):
    """An unsubscribe token that is malformed or was not made with this programme's secret."""


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """A hint naming the closest known word (difflib's ratio), or "" when none is close: the
    message for a misspelt key or id says what was probably meant."""
    close = difflib.get_close_matches(word, sorted(set(known)), n=1, cutoff=0.6)
    return f": did you mean {close[0]!r}?" if close else ""

"""`composer archive`: the issues as static web pages, where each email's "view in browser" points.

Every link inside the folder is relative (including links the email makes to the archive's own
public URL), so the folder can be published anywhere or opened straight from disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from composer.content import templates
from composer.content.carry import long_date, plan_for
from composer.content.model import Issue
from composer.content.project import load_project
from composer.content.settings import Settings
from composer.email.editions import FULL
from composer.email.render import Edition, Renderer, fill_placeholders, reader_values
from composer.errors import ComposerError, ValidationFailed
from composer.web.calendar import issue_calendars

INDEX = "index.html"
_BODY = re.compile(r"<body\b[^>]*>", re.I)


@dataclass(frozen=True)
class ArchiveResult:
    out: Path
    pages: list[Path] = field(default_factory=list)
    calendars: list[Path] = field(default_factory=list)


def relative_links(html: str, settings: Settings) -> str:
    """Point the email's links to archive pages and calendar files at their place in the folder."""
    base = re.escape(str(settings.archive_url).rstrip("/") + "/")
    pattern = re.compile(base + r"(\d+)/([a-z0-9-]+\.ics)?(?=[#\"'\s<])")
    return pattern.sub(lambda match: f"../{match[1]}/{match[2] or INDEX}", html)


def build_archive(root: Path, *, out: Path | None = None) -> ArchiveResult:
    """Write <out>/index.html and, per issue, <number>/index.html and one .ics per event."""
    project = load_project(root)
    problems = [p for found in project.problems.values() for p in found]
    if any(p.severity == "error" for p in problems):
        raise ValidationFailed(problems)
    if not project.issues:
        raise ComposerError("there are no issues to publish yet")
    out = (out or project.root / "site").resolve()
    env = templates.Templates(
        project.root,
        "archive",
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["long_date"] = long_date
    renderer = Renderer(project)
    numbers = [sourced.number for sourced in project.issues]
    result = ArchiveResult(out, [out / INDEX])
    entries = []
    for position, number in enumerate(numbers):
        links = {
            "previous": numbers[position - 1] if position else None,
            "next": numbers[position + 1] if position + 1 < len(numbers) else None,
            "colour": project.settings.branding.primary_colour,
        }
        nav = env.render("nav.html.j2", links)
        plan = plan_for(project, number)
        edition = renderer.edition(plan, FULL)
        _write_issue(project.settings, plan.issue, edition, nav, out / str(number), result)
        entries.append((plan.issue, edition))
    context = {"settings": project.settings, "entries": entries[::-1]}
    _write(out / INDEX, env.render("index.html.j2", context).encode())
    return result


def _write_issue(
    settings: Settings, issue: Issue, edition: Edition, nav: str, folder: Path, result: ArchiveResult
) -> None:
    """One issue's page (the full edition with the archive's navigation) and its calendar files."""
    html = relative_links(
        fill_placeholders(
            edition.html,
            reader_values(settings, html=True, unsubscribe_url=str(settings.sending.unsubscribe_url or "")),
        ),
        settings,
    )
    page = folder / INDEX
    _write(page, _BODY.sub(lambda match: match[0] + nav, html, count=1).encode())
    result.pages.append(page)
    for item_id, data in issue_calendars(settings, issue).items():
        calendar = folder / f"{item_id}.ics"
        _write(calendar, data)
        result.calendars.append(calendar)


def _write(path: Path, data: bytes) -> None:
    """Write one file of the archive; a folder that cannot be written is the user's to fix."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise ComposerError(f"cannot write {exc.filename or path}: {exc.strerror or exc}") from exc

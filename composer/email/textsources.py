"""Where the emails' texts are written: a problem found in an edition points at the line of the
issue, of the earlier issue that wrote a reminder or tool, of composer.yaml or of a template."""

from __future__ import annotations

from dataclasses import dataclass

from composer.content.carry import Plan
from composer.content.layout import SETTINGS_FILE
from composer.content.project import Project, SourcedIssue
from composer.content.yamlio import Loc
from composer.email.templatechecks import template_line
from composer.errors import Problem, Severity


@dataclass(frozen=True)
class TextSource:
    """A text of the project's files that the emails show, and where it is written."""

    text: str
    file: str
    line: int | None
    field: str
    base: bool = False  # a base URL: the links to the archive's pages start with it


def text_sources(project: Project, sourced: SourcedIssue, plan: Plan) -> list[TextSource]:
    """Where the editions' texts come from: the issue first, then the earlier issues that wrote
    its reminders and tools, then composer.yaml."""
    found: list[TextSource] = []

    def add(owner: SourcedIssue | None, loc: Loc, field: str, text: object, base: bool = False) -> None:
        file, located = (
            (project.rel(owner.path), owner.located) if owner else (SETTINGS_FILE, project.settings_lines)
        )
        found.append(TextSource(str(text), file, located.line_of(loc), field, base))

    def items(owner: SourcedIssue, ids: set[str] | None = None) -> None:
        for index, item in enumerate(owner.issue.items):
            if ids is None or item.id in ids:
                for name in ("title", "body", "action"):
                    add(owner, ("items", index, name), f"items[{item.id}].{name}", getattr(item, name))

    issue, settings = sourced.issue, project.settings
    items(sourced)
    for name in ("intro", "subject", "preheader", "tools_note"):
        if getattr(issue, name):
            add(sourced, (name,), name, getattr(issue, name))
    by_number = {s.number: s for s in project.issues}
    for reminder in plan.reminders:
        if owner := by_number.get(reminder.version_issue):
            items(owner, {reminder.item.id})
    for entry in plan.tools:
        if owner := by_number.get(entry.issue):
            for index, tool in enumerate(owner.issue.tools):
                if tool.key == entry.tool.key:
                    add(owner, ("tools", index, "title"), f"tools[{index}].title", tool.title)
                    add(owner, ("tools", index, "url"), f"tools[{index}].url", tool.key)
    if issue.intro is None:
        add(None, ("intro",), "intro", settings.intro)
    if issue.tools_note is None and settings.tools.note:
        add(None, ("tools", "note"), "tools.note", settings.tools.note)
    for index, link in enumerate(settings.navigation):
        add(None, ("navigation", index, "url"), f"navigation[{index}].url", link.url)
    if not issue.subject:
        add(None, ("subject",), "subject", settings.subject)
    if settings.plan:
        add(None, ("plan", "title"), "plan.title", settings.plan.title)
        add(None, ("plan", "url"), "plan.url", settings.plan.url)
    for name in ("logo", "banner", "hero"):
        if image := getattr(settings.branding, name):
            add(None, ("branding", name, "url"), f"branding.{name}.url", image.url)
    add(None, ("archive_url",), "archive_url", settings.archive_url, base=True)
    return found


def problem_at(
    source: TextSource | None, file: str, message: str, severity: Severity = "error", field: str = ""
) -> Problem:
    """A problem at its source's line, or in the issue's file for the editions it is found in."""
    if source is None:
        return Problem(file, message, None, field, severity)
    return Problem(source.file, message, source.line, source.field, severity)


def locate(sources: list[TextSource], needle: str) -> TextSource | None:
    """The first source whose text holds needle (or, for a base URL, begins it)."""
    if not needle:
        return None
    return next((s for s in sources if needle in s.text or (s.base and needle.startswith(s.text))), None)


def named_source(sources: list[TextSource], field: str) -> TextSource | None:
    """The source of a field that the emails show whole, such as the subject."""
    return next((s for s in sources if s.field == field), None)


def in_template(project: Project, file: str, needle: str, message: str, suffix: str = ".mjml.j2") -> Problem:
    """A warning at the template line that holds needle, else in the issue for its editions."""
    template, line = template_line(project.root, needle, suffix) or (file, None)
    return Problem(template, message, line, severity="warning")

"""`composer archive`: the issues as static web pages, where each email's "view in browser" points.

Every link inside the folder is relative (including links the email makes to the archive's own
public URL), so the folder can be published anywhere or opened straight from disk. Each page and
calendar file is written with a hash of everything it is made from (`.composer-archive.json`):
a later run renders again only those whose content changed, usually the new issue alone.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from composer.content import templates
from composer.content.carry import Plan, long_date, plan_for
from composer.content.project import Project
from composer.content.settings import Settings
from composer.email.check import edition_keys
from composer.email.editions import EditionKey, shared
from composer.email.placeholders import fill_placeholders, reader_values
from composer.email.render import Renderer
from composer.email.urls import archive_base
from composer.errors import ComposerError, ValidationFailed
from composer.lists.recipients import Lists
from composer.web.calendar import item_calendar

INDEX = "index.html"
HASHES = ".composer-archive.json"
_BODY = re.compile(r"<body\b[^>]*>", re.I)


@dataclass(frozen=True)
class ArchiveResult:
    """What `composer archive` wrote, and which pages were rendered again."""

    out: Path
    pages: list[Path] = field(default_factory=list)
    calendars: list[Path] = field(default_factory=list)
    rendered: list[Path] = field(default_factory=list)  # the issue pages and calendar files written this run


def relative_links(html: str, settings: Settings) -> str:
    """Point the email's links to archive pages, edition pages and calendar files at their place
    in the folder."""
    base = re.escape(archive_base(settings))
    pattern = re.compile(base + r"(\d+)/([a-z0-9-]+\.(?:ics|html))?(?=[#\"'\s<])")
    return pattern.sub(lambda match: f"../{match[1]}/{match[2] or INDEX}", html)


def digest(*parts: object) -> str:
    """A hash of the representations of what a file is made from."""
    return hashlib.sha256("\x00".join(map(repr, parts)).encode()).hexdigest()


def templates_digest(environments: Iterable[templates.Templates]) -> str:
    """The source of every template the environments can load (the project's or the packaged)."""
    sources = []
    for env in environments:
        for name in env.list_templates():
            try:
                sources.append((name, env.loader.get_source(env, name)[0] if env.loader else ""))
            except UnicodeDecodeError as exc:
                where = "/".join(part for part in ("templates", env.folder, name) if part)
                raise ComposerError(f"{where}: not UTF-8 text: save it as UTF-8") from exc
    return digest(sources)


def build_archive(project: Project, lists: Lists, *, out: Path | None = None) -> ArchiveResult:
    """Write <out>/index.html and, per issue, <number>/index.html and one .ics per event (an
    edition's page for each set of networks among `lists`' people)."""
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
    keys = edition_keys(project, lists)
    writer = _Writer(project, Renderer(project, layout="full", web=True), env, out, keys)
    numbers = [sourced.number for sourced in project.issues]
    plans = []
    for position, number in enumerate(numbers):
        links = {
            "previous": numbers[position - 1] if position else None,
            "next": numbers[position + 1] if position + 1 < len(numbers) else None,
            "colour": project.settings.branding.primary_colour,
        }
        nav = env.render("nav.html.j2", links)
        plan = plan_for(project, number)
        writer.issue(plan, nav)
        plans.append(plan)
    issues = [plan.issue for plan in plans[::-1]]
    index = env.render("index.html.j2", {"settings": project.settings, "issues": issues})
    _write(out / INDEX, index.encode())  # a list of titles: quicker to write than to compare
    writer.save()
    return writer.result


class _Writer:
    """Writes the files whose hash changed; keeps the hashes of all of them for the next run."""

    def __init__(
        self,
        project: Project,
        renderer: Renderer,
        env: templates.Templates,
        out: Path,
        keys: Sequence[EditionKey],
    ):
        self.settings, self.renderer, self.out, self.keys = project.settings, renderer, out, keys
        self.networks = project.networks
        self.shared = digest(
            templates_digest([renderer.env, env]), project.settings, project.contacts, project.networks
        )
        self.result = ArchiveResult(out, [out / INDEX])
        try:
            self.previous = json.loads((out / HASHES).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.previous = {}
        self.hashes: dict[str, str] = {}

    def issue(self, plan: Plan, nav: str) -> None:
        """One issue's pages and its calendar files: the full edition (`index.html`) and each
        edition its readers get (`<edition>.html`, where their "View in your browser" points),
        every reminder shown whole, with the archive's navigation. An edition's page is named
        after its content (see Selection.page), so a reader's link holds whatever the lists."""
        folder = self.out / str(plan.issue.number)
        for selection, _ in shared(plan, self.keys):
            page = folder / selection.page
            self.result.pages.append(page)
            if self.fresh(page, digest(self.shared, plan, nav, selection.identity)):
                html = self.renderer.edition(plan, selection.key).html
                names = [self.networks[id_].name for id_ in selection.key or () if id_ in self.networks]
                values = reader_values(
                    self.settings,
                    html=True,
                    unsubscribe_url=str(self.settings.sending.unsubscribe_url or ""),
                    networks=names,
                )
                html = relative_links(fill_placeholders(html, values), self.settings)
                self.write(page, _BODY.sub(lambda match: match[0] + nav, html, count=1).encode())
        for item in [*plan.issue.items, *plan.issue.carried_items]:
            if item.event is None:
                continue
            calendar = folder / f"{item.id}.ics"
            self.result.calendars.append(calendar)
            if self.fresh(calendar, digest(self.settings, item, plan.issue.number, plan.issue.date)):
                self.write(calendar, item_calendar(self.settings, plan.issue, item))

    def fresh(self, path: Path, hashed: str) -> bool:
        """Record the file's hash; True when it must be written (changed, or not there)."""
        name = path.relative_to(self.out).as_posix()
        self.hashes[name] = hashed
        return self.previous.get(name) != hashed or not path.is_file()

    def write(self, path: Path, data: bytes) -> None:
        _write(path, data)
        self.result.rendered.append(path)

    def save(self) -> None:
        """The hashes, written last: a run that fails midway leaves the older ones, so it redoes more."""
        _write(self.out / HASHES, json.dumps(self.hashes, indent=1, sort_keys=True).encode())


def _write(path: Path, data: bytes) -> None:
    """Write one file of the archive; a folder that cannot be written is the user's to fix."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as exc:
        raise ComposerError(f"cannot write {exc.filename or path}: {exc.strerror or exc}") from exc

"""`composer build`: every edition of an issue as the HTML and plain text that will be sent.

Writes build/<number>/<edition>.html and .txt, a manifest.json and an index.html to browse them;
the placeholder tokens are left in, as sending fills them per person. Sets of networks whose
readers get the same items share one edition, named after the first; the manifest lists them all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from composer.content.project import Project
from composer.email.check import CheckReport, check_issue
from composer.email.editions import edition_name
from composer.email.emailchecks import HTML_LIMIT, HTML_WARNING
from composer.email.placeholders import PLACEHOLDERS
from composer.email.render import Edition, Renderer
from composer.errors import ComposerError
from composer.lists.recipients import Lists

BUILD_DIR = "build"
MANIFEST = "manifest.json"
INDEX_TEMPLATE = "build-index.html.j2"


@dataclass(frozen=True)
class BuiltEdition:
    """One edition written by `composer build`, with its sizes."""

    name: str
    networks: list[str] | None
    serves: list[str]
    items: list[str]
    reminders: list[str]
    subject: str
    preheader: str
    html: Path
    text: Path
    html_bytes: int
    text_bytes: int

    @property
    def level(self) -> str:
        """The HTML size against Gmail's clipping: "error", "warning" or ""."""
        if self.html_bytes >= HTML_LIMIT:
            return "error"
        return "warning" if self.html_bytes > HTML_WARNING else ""

    def as_dict(self) -> dict[str, object]:
        return {
            "edition": self.name,
            "networks": self.networks,
            "serves": self.serves,
            "items": self.items,
            "reminders": self.reminders,
            "subject": self.subject,
            "preheader": self.preheader,
            "html": str(self.html),
            "text": str(self.text),
            "html_bytes": self.html_bytes,
            "text_bytes": self.text_bytes,
            "size": self.level or "ok",
        }


@dataclass(frozen=True)
class BuildResult:
    """What `composer build` wrote and found."""

    out: Path
    editions: list[BuiltEdition]
    report: CheckReport

    def as_dict(self) -> dict[str, object]:
        return {
            "issue": self.report.issue.number,
            "out": str(self.out),
            "ok": not self.report.errors,
            "editions": [e.as_dict() for e in self.editions],
            "problems": [p.as_dict() for p in self.report.problems],
            "placeholders": PLACEHOLDERS,
        }


def build_issue(
    project: Project,
    ref: str | None = None,
    *,
    out: Path | None = None,
    lists: Lists | None = None,
    renderer: Renderer | None = None,
) -> BuildResult:
    """Build one issue (default: the latest) into `out` (default build/<n>/) from a loaded project."""
    report = check_issue(project, ref, lists=lists, renderer=renderer)
    folder = out if out is not None else project.root / BUILD_DIR / str(report.issue.number)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stale = _previous_files(folder)
        built = [_write(folder, edition) for edition in report.editions]
        for path in stale - {p for b in built for p in (b.html, b.text)}:
            path.unlink(missing_ok=True)
        result = BuildResult(folder, built, report)
        manifest = json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n"
        (folder / MANIFEST).write_text(manifest, encoding="utf-8")
        context = {"result": result, "plan": report.plan, "placeholders": PLACEHOLDERS}
        index = (renderer or Renderer(project)).render_template(INDEX_TEMPLATE, context)
        (folder / "index.html").write_text(index, encoding="utf-8")
    except OSError as exc:
        raise ComposerError(f"cannot write {exc.filename or folder}: {exc.strerror or exc}") from exc
    return result


def _write(folder: Path, edition: Edition) -> BuiltEdition:
    html, text = folder / f"{edition.name}.html", folder / f"{edition.name}.txt"
    html_bytes, text_bytes = edition.html.encode(), edition.text.encode()
    html.write_bytes(html_bytes)
    text.write_bytes(text_bytes)
    selection = edition.selection
    return BuiltEdition(
        name=edition.name,
        networks=None if edition.key is None else sorted(edition.key),
        serves=[edition_name(key) for key in edition.serves],
        items=[item.id for item in selection.items],
        reminders=[r.item.id for r in selection.reminders],
        subject=edition.subject,
        preheader=edition.preheader,
        html=html,
        text=text,
        html_bytes=len(html_bytes),
        text_bytes=len(text_bytes),
    )


def _previous_files(folder: Path) -> set[Path]:
    """The edition files an earlier build wrote here, so that editions gone since are removed."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        entries = manifest["editions"]
        names = [Path(entry[kind]).name for entry in entries for kind in ("html", "text")]
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    return {folder / name for name in names if name.endswith((".html", ".txt"))}

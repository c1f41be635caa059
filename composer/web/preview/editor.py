"""The editor in `composer preview`: a form beside the live email that writes the issue's YAML.

Only a preview bound to a loopback address edits (see `loopback`); the review address never
does, since it serves `Share`, which knows nothing of these routes. Every change is a POST that
carries the token drawn when the preview started and embedded in its pages (the server checks
the Origin and Host too, and caps the body); the file written is always `issues/<number>.yaml`
or the file the project already reads for that number, never a path from the request.

As the user types, the form sends the draft to `check`: the draft is checked in place of the file
by the same loading and checks as `composer check`, and the full edition comes back for the
frame. `save` writes through the round-trip writer (roundtrip.py).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from http import HTTPStatus
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from composer.content.carry import plan_for
from composer.content.layout import ISSUES_DIR
from composer.content.model import ReminderOverrides
from composer.content.project import Project
from composer.content.roundtrip import ChangedOnDisk, apply_changes, load_for_edit, save_issue
from composer.content.scaffold import new_issue
from composer.content.yamlio import MAX_DEPTH
from composer.email.check import check_issue
from composer.email.editions import FULL
from composer.email.markdown import to_html
from composer.email.placeholders import fill_placeholders
from composer.email.render import Renderer
from composer.errors import ComposerError, Problem, ValidationFailed
from composer.web.preview.app import NOT_FOUND, Preview, Response, error_page
from composer.web.preview.builds import Choice
from composer.web.preview.share import TOKEN_BYTES

SERVED = 64  # file versions kept in memory, for the differences shown when a save is refused
MAX_EDIT = 2_000_000  # bytes: an issue is at most 1 MB of YAML (max_issue_bytes), as JSON somewhat more
EDITING = re.compile(r"/new|/issue/(\d+)/edit/(check|save)")  # the POSTs that need the token
_PAGE = re.compile(r"/issue/(\d+)/edit")
_SCRIPT = "/editor.js"
JSON = "application/json; charset=utf-8"


def _json(status: int, value: Any) -> Response:
    return Response(status, json.dumps(value).encode(), JSON)


class Editor:
    """The manager's routes with the editor's added; everything else is the preview's own."""

    def __init__(self, preview: Preview, token: str | None = None):
        self.preview = preview
        self.token = token or secrets.token_urlsafe(TOKEN_BYTES)
        preview.edit_token = self.token
        self._served: dict[str, str] = {}  # file versions the form was given, by hash: what changed since

    def respond(self, target: str) -> Response:
        path = unquote(urlsplit(target).path)
        if path == _SCRIPT:
            script = files("composer.web.preview").joinpath("editor.js").read_bytes()
            return Response(HTTPStatus.OK, script, "text/javascript; charset=utf-8")
        if match := _PAGE.fullmatch(path):
            return self._page(int(match[1]))
        return self.preview.respond(target)

    def post(self, target: str, form: Mapping[str, str]) -> Response:
        """Every change the manager's pages make (an edit, a new issue, "Check links", "Mark
        resolved") carries the token drawn at start: a page elsewhere cannot know it."""
        if not secrets.compare_digest(form.get("token", "").encode(), self.token.encode()):
            message = "This change did not come from the preview's own page: reload the page and try again."
            return Response(HTTPStatus.FORBIDDEN, message.encode(), "text/plain; charset=utf-8")
        path = unquote(urlsplit(target).path)
        match = EDITING.fullmatch(path)
        if match is None:
            return self.preview.post(target, form)
        if match[1] is None:
            return self._new()
        number = int(match[1])
        try:
            data = json.loads(form.get("data", ""))
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict) or nested_deeper(data, MAX_DEPTH):
            return _json(HTTPStatus.BAD_REQUEST, {"message": "The form sent no issue: reload the page."})
        if match[2] == "check":
            return self._check(number, data)
        return self._save(number, data, form.get("digest", ""))

    def _file(self, number: int) -> tuple[Path, str] | None:
        """The file of issue `number`: the one the project reads for it, or issues/<number>.yaml."""
        project = self.preview.build.project
        if project is None:
            return None
        known = [path for path, n in project.file_numbers().items() if n == number]
        path = known[0] if known else project.root / ISSUES_DIR / f"{number}.yaml"
        return (path, project.rel(path)) if path.is_file() else None

    def _page(self, number: int) -> Response:
        """The form, from the project as it is now (a file `New issue` has just written included)."""
        found = self._file(number)
        if found is None:
            return NOT_FOUND
        path, name = found
        try:
            project = self.preview.workspace.draft({})  # as on disk now: a file `New issue` just wrote
            loaded = load_for_edit(path, name)
        except ValidationFailed as exc:
            lines = "\n".join(str(p) for p in exc.problems)
            message = f"{name} cannot be shown in the form: mend it in a text editor first.\n{lines}"
            return Response(HTTPStatus.CONFLICT, error_page(message))
        except ComposerError as exc:
            return Response(HTTPStatus.CONFLICT, error_page(str(exc)))
        self._remember(loaded.digest, loaded.text)
        editor = {
            "number": number,
            "file": name,
            "token": self.token,
            "digest": loaded.digest,
            "data": loaded.data,
            "networks": [{"id": n.id, "name": n.name} for n in project.networks.values()],
            "contacts": [{"id": c.id, "name": c.name, "role": c.role} for c in project.contacts.values()],
            "reminders": reminder_choices(project, number),
        }
        page = self.preview.render_page
        return page("edit.html.j2", self.preview.build, number=number, editor=editor, file=name)

    def _remember(self, digest: str, text: str) -> None:
        """Keep a version the form works from (the last few dozen), to show what changed since."""
        self._served[digest] = text
        while len(self._served) > SERVED:
            del self._served[next(iter(self._served))]

    def _new(self) -> Response:
        """What `composer new` does, then the form of the new issue."""
        project = self.preview.build.project
        if project is None:
            return Response(
                HTTPStatus.CONFLICT, error_page("The project's files do not load: fix them first.")
            )
        try:
            created = new_issue(project)
        except ComposerError as exc:
            return Response(HTTPStatus.CONFLICT, error_page(str(exc)))
        back = f"/issue/{created.plan.issue.number}/edit"
        return Response(HTTPStatus.SEE_OTHER, b"", "text/plain; charset=utf-8", location=back)

    def _check(self, number: int, data: dict[str, Any]) -> Response:
        found = self._file(number)
        if found is None:
            return _json(HTTPStatus.NOT_FOUND, {"message": f"Issue {number} has no file any more."})
        path, name = found
        try:
            loaded = load_for_edit(path, name)
            draft = apply_changes(loaded.text, loaded.data, data)
        except ValidationFailed as exc:
            return _json(HTTPStatus.OK, self._findings(number, name, exc.problems, None, data))
        except ComposerError as exc:
            return _json(HTTPStatus.CONFLICT, {"message": str(exc)})
        return _json(HTTPStatus.OK, self._check_text(number, path, name, draft, data))

    def _check_text(
        self, number: int, path: Path, name: str, text: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """`composer check` of the project with this text as the issue's file, and the full
        edition's email when it renders."""
        build = self.preview.build
        try:
            project = self.preview.workspace.draft({path.resolve(): text})
            with self.preview.render_lock:  # the preview's one lock for all rendering
                renderer = Renderer(project, env=self.preview.workspace.templates)  # compiled once
                report = check_issue(project, str(number), lists=build.lists, keys=[FULL], renderer=renderer)
        except ValidationFailed as exc:
            return self._findings(number, name, exc.problems, None, data)
        except ComposerError as exc:
            return self._findings(number, name, [Problem(name, str(exc))], None, data)
        values = Choice(FULL).values(project, html=True)
        html = fill_placeholders(report.full.html, values, ())
        return self._findings(number, name, report.problems, html, data)

    @staticmethod
    def _findings(
        number: int, name: str, problems: list[Problem], html: str | None, data: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "number": number,
            "problems": [{**p.as_dict(), "text": str(p), "here": p.file == name} for p in problems],
            "html": html,
            "markdown": markdown_previews(data),
        }

    def _save(self, number: int, data: dict[str, Any], digest: str) -> Response:
        found = self._file(number)
        if found is None:
            return _json(HTTPStatus.NOT_FOUND, {"message": f"Issue {number} has no file any more."})
        path, name = found
        try:
            written = save_issue(path, name, data, digest, self._served.get(digest))
        except ChangedOnDisk as exc:
            return _json(HTTPStatus.CONFLICT, {"message": str(exc), "diff": exc.diff, "current": exc.current})
        except ValidationFailed as exc:
            lines = "; ".join(str(p) for p in exc.problems)
            return _json(HTTPStatus.CONFLICT, {"message": f"Not saved: {lines}"})
        except (ComposerError, OSError) as exc:
            return _json(HTTPStatus.CONFLICT, {"message": f"Not saved: {exc}"})
        text = path.read_bytes().decode("utf-8-sig")
        self._remember(written, text)
        result = self._check_text(number, path, name, text, data)
        return _json(HTTPStatus.OK, {**result, "saved": name, "digest": written})


def reminder_choices(project: Project, number: int) -> list[dict[str, Any]]:
    """The reminders that carry into this issue, as `composer check` plans them before this
    issue's own overrides (so that one stopped here can be brought back), each with its item."""
    history = [s.issue for s in project.issues if s.number <= number]
    if not history or history[-1].number != number:
        return []
    plain = [*history[:-1], history[-1].model_copy(update={"reminders": ReminderOverrides()})]
    before, after = (plan_for(project, number, issues) for issues in (plain, history))
    chosen = {r.item.id: r for r in after.reminders}
    known = {r.item.id for r in before.reminders}
    candidates = [*before.reminders, *(r for r in after.reminders if r.item.id not in known)]
    return [
        {
            "id": reminder.item.id,
            "title": reminder.item.title,
            "why": chosen.get(reminder.item.id, reminder).describe(),
            "item": reminder.item.model_dump(
                mode="json", exclude_defaults=True, exclude={"first_published", "update"}
            ),
        }
        for reminder in candidates
    ]


def nested_deeper(value: Any, limit: int) -> bool:
    """Whether data nests deeper than an issue file may (yamlio's limit), counted without recursion."""
    stack = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(current, dict):
            current = list(current.values())
        if isinstance(current, list):
            stack.extend((child, depth + 1) for child in current)
    return False


def markdown_previews(data: Mapping[str, Any]) -> dict[str, str]:
    """Each Markdown field of the draft as the email shows it, keyed by its place in the form."""
    out: dict[str, str] = {}
    if isinstance(data.get("intro"), str):
        out["intro"] = str(to_html(data["intro"]))
    items = data.get("items")
    for index, item in enumerate(items if isinstance(items, list) else []):
        for field in ("body", "action"):
            if isinstance(item, dict) and isinstance(item.get(field), str):
                out[f"items.{index}.{field}"] = str(to_html(item[field]))
    return out

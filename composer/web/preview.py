"""`composer preview`: a local web page that shows each issue exactly as its readers receive it.

It works like mkdocs's dev server: a watcher thread polls the project's files, waits for a change
to settle, rebuilds, and keeps the last good build while a file is broken (showing the errors
beside it); a small script injected into the preview pages, never into the emails, long-polls for
a new build and swaps the page's content. Between changes the watcher runs `composer check` on
each issue, newest first, for the index. Every URL is matched against a fixed set of routes, so
no request ever reaches the file system, and a request that names another host is refused.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import jinja2

from composer.content import templates
from composer.content.carry import long_date
from composer.content.model import Issue
from composer.content.project import CONTACTS_FILE, ISSUES_DIR, SETTINGS_FILE, Project, load_project
from composer.content.recipients import Lists, Recipient, read_lists
from composer.email.check import CheckReport, check_loaded
from composer.email.editions import FULL, EditionKey, edition_name, parse_edition_name
from composer.email.emailchecks import HTML_LIMIT
from composer.email.render import Edition, Renderer, fill_placeholders, reader_values
from composer.errors import ComposerError, IssueNotFound, Problem, ValidationFailed, display_path
from composer.mailbox.journal import LastRun, journal_path, last_run
from composer.web.calendar import issue_calendars

DEFAULT_HOST = "127.0.0.1"  # loopback: nobody but this computer's users sees the members' addresses
WATCHED = (SETTINGS_FILE, CONTACTS_FILE, ISSUES_DIR, "templates", "recipients")
WIDTHS = {"desktop": 800, "phone": 375}
VIEWS = {"html": "HTML", "text": "Plain text", "source": "HTML source"}
EMAIL_TYPES = {"html": "text/html", "txt": "text/plain", "html.txt": "text/plain"}
VIEW_EXTENSIONS = {"html": "html", "text": "txt", "source": "html.txt"}
# Each check renders every edition (about a second): only the newest issues are checked unasked.
BACKGROUND_CHECKS = 8
LONG_POLL_SECONDS = 25.0
MEMBER = "member:"

_ISSUE = re.compile(r"/issue/(\d+)/")
_EMAIL = re.compile(r"/issue/(\d+)/email/([a-z0-9+-]+)\.(html|txt|html\.txt)")
_CALENDAR = re.compile(r"/issue/(\d+)/calendar/([a-z0-9-]+)\.ics")


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"


NOT_FOUND = Response(HTTPStatus.NOT_FOUND, b"Not found", "text/plain; charset=utf-8")


def error_page(message: str) -> bytes:
    """A page for an error that the preview's own templates cannot show (one of them is broken)."""
    return f"<!doctype html><title>Preview error</title><h1>Preview error</h1><p>{escape(message)}".encode()


def describe(exc: Exception) -> str:
    """An error for the page: our own errors say what to do; anything else names its kind."""
    return str(exc) if isinstance(exc, ComposerError) else f"{type(exc).__name__}: {exc}"


@dataclass
class IssueView:
    """One issue as one build sees it: `composer check`'s findings and editions, and any other
    edition (a single network when members exist, `everyone`) rendered on demand."""

    checked: CheckReport
    renderer: Renderer
    lock: threading.RLock  # one for all rendering: the CSS inliner is not known to be thread-safe
    editions: dict[EditionKey, Edition] = field(init=False)

    def __post_init__(self) -> None:
        self.editions = {edition.key: edition for edition in self.checked.editions}

    def edition(self, key: EditionKey) -> Edition:
        with self.lock:
            if key not in self.editions:
                self.editions[key] = self.renderer.edition(self.checked.plan, key)
            return self.editions[key]


@dataclass(frozen=True)
class IssueState:
    """What the issue page shows: a view (this build's, or the last good one) and the problems."""

    view: IssueView | None
    problems: list[Problem]
    render_error: str = ""

    @property
    def broken(self) -> bool:
        return bool(self.render_error) or any(p.severity == "error" for p in self.problems)


@dataclass(frozen=True)
class Choice:
    """Whom the page previews: an edition, or one named member (who gets their edition)."""

    key: EditionKey
    recipient: Recipient | None = None

    @property
    def value(self) -> str:
        return MEMBER + self.recipient.person.email if self.recipient else edition_name(self.key)

    def values(self, project: Project, *, html: bool) -> dict[str, str]:
        """Placeholder values: the member's own, or those of a reader nobody knows."""
        return reader_values(
            project.settings,
            unsubscribe_url=str(project.settings.sending.unsubscribe_url or ""),
            html=html,
            name=self.recipient.person.name if self.recipient else "",
            networks=[project.networks[n].name for n in self.key or ()],
        )

    def email_url(self, number: int, view: str) -> str:
        url = f"/issue/{number}/email/{edition_name(self.key)}.{VIEW_EXTENSIONS[view]}"
        return url + (f"?member={quote(self.recipient.person.email)}" if self.recipient else "")


@dataclass
class Build:
    """One rebuild. While the shared files are broken, `project` stays the last one that loaded."""

    id: int
    project: Project | None
    renderer: Renderer | None
    lists: Lists | None
    failure: list[Problem]
    issues: dict[int, IssueState] = field(default_factory=dict)

    def choose(self, value: str) -> Choice | None:
        """The Choice named by an edition selector value, or None if it names nothing known."""
        if self.project is None:
            return None
        if value.startswith(MEMBER):
            wanted = value.removeprefix(MEMBER).lower()
            recipients = self.lists.recipients() if self.lists else iter(())
            recipient = next((r for r in recipients if r.person.email.lower() == wanted), None)
            return Choice(recipient.edition, recipient) if recipient else None
        key = parse_edition_name(value)
        return Choice(key) if key is None or key <= self.project.networks.keys() else None

    def options(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The edition selector's groups of (value, label)."""
        assert self.project is not None
        networks = [(edition_name(frozenset([n.id])), n.name) for n in self.project.networks.values()]
        editions = [("full", "Full edition (every item)"), ("everyone", "Items for everyone only")]
        groups = [("Editions", editions), ("Networks", networks)]
        if self.lists is not None:
            members = [
                (MEMBER + r.person.email, f"{r.person.name} <{r.person.email}>")
                for r in self.lists.recipients()
            ]
            groups.append(("Members", members))
        return groups


def snapshot(root: Path) -> dict[Path, tuple[int, int, int]]:
    """Inode, size and mtime of every watched file: any edit, even an atomic save, changes it."""
    found: dict[Path, tuple[int, int, int]] = {}
    for name in WATCHED:
        top = root / name
        for path in [top, *top.rglob("*")] if top.is_dir() else [top]:
            try:
                info = path.stat()
            except OSError:
                continue
            if not path.is_dir():
                found[path] = (info.st_ino, info.st_size, info.st_mtime_ns)
    return found


class Preview:
    """The preview application: builds, routes and rendering, with no sockets (tests call it)."""

    def __init__(self, root: Path, *, interval: float = 0.5, settle: float = 0.3):
        self.root = root.resolve()
        self.interval, self.settle = interval, settle
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stopped = threading.Event()
        self._last_good: dict[int, tuple[int, IssueView]] = {}  # by issue: the build id and its view
        self.pages = templates.Templates(
            self.root,
            "preview",
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.pages.filters["long_date"] = long_date
        self.pages.filters["kb"] = lambda size: f"{size / 1024:.1f} KB"
        self.pages.filters["timestamp"] = lambda at: f"{dt.datetime.fromtimestamp(at):%d %B %Y %H:%M}"
        self.build = Build(0, None, None, None, [])
        self.rebuild()

    def rebuild(self) -> None:
        """Load the project again; if it cannot load, keep the last one and record why.

        Any error counts, not only invalid files (a CSV file the parser chokes on, a bug): the
        watcher must outlive it, and the page must say what happened.
        """
        previous = self.build
        try:
            project = load_project(self.root)
            build = Build(previous.id + 1, project, Renderer(project), read_lists(project), [])
        except ValidationFailed as exc:
            build = replace(previous, id=previous.id + 1, failure=exc.problems, issues={})
        except Exception as exc:
            problem = Problem(display_path(self.root), f"the project does not load: {describe(exc)}")
            build = replace(previous, id=previous.id + 1, failure=[problem], issues={})
        with self._changed:
            self.build = build
            self._changed.notify_all()

    def watch(self) -> None:
        """Rebuild whenever the watched files change and then stay still for `settle` seconds.

        While nothing changes, check this build's issues one at a time for the index.
        """
        seen = snapshot(self.root)
        while not self._stopped.wait(self.interval):
            current = snapshot(self.root)
            if current == seen:
                self._check_next()
                continue
            while not self._stopped.wait(self.settle):
                latest = snapshot(self.root)
                if latest == current:
                    break
                current = latest
            seen = current
            self.rebuild()

    def stop(self) -> None:
        self._stopped.set()
        with self._changed:
            self._changed.notify_all()

    def _check_next(self) -> None:
        """Check the newest issue that this build has not checked yet, if any."""
        build = self.build
        if build.project is None or build.failure:
            return
        unchecked = [n for n in recent_numbers(build.project) if n not in build.issues]
        if unchecked:
            self.issue(build, unchecked[0])

    def wait_for_build(
        self, since: int, timeout: float = LONG_POLL_SECONDS, *, checked: int | None = None
    ) -> int:
        """Wait for a build other than `since` or, if `checked` is given, for another issue checked."""

        def changed() -> bool:
            more = checked is not None and len(self.build.issues) != checked
            return self.build.id != since or more or self._stopped.is_set()

        with self._changed:
            self._changed.wait_for(changed, timeout)
            return self.build.id

    def issue(self, build: Build, number: int) -> IssueState:
        """The issue's state in this build, checked once per build (raises IssueNotFound)."""
        with self._changed:
            if number not in build.issues:
                build.issues[number] = self._check(build, number)
                self._changed.notify_all()
            return build.issues[number]

    def _check(self, build: Build, number: int) -> IssueState:
        """Check and render the issue; while it is broken, show its last good view beside the errors.

        A build whose shared files are broken checks the last project that loaded (its errors are
        shown on every page, so they are not repeated here).
        """
        good_build, last_good = self._last_good.get(number, (0, None))
        if build.project is None or build.renderer is None:
            return IssueState(last_good, [])
        try:
            checked = check_loaded(build.project, str(number), lists=build.lists)
        except ValidationFailed as exc:
            return IssueState(last_good, exc.problems)
        except IssueNotFound:
            raise
        except Exception as exc:  # a template that does not render names its file and line; a bug shows too
            return IssueState(last_good, [], describe(exc))
        view = IssueView(checked, build.renderer, self._lock)
        if not build.failure and build.id > good_build:  # a late check of an older build: keep the newer
            self._last_good[number] = (build.id, view)
        return IssueState(view, checked.problems)

    def respond(self, target: str) -> Response:
        """The response to a GET of `target` (path and query); anything unknown is a 404."""
        parts = urlsplit(target)
        path, query = unquote(parts.path), {k: v[-1] for k, v in parse_qs(parts.query).items()}
        build = self.build
        try:
            if path == "/livereload":
                since, checked = query.get("since", ""), query.get("checked", "")
                current = self.wait_for_build(
                    int(since) if since.isdigit() else -1, checked=int(checked) if checked.isdigit() else None
                )
                body = json.dumps({"build": current, "checked": len(self.build.issues)})
                return Response(HTTPStatus.OK, body.encode(), "application/json")
            if path == "/":
                count = len(build.issues)  # counted first: a check that ends meanwhile reloads the page
                return self._page(
                    "index.html.j2", build, rows=index_rows(build), checked=count, inbox=inbox_run(build)
                )
            if match := _ISSUE.fullmatch(path):
                return self._issue_page(build, int(match[1]), query)
            if match := _EMAIL.fullmatch(path):
                return self._email(build, int(match[1]), match[2], match[3], query.get("member"))
            if match := _CALENDAR.fullmatch(path):
                return self._calendar(build, int(match[1]), match[2])
        except (IssueNotFound, LookupError):
            return NOT_FOUND
        except ComposerError as exc:  # a template that is missing, unreadable or broken, named
            return Response(HTTPStatus.INTERNAL_SERVER_ERROR, error_page(str(exc)))
        return NOT_FOUND

    def _page(self, template: str, build: Build, **context: Any) -> Response:
        html = self.pages.render(template, {"build": build, **context})
        return Response(HTTPStatus.OK, html.encode())

    def _issue_page(self, build: Build, number: int, query: dict[str, str]) -> Response:
        state = self.issue(build, number)
        width = query["width"] if query.get("width") in WIDTHS else "desktop"
        view = query["view"] if query.get("view") in VIEWS else "html"
        context: dict[str, Any] = {
            "number": number,
            "state": state,
            "width": width,
            "view": view,
            "widths": WIDTHS,
            "views": VIEWS,
            "gmail_clip": HTML_LIMIT,
        }
        if state.view is not None and build.project is not None:
            choice = build.choose(query.get("edition", "full")) or Choice(FULL)
            context.update(
                plan=state.view.checked.plan,
                choice=choice,
                options=build.options(),
                email_url=choice.email_url(number, view),
                list_problems=build.lists.problems if build.lists else [],
            )
            try:
                context["edition"] = edition = state.view.edition(choice.key)
                context["size"] = len(edition.html.encode())
                selection = edition.selection
                context["events"] = [(item, number) for item in selection.items if item.event]
                context["events"] += [(r.item, r.version_issue) for r in selection.reminders if r.item.event]
            except ComposerError as exc:
                context["render_problem"] = str(exc)
        return self._page("issue.html.j2", build, **context)

    def _email(self, build: Build, number: int, name: str, kind: str, member: str | None) -> Response:
        choice = build.choose(f"{MEMBER}{member}" if member else name)
        if choice is None or edition_name(choice.key) != name:
            return NOT_FOUND
        state = self.issue(build, number)
        if state.render_error and state.view is None:  # a template that does not render: say which
            return Response(HTTPStatus.INTERNAL_SERVER_ERROR, error_page(state.render_error))
        if state.view is None or build.project is None:
            return NOT_FOUND
        edition = state.view.edition(choice.key)
        values = choice.values(build.project, html=kind != "txt")
        body = fill_placeholders(edition.text if kind == "txt" else edition.html, values)
        return Response(HTTPStatus.OK, body.encode(), f"{EMAIL_TYPES[kind]}; charset=utf-8")

    def _calendar(self, build: Build, number: int, item_id: str) -> Response:
        state = self.issue(build, number)
        if state.view is None or build.project is None:
            return NOT_FOUND
        files = issue_calendars(build.project.settings, state.view.checked.plan.issue)
        return Response(HTTPStatus.OK, files[item_id], "text/calendar; charset=utf-8")


@dataclass(frozen=True)
class IndexRow:
    """An issue on the index with `composer check`'s verdict, once this build knows it.

    status: "checked"; "checking" (its editions are not checked yet in this build); "on demand"
    (older than the issues checked in the background: checked when opened); "stale" (the shared
    files do not load, so nothing is checked).
    """

    number: int | None
    file: str
    issue: Issue | None
    problems: list[Problem]
    status: str


def recent_numbers(project: Project) -> list[int]:
    """The issues checked in the background, newest first: a long archive is checked on demand."""
    numbers = {s.number for s in project.issues} | {n for n in project.broken.values() if n}
    return sorted(numbers, reverse=True)[:BACKGROUND_CHECKS]


def inbox_run(build: Build) -> LastRun | None:
    """The last `composer inbox` run, shown on the index so staff see the lists being kept."""
    if build.project is None:
        return None
    return last_run(journal_path(build.project.root / build.project.settings.sending.journal))


def index_rows(build: Build) -> list[IndexRow]:
    """The index's issues, newest first; a broken file shows its number if it has one."""
    project = build.project
    if project is None:
        return []
    found: list[tuple[int | None, Path, Issue | None]] = [(s.number, s.path, s.issue) for s in project.issues]
    found += [(number, path, None) for path, number in project.broken.items()]
    recent = set(recent_numbers(project))
    rows = []
    for number, path, issue in found:
        file = project.rel(path)
        problems = project.problems_for(number) if number else project.problems.get(path, [])
        state = build.issues.get(number) if number else None
        if build.failure:
            status = "stale"
        elif state is not None:
            status = "checked"
            problems = state.problems + ([Problem(file, state.render_error)] if state.render_error else [])
        elif any(p.severity == "error" for p in problems):  # the check's verdict already
            status = "checked"
        else:
            status = "checking" if number in recent else "on demand"
        rows.append(IndexRow(number, file, issue, problems, status))
    return sorted(rows, key=lambda row: row.number or 0, reverse=True)


def host_allowed(header: str, *, host: str, port: int) -> bool:
    """Whether a request's Host header names this server: the guard against DNS rebinding.

    A web page elsewhere can point a name it controls at 127.0.0.1 and read the preview (and the
    members' addresses in it) through the browser of whoever opens it; its requests carry that
    name. Bound to every address, an IP address typed in the browser is ours too.
    """
    name, _, given_port = header.strip().lower().rpartition(":")
    if given_port != str(port):
        return False
    bound = host.lower()
    if name in ("127.0.0.1", "localhost", "[::1]", f"[{bound}]" if ":" in bound else bound):
        return True
    try:
        ipaddress.ip_address(name.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return host in ("", "0.0.0.0", "::")


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        server = self.server
        try:
            if host_allowed(self.headers.get("Host", ""), host=server.host, port=server.server_port):
                response = server.app.respond(self.path)
            else:
                message = f"This preview answers at {server.url} only."
                response = Response(
                    HTTPStatus.MISDIRECTED_REQUEST, message.encode(), "text/plain; charset=utf-8"
                )
        except Exception as exc:  # a bug must not take the preview down with it
            response = Response(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                f"Preview failed: {exc!r}".encode(),
                "text/plain; charset=utf-8",
            )
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(response.body)
        except ConnectionError:
            pass  # the browser moved on (a long poll outlived its page): nobody to answer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the core never prints."""


class PreviewServer(ThreadingHTTPServer):
    """The HTTP server around a Preview, with the watcher thread that rebuilds it."""

    daemon_threads = True

    def __init__(self, app: Preview, host: str, port: int):
        super().__init__((host, port), _Handler)
        self.app, self.host = app, host
        self.url = f"http://{host}:{self.server_port}/"

    def watch(self) -> None:
        threading.Thread(target=self.app.watch, name="preview-watcher", daemon=True).start()

    def start(self) -> PreviewServer:
        """Watch and serve in background threads (tests; `serve` blocks instead)."""
        self.watch()
        threading.Thread(target=self.serve_forever, name="preview-server", daemon=True).start()
        return self

    def close(self) -> None:
        self.app.stop()
        self.shutdown()
        self.server_close()


def open_preview(
    root: Path, *, host: str = DEFAULT_HOST, port: int = 8000, interval: float = 0.5, settle: float = 0.3
) -> PreviewServer:
    """Build the project once and bind the server (port 0: any free port)."""
    try:
        return PreviewServer(Preview(root, interval=interval, settle=settle), host, port)
    except OSError as exc:
        raise ComposerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def serve(root: Path, *, host: str = DEFAULT_HOST, port: int, on_ready: Callable[[str], None]) -> None:
    """`composer preview`: serve until Ctrl-C; `on_ready` gets the URL once it is listening."""
    server = open_preview(root, host=host, port=port)
    server.watch()
    on_ready(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.app.stop()
        server.server_close()

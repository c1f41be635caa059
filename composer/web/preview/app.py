"""`composer preview`: a local web page that shows each issue exactly as its readers receive it.

It works like mkdocs's dev server: a watcher thread polls the project's files, waits for a change
to settle, rebuilds, and keeps the last good build while a file is broken (showing the errors
beside it); a small script injected into the preview pages, never into the emails, long-polls for
a new build and swaps the page's content. It answers first: an issue page renders the one edition
it shows, and a worker thread then checks that issue in full (every edition, as `composer check`
does), then the newest issues for the index; the page swaps in the full verdict when it lands.
Every URL is matched against a fixed set of routes, so no request ever reaches the file system.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from html import escape
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit

import jinja2

from composer.content import templates
from composer.content.carry import Plan, long_date
from composer.content.project import ParsedIssues, Project, load_project
from composer.content.recipients import read_lists
from composer.content.reviews import Kind, add_entry, read_reviews
from composer.email.check import check_loaded
from composer.email.editions import FULL, EditionKey, edition_name
from composer.email.emailchecks import HTML_LIMIT
from composer.email.links import LinkReport, check_links
from composer.email.placeholders import fill_placeholders
from composer.email.render import Edition, Renderer
from composer.email.urls import archive_base
from composer.errors import ComposerError, IssueNotFound, Problem, ValidationFailed, display_path
from composer.mailbox.journal import LastRun, journal_path, last_run
from composer.web.calendar import item_calendar
from composer.web.preview.builds import (
    MEMBER,
    Build,
    Choice,
    IssueState,
    IssueView,
    index_rows,
    recent_numbers,
)
from composer.web.preview.watch import INTERVAL, SETTLE, snapshot, watch

WIDTHS = {"desktop": 800, "phone": 375}
VIEWS = {"html": "HTML", "text": "Plain text", "source": "HTML source"}
EMAIL_TYPES = {"html": "text/html", "txt": "text/plain", "html.txt": "text/plain"}
LONG_POLL_SECONDS = 25.0
QUIET = 0.5  # seconds after a save or a page before the worker starts: the page renders first
LISTS = ("recipients",)  # where the mailing lists are read from (with the networks they name)

_ISSUE = re.compile(r"/issue/(\d+)/")
_EMAIL = re.compile(r"/issue/(\d+)/email/([a-z0-9+-]+)\.(html|txt|html\.txt)")
_CALENDAR = re.compile(r"/issue/(\d+)/calendar/([a-z0-9-]+)\.ics")
_LINKS = re.compile(r"/issue/(\d+)/links")
_REVIEW = re.compile(r"/issue/(\d+)/(review|resolve)")


@dataclass(frozen=True)
class Response:
    """One HTTP answer of the preview: status, body, type and where a 303 goes."""

    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    location: str = ""  # where a 303 after a form's POST sends the browser


NOT_FOUND = Response(HTTPStatus.NOT_FOUND, b"Not found", "text/plain; charset=utf-8")


class _Superseded(Exception):
    """A newer build came while the worker was checking an older one: that work is dropped."""


class _WorkerRenderer(Renderer):
    """The worker's renderer: it gives up between editions once its build is not the current one."""

    def __init__(self, project: Project, current: Callable[[], bool]):
        super().__init__(project)
        self.current = current

    def edition(self, plan: Plan, key: EditionKey, serves: tuple[EditionKey, ...] = ()) -> Edition:
        if not self.current():
            raise _Superseded
        return super().edition(plan, key, serves)


def error_page(message: str) -> bytes:
    """A page for an error that the preview's own templates cannot show (one of them is broken)."""
    return f"<!doctype html><title>Preview error</title><h1>Preview error</h1><p>{escape(message)}".encode()


def describe(exc: Exception) -> str:
    """An error for the page: our own errors say what to do; anything else names its kind."""
    return str(exc) if isinstance(exc, ComposerError) else f"{type(exc).__name__}: {exc}"


class Preview:
    """The preview application: builds, routes and rendering, with no sockets (tests call it)."""

    def __init__(self, root: Path, *, interval: float = INTERVAL, settle: float = SETTLE):
        self.root = root.resolve()
        self.interval, self.settle = interval, settle
        self._changed = threading.Condition()  # builds and checks: what pages wait on
        # One lock for all rendering (the CSS inliner is not known to be thread-safe), apart from
        # the condition: a long render never keeps a waiting page or the watcher from their news.
        self.render_lock = threading.RLock()
        self._stopped = threading.Event()
        self._last_good: dict[int, tuple[int, IssueView]] = {}  # by issue: the build id and its view
        self._open: int | None = None  # the issue a page asked for last: checked in full first
        self._active = 0.0  # when a save was last seen or a page last rendered, on the monotonic clock
        self._parsed: ParsedIssues = {}  # the issue files as the rebuilds read them
        self._links: dict[int, LinkReport] = {}  # by issue: the last "Check links", kept across builds
        self.review_count = 0  # comments, approvals and resolutions posted: their pages reload
        self.edit_token: str | None = None  # set when the editor is on (a loopback preview: editor.py)
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

        Issue files that did not change are not read again, nor are the mailing lists unless their
        files or the networks changed. Any
        error counts, not only invalid files (a CSV file the parser chokes on, a bug): the
        watcher must outlive it, and the page must say what happened.
        """
        previous = self.build
        try:
            project = load_project(self.root, parsed=self._parsed)
            stamp = (snapshot(self.root, LISTS), project.networks)
            same = previous.lists is not None and previous.lists_stamp == stamp
            lists = previous.lists if same else read_lists(project)
            build = Build(previous.id + 1, project, Renderer(project), lists, [], lists_stamp=stamp)
        except ValidationFailed as exc:
            build = replace(previous, id=previous.id + 1, failure=exc.problems, issues={})
        except Exception as exc:
            problem = Problem(display_path(self.root), f"the project does not load: {describe(exc)}")
            build = replace(previous, id=previous.id + 1, failure=[problem], issues={})
        with self._changed:
            self.build = build
            self._active = time.monotonic()
            self._changed.notify_all()

    def watch(self) -> None:
        """Rebuild on every change (the watcher thread)."""
        watch(
            self.root, rebuild=self.rebuild, stopped=self._stopped, interval=self.interval, settle=self.settle
        )

    def work(self) -> None:
        """Check issues in full, one at a time, until stopped (the worker thread)."""
        while not self._stopped.is_set():
            quiet = self._active + QUIET - time.monotonic()
            if quiet > 0:
                self._stopped.wait(quiet)
                continue
            build = self.build
            if not self.check_next(build):
                self._wait_for_another(build)

    def _wait_for_another(self, build: Build) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.build is not build or self._stopped.is_set(), 1.0)

    def check_next(self, build: Build) -> bool:
        """Check one issue of this build in full: the open one, then the newest; False if none is left."""
        number = self._next_check(build)
        if number is None:
            return False
        try:
            state = self._check(build, number, None)
        except IssueNotFound:  # its file went away meanwhile: the next build knows
            state = IssueState(None, [])
        except _Superseded:
            return True
        self._store(build, number, state)
        return True

    def stop(self) -> None:
        self._stopped.set()
        with self._changed:
            self._changed.notify_all()

    def _next_check(self, build: Build) -> int | None:
        """The issue to check in full next in this build, if any."""
        if build.project is None or build.failure:
            return None
        wanted = ([self._open] if self._open is not None else []) + recent_numbers(build.project)
        known = {s.number for s in build.project.issues} | set(build.project.broken.values())
        for number in wanted:
            state = build.issues.get(number)
            if number in known and (state is None or not state.complete):
                return number
        return None

    def checked(self, issue: int | None = None) -> int:
        """How many issues the current build has checked in full (of issue `issue` alone: 0 or 1)."""
        if issue is None:
            return self.build.complete
        state = self.build.issues.get(issue)
        return int(state is not None and state.complete)

    def wait_for_build(
        self,
        since: int,
        timeout: float = LONG_POLL_SECONDS,
        *,
        checked: int | None = None,
        issue: int | None = None,
        reviews: int | None = None,
    ) -> int:
        """Wait for a build other than `since` or, if `checked` is given, for another count of
        issues checked in full (see `checked`), or, if `reviews` is given, for a review posted."""

        def changed() -> bool:
            more = checked is not None and self.checked(issue) != checked
            posted = reviews is not None and self.review_count != reviews
            return self.build.id != since or more or posted or self._stopped.is_set()

        with self._changed:
            self._changed.wait_for(changed, timeout)
            return self.build.id

    def issue(self, build: Build, number: int, key: EditionKey = FULL) -> IssueState:
        """The issue's state in this build (raises IssueNotFound).

        The first time, only the edition `key` is checked, so the page answers at once; the worker
        then checks every edition.
        """
        state = build.issues.get(number)
        if state is None:
            self._open, self._active = number, time.monotonic()
            self._store(build, number, self._check(build, number, [key]))
            state = build.issues[number]
        return state

    def _store(self, build: Build, number: int, state: IssueState) -> None:
        """Keep a check's state unless the build has one at least as complete; wake the pages."""
        with self._changed:
            known = build.issues.get(number)
            if known is None or (state.complete and not known.complete):
                build.issues[number] = state
            self._changed.notify_all()

    def _check(self, build: Build, number: int, keys: list[EditionKey] | None) -> IssueState:
        """Check and render the issue (`keys`: only those editions; None: every one); while it is
        broken, show its last good view beside the errors.

        A build whose shared files are broken checks the last project that loaded (its errors are
        shown on every page, so they are not repeated here).
        """
        good_build, last_good = self._last_good.get(number, (0, None))
        if build.project is None or build.renderer is None:
            return IssueState(last_good, [])
        complete = keys is None
        project = build.project
        renderer = _WorkerRenderer(project, lambda: self.build is build) if complete else build.renderer
        try:
            with self.render_lock:
                checked = check_loaded(project, str(number), lists=build.lists, keys=keys, renderer=renderer)
        except ValidationFailed as exc:
            return IssueState(last_good, exc.problems)
        except (IssueNotFound, _Superseded):
            raise
        except Exception as exc:  # a template that does not render names its file and line; a bug shows too
            return IssueState(last_good, [], describe(exc), complete=complete)
        view = IssueView(checked, build.renderer, self.render_lock)
        with self._changed:
            if not build.failure and build.id >= good_build:  # a late check of an older build: keep the newer
                self._last_good[number] = (build.id, view)
        return IssueState(view, checked.problems, complete=complete)

    def respond(self, target: str, *, share: str = "") -> Response:
        """The response to a GET of `target` (path and query); anything unknown is a 404.

        `share`: the review address's path prefix (its token), for a page served to colleagues:
        no member search, no addresses, no personal values, no file paths (see share.py).
        """
        parts = urlsplit(target)
        path, query = unquote(parts.path), {k: v[-1] for k, v in parse_qs(parts.query).items()}
        build = self.build
        try:
            if path == "/livereload":
                since, checked, issue, reviews = (
                    query.get(name, "") for name in ("since", "checked", "issue", "reviews")
                )
                number = int(issue) if issue.isdigit() else None
                current = self.wait_for_build(
                    int(since) if since.isdigit() else -1,
                    checked=int(checked) if checked.isdigit() else None,
                    issue=number,
                    reviews=int(reviews) if reviews.isdigit() else None,
                )
                answer = {"build": current, "checked": self.checked(number), "reviews": self.review_count}
                body = json.dumps(answer)
                return Response(HTTPStatus.OK, body.encode(), "application/json")
            if path == "/":
                count = build.complete  # counted first: a check that ends meanwhile reloads the page
                inbox = None if share else inbox_run(build)
                return self.render_page(
                    "index.html.j2", build, rows=index_rows(build), checked=count, inbox=inbox, prefix=share
                )
            if match := _ISSUE.fullmatch(path):
                return self._issue_page(build, int(match[1]), query, share=share)
            if match := _EMAIL.fullmatch(path):
                member = None if share else query.get("member")
                return self._email(build, int(match[1]), match[2], match[3], member)
            if match := _CALENDAR.fullmatch(path):
                return self._calendar(build, int(match[1]), match[2])
        except (IssueNotFound, LookupError):
            return NOT_FOUND
        except ComposerError as exc:  # a template that is missing, unreadable or broken, named
            return Response(HTTPStatus.INTERNAL_SERVER_ERROR, error_page(str(exc)))
        return NOT_FOUND

    def post(self, target: str, form: Mapping[str, str], *, share: str = "") -> Response:
        """A form sent to `target`, then back to its page (303): "Check links" of an issue page (the
        manager's only), a comment or an approval from the review address, or the manager
        resolving a comment. Anything else is a 404."""
        links = None if share else _LINKS.fullmatch(unquote(urlsplit(target).path))
        if links is not None:
            return self._check_links(target, int(links[1]), form)
        return self._review(target, form, share=share)

    def _check_links(self, target: str, number: int, form: Mapping[str, str]) -> Response:
        """Ask the links of the issue's full edition (every one again with `refresh`)."""
        parts = urlsplit(target)
        build = self.build
        try:
            state = self.issue(build, number)
            if state.view is None or build.project is None:
                return NOT_FOUND
            checked = state.view.checked
            full = state.view.edition(FULL)
            report = check_links(
                build.project, checked.issue, checked.plan, full, refresh=form.get("refresh") == "1"
            )
        except IssueNotFound:
            return NOT_FOUND
        except ComposerError as exc:
            return Response(HTTPStatus.INTERNAL_SERVER_ERROR, error_page(str(exc)))
        with self._changed:
            self._links[number] = report
        query = urlencode(parse_qsl(parts.query))
        back = f"/issue/{number}/" + (f"?{query}" if query else "")
        return Response(HTTPStatus.SEE_OTHER, b"", "text/plain; charset=utf-8", location=back)

    def _review(self, target: str, form: Mapping[str, str], *, share: str) -> Response:
        """A comment or an approval from the review address, or the manager resolving a comment."""
        match = _REVIEW.fullmatch(unquote(urlsplit(target).path))
        if match is None or (match[2] == "resolve") == bool(share):
            return NOT_FOUND
        number = int(match[1])
        if self.build.project is None or not self._known(number):
            return NOT_FOUND
        kind: Kind = "resolve" if match[2] == "resolve" else "approve" if "approve" in form else "comment"
        name = "the manager" if kind == "resolve" else form.get("name", "")
        try:
            add_entry(self.root, number, kind, name=name, text=form.get("text", ""), of=form.get("of", ""))
        except ComposerError as exc:
            message = f"Not saved: {exc}. Go back, change it and send it again."
            return Response(HTTPStatus.BAD_REQUEST, message.encode(), "text/plain; charset=utf-8")
        with self._changed:
            self.review_count += 1
            self._changed.notify_all()
        back = f"{share}/issue/{number}/#reviews"
        return Response(HTTPStatus.SEE_OTHER, b"", "text/plain; charset=utf-8", back)

    def _known(self, number: int) -> bool:
        project = self.build.project
        return project is not None and (
            number in {s.number for s in project.issues} or number in project.broken.values()
        )

    def render_page(self, template: str, build: Build, **context: Any) -> Response:
        """A page of the preview; the editor's links and token only on the manager's pages."""
        context.setdefault("prefix", "")
        context.setdefault("edit_token", None if context["prefix"] else self.edit_token)
        html = self.pages.render(template, {"build": build, "review_count": self.review_count, **context})
        return Response(HTTPStatus.OK, html.encode())

    def _issue_page(self, build: Build, number: int, query: dict[str, str], *, share: str = "") -> Response:
        wanted = query.get("edition", "full")
        choice = (None if share and wanted.startswith(MEMBER) else build.choose(wanted)) or Choice(FULL)
        state = self.issue(build, number, choice.key)
        width = query["width"] if query.get("width") in WIDTHS else "desktop"
        view = query["view"] if query.get("view") in VIEWS else "html"
        search = "" if share else query.get("find", "")
        context: dict[str, Any] = {
            "prefix": share,
            "reviews": read_reviews(self.root, number),
            "number": number,
            "state": state,
            "checked": int(state.complete),
            "width": width,
            "view": view,
            "widths": WIDTHS,
            "views": VIEWS,
            "gmail_clip": HTML_LIMIT,
            "search": search,
            "query": urlencode(query),
            "links": self._links.get(number),
        }
        if state.view is not None and build.project is not None:
            context.update(
                plan=state.view.checked.plan,
                choice=choice,
                options=build.options(choice, state.view),
                names={n.id: n.name for n in build.project.networks.values()},
                archive=archive_base(build.project.settings),
                found=build.find_members(search),
                email_url=share + choice.email_url(number, view),
                list_problems=build.lists.problems if build.lists and not share else [],
            )
            try:
                context["edition"] = edition = state.view.edition(choice.key)
                context["size"] = len(edition.html.encode())
                selection = edition.selection
                context["events"] = [(item, number) for item in selection.items if item.event]
                context["events"] += [(r.item, r.version_issue) for r in selection.reminders if r.item.event]
            except ComposerError as exc:
                context["render_problem"] = str(exc)
        return self.render_page("issue.html.j2", build, **context)

    def _email(self, build: Build, number: int, name: str, kind: str, member: str | None) -> Response:
        choice = build.choose(f"{MEMBER}{member}" if member else name)
        if choice is None or edition_name(choice.key) != name:
            return NOT_FOUND
        state = self.issue(build, number, choice.key)
        if state.render_error and state.view is None:  # a template that does not render: say which
            return Response(HTTPStatus.INTERNAL_SERVER_ERROR, error_page(state.render_error))
        if state.view is None or build.project is None:
            return NOT_FOUND
        edition = state.view.edition(choice.key)
        values = choice.values(build.project, html=kind != "txt")
        body = fill_placeholders(edition.text if kind == "txt" else edition.html, values, choice.key or ())
        return Response(HTTPStatus.OK, body.encode(), f"{EMAIL_TYPES[kind]}; charset=utf-8")

    def _calendar(self, build: Build, number: int, item_id: str) -> Response:
        state = self.issue(build, number)
        if state.view is None or build.project is None:
            return NOT_FOUND
        issue = state.view.checked.plan.issue
        item = next((i for i in [*issue.items, *issue.carried_items] if i.id == item_id and i.event), None)
        if item is None:
            return NOT_FOUND
        body = item_calendar(build.project.settings, issue, item)
        return Response(HTTPStatus.OK, body, "text/calendar; charset=utf-8")


def inbox_run(build: Build) -> LastRun | None:
    """The last `composer inbox` run, shown on the index so staff see the lists being kept."""
    if build.project is None:
        return None
    return last_run(journal_path(build.project.root / build.project.settings.sending.journal))

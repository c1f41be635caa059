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
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit

import jinja2

from composer.content import templates
from composer.content.carry import long_date
from composer.content.reviews import Kind, add_entry, read_reviews
from composer.email.editions import FULL, edition_name
from composer.email.emailchecks import HTML_LIMIT
from composer.email.links import LinkReport, check_links
from composer.email.placeholders import fill_placeholders
from composer.email.urls import archive_base
from composer.errors import ComposerError, IssueNotFound
from composer.mailbox.journal import LastRun, journal_path, last_run
from composer.web.calendar import item_calendar
from composer.web.preview.builds import (
    MEMBER,
    Build,
    Choice,
    index_rows,
)
from composer.web.preview.live import LiveBuilds
from composer.web.preview.watch import INTERVAL, SETTLE

WIDTHS = {"desktop": 800, "phone": 375}
VIEWS = {"html": "HTML", "text": "Plain text", "source": "HTML source"}
EMAIL_TYPES = {"html": "text/html", "txt": "text/plain", "html.txt": "text/plain"}

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


def error_page(message: str) -> bytes:
    """A page for an error that the preview's own templates cannot show (one of them is broken)."""
    return f"<!doctype html><title>Preview error</title><h1>Preview error</h1><p>{escape(message)}".encode()


class Preview(LiveBuilds):
    """The preview application: routes and pages over the live builds, with no sockets (tests call it)."""

    def __init__(self, root: Path, *, interval: float = INTERVAL, settle: float = SETTLE):
        self._links: dict[int, LinkReport] = {}  # by issue: the last "Check links", kept across builds
        self.edit_token: str | None = None  # set when the editor is on (a loopback preview: editor.py)
        self.pages = templates.Templates(
            root.resolve(),
            "preview",
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.pages.filters["long_date"] = long_date
        self.pages.filters["kb"] = lambda size: f"{size / 1024:.1f} KB"
        self.pages.filters["timestamp"] = lambda at: f"{dt.datetime.fromtimestamp(at):%d %B %Y %H:%M}"
        super().__init__(root, interval=interval, settle=settle)

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

"""`composer check --links`: every link and image of an issue asked before it goes out.

A link that has moved or died cannot be mended once the Update is sent. The full edition holds
every item, reminder and tool, so its links are all the issue's; each is reported at the line of
the issue or composer.yaml that holds it, like every other problem. Links to the archive and its
calendar files are ours and published later; an unsubscribe link is never asked (following one
unsubscribes the sender); documentation domains (example.org and the like, RFC 2606) host no
pages, so they are not asked either. Answers are kept in .composer/links.sqlite for a day, so a
second run asks only new URLs and those that failed.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from composer.content.carry import Plan
from composer.content.layout import cache_folder
from composer.content.project import Project, SourcedIssue
from composer.email.asklinks import IMAGE_LIMIT, Answer, Asker, user_agent
from composer.email.htmlchecks import Scan
from composer.email.render import Edition
from composer.email.templatechecks import template_line
from composer.email.textsources import TextSource, locate, text_sources
from composer.email.urls import archive_base
from composer.errors import ComposerError, Findings, Problem, Severity

CACHE_FILE = "links.sqlite"  # in the project's cache folder (layout.cache_folder)
_HTTP = re.compile(r"^https?://", re.I)
_UNSUBSCRIBE = re.compile(r"unsubscribe|opt-?out", re.I)
_RESERVED = re.compile(r"(^|\.)(example|invalid|test)$|(^|\.)example\.(com|net|org)$", re.I)

Skip = Literal["unsubscribe", "reserved"]


@dataclass(frozen=True)
class Link:
    """A URL the email links to or loads, and the first place in the files that writes it."""

    url: str
    image: bool
    file: str
    line: int | None
    field: str


@dataclass(frozen=True)
class LinkResult:
    """One link and how its server answered."""

    link: Link
    answer: Answer
    cached: bool  # answered within the cache's time, not asked this run
    checked_at: float  # seconds since the epoch
    problems: tuple[Problem, ...]

    @property
    def severity(self) -> str:
        found = {p.severity for p in self.problems}
        return "error" if "error" in found else "warning" if found else "ok"

    def as_dict(self) -> dict[str, object]:
        answer = self.answer
        return {
            "url": self.link.url,
            "kind": "image" if self.link.image else "page",
            "file": self.link.file,
            "line": self.link.line,
            "field": self.link.field,
            "status": answer.status,
            "final_url": answer.final_url,
            "seconds": round(answer.seconds, 3),
            "error": answer.error,
            "result": self.severity,
            "cached": self.cached,
            "checked_at": round(self.checked_at),
            "problems": [p.as_dict() for p in self.problems],
        }


@dataclass(frozen=True)
class LinkReport(Findings):
    """Every link of an issue with its answer, and the problems found, at their lines."""

    results: list[LinkResult]
    skipped: dict[str, Skip] = field(default_factory=dict)  # URLs never asked, and why
    seconds: float = 0.0

    @property
    def problems(self) -> list[Problem]:
        return [problem for result in self.results for problem in result.problems]

    @property
    def asked(self) -> int:
        return sum(not result.cached for result in self.results)

    def as_dict(self) -> dict[str, object]:
        return {
            "links": [result.as_dict() for result in self.results],
            "asked": self.asked,
            "cached": len(self.results) - self.asked,
            "skipped": [{"url": url, "why": why} for url, why in self.skipped.items()],
            "seconds": round(self.seconds, 3),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
        }


def collect_links(
    project: Project, sourced: SourcedIssue, plan: Plan, edition: Edition
) -> tuple[list[Link], dict[str, Skip]]:
    """Every http(s) URL the edition links to or loads, once each, located; and those never asked."""
    scan = Scan()
    scan.feed(edition.html)
    scan.close()
    settings = project.settings
    archive = re.compile(re.escape(archive_base(settings)) + r"(\d+/.*)?$")
    unsubscribe = str(settings.sending.unsubscribe_url or "") or None
    sources = text_sources(project, sourced, plan)
    file = project.rel(sourced.path)
    texts: dict[str, list[str]] = {}
    found: dict[str, Link] = {}
    skipped: dict[str, Skip] = {}
    images = [(image.get("src") or "", True) for image in scan.images]
    for url, image in [*images, *((href, False) for href in scan.links)]:
        if not _HTTP.match(url) or archive.match(url) or url in found or url in skipped:
            continue
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:  # "http://[::1/": asked all the same, to be reported as unusable at its line
            parts, host = urlsplit(""), ""
        if (unsubscribe and url.startswith(unsubscribe)) or _UNSUBSCRIBE.search(parts.path + parts.query):
            skipped[url] = "unsubscribe"
        elif _RESERVED.search(host):
            skipped[url] = "reserved"
        else:
            found[url] = _located(project, sources, texts, file, url, image)
    return list(found.values()), skipped


def _located(
    project: Project, sources: list[TextSource], texts: dict[str, list[str]], file: str, url: str, image: bool
) -> Link:
    """The link at the line that writes it: within the field of the files that holds it (a body
    runs over many lines), else in the templates. `texts`: the files' lines, read once a run."""
    source = locate(sources, url) or locate(sources, unquote(url))
    if source is not None:
        if source.file not in texts:
            try:
                texts[source.file] = (project.root / source.file).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):  # changed since it loaded: the field's line will do
                texts[source.file] = []
        start = (source.line or 1) - 1
        line = next(
            (
                n
                for n, text in enumerate(texts[source.file][start:], start + 1)
                if url in text or unquote(url) in text
            ),
            source.line,
        )
        return Link(url, image, source.file, line, source.field)
    template, line = template_line(project.root, url) or (file, None)
    return Link(url, image, template, line, "")


def judge(link: Link, answer: Answer) -> list[Problem]:
    """What an answer means for this link: errors stop a send, warnings are worth a look."""
    url, status = link.url, answer.status
    kind = "image" if link.image else "link"

    def problem(message: str, severity: Severity = "error") -> Problem:
        return Problem(link.file, f"{kind} {url} {message}", link.line, link.field, severity)

    if answer.error or status is None:
        return [problem(f"got no answer: {answer.error}; fix the address or remove it")]
    said = f"answered {status} {_phrase(status)}"
    if status in (404, 410):
        return [problem(f"{said}: the page is gone; fix the address or remove it")]
    if status >= 500:
        return [problem(f"{said}, and again when asked a second time: the site is failing")]
    if status == 429:
        return [
            problem(
                f"{said}, and again after waiting {answer.waited:g} s: the site is busy; "
                "check it in a browser",
                "warning",
            )
        ]
    if status in (401, 403):
        return [
            problem(f"{said}: it may need a login, which readers may have; check it in a browser", "warning")
        ]
    if status >= 400:
        return [problem(f"{said}: check it in a browser", "warning")]
    found = []
    to_https = url.lower().startswith("http://") and answer.final_url.lower().startswith("https://")
    if answer.moved_to:
        where = "to https " if to_https and answer.moved_to.lower().startswith("https://") else ""
        found.append(
            problem(f"has moved {where}for good (a permanent redirect): use {answer.moved_to}", "warning")
        )
    elif to_https:
        found.append(problem(f"redirects to https: use {answer.final_url}", "warning"))
    if link.image and status < 300:
        content_type = answer.content_type.split(";")[0].strip().lower()
        if not content_type.startswith("image/"):
            found.append(problem(f"is not an image (its type is {content_type or 'not given'})", "warning"))
        if answer.length is not None and answer.length > IMAGE_LIMIT:
            size = f"{answer.length / IMAGE_LIMIT:.1f} MB" if answer.length > IMAGE_LIMIT + 1 else "over 1 MB"
            found.append(problem(f"weighs {size}: slow on a phone; make it under 1 MB", "warning"))
    return found


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def check_links(
    project: Project,
    sourced: SourcedIssue,
    plan: Plan,
    edition: Edition,
    *,
    refresh: bool = False,
    now: float | None = None,
) -> LinkReport:
    """Ask every link of the edition not answered well within the cache's time (all: `refresh`)."""
    started = time.monotonic()
    links, skipped = collect_links(project, sourced, plan, edition)
    settings = project.settings
    now = time.time() if now is None else now
    with LinkCache(cache_folder(project.root) / CACHE_FILE) as cache:
        known = (
            {}
            if refresh
            else cache.fresh([link.url for link in links], now - settings.links.cache_hours * 3600)
        )
        wanted = [(link.url, link.image) for link in links if link.url not in known]
        asked: dict[str, Answer] = {}
        if wanted:
            asker = Asker(
                settings.links,
                agent=user_agent(str(settings.archive_url)),
                language=settings.programme.language,
            )
            asked = asyncio.run(asker.ask_all(wanted))
            cache.store(asked, now)
    results = []
    for link in links:
        answer, at = (asked[link.url], now) if link.url in asked else known[link.url]
        results.append(LinkResult(link, answer, link.url not in asked, at, tuple(judge(link, answer))))
    return LinkReport(results, skipped, time.monotonic() - started)


class LinkCache:
    """Answers by URL with when they were got (SQLite): a cache, so a damaged file is started
    afresh rather than trusted, and only settled answers (see `Answer.settled`) are reused."""

    def __init__(self, path: Path):
        self.path = path
        self._db: sqlite3.Connection | None = None

    def __enter__(self) -> LinkCache:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._db is not None:
            self._db.close()

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._db = self._open()
                except sqlite3.OperationalError:  # locked, or cannot be opened: not ours to delete
                    raise
                except sqlite3.DatabaseError:  # not a database: the cache is made again
                    self.path.unlink()
                    self._db = self._open()
            except (OSError, sqlite3.Error) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise ComposerError(f"cannot use the link cache {self.path}: {reason}") from exc
        return self._db

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("CREATE TABLE IF NOT EXISTS answers (url TEXT PRIMARY KEY, at REAL, answer TEXT)")
            db.execute("SELECT url, at, answer FROM answers LIMIT 1").fetchall()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def fresh(self, urls: list[str], since: float) -> dict[str, tuple[Answer, float]]:
        """The settled answers got after `since`, with when; nothing when there is no cache yet."""
        if not urls or not self.path.exists():
            return {}
        found: dict[str, tuple[Answer, float]] = {}
        try:
            rows = self._rows(urls, since)
        except sqlite3.DatabaseError:
            return {}
        for url, at, text in rows:
            answer = _answer(text)
            if answer is not None and answer.settled:
                found[url] = (answer, at)
        return found

    def _rows(self, urls: list[str], since: float) -> Iterator[tuple[str, float, str]]:
        db = self._connect()
        for start in range(0, len(urls), 500):  # within SQLite's limit of variables a query
            chunk = urls[start : start + 500]
            marks = ",".join("?" * len(chunk))
            yield from db.execute(
                f"SELECT url, at, answer FROM answers WHERE at >= ? AND url IN ({marks})", [since, *chunk]
            )

    def store(self, answers: dict[str, Answer], at: float) -> None:
        db = self._connect()
        try:
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO answers VALUES (?, ?, ?)",
                    [(url, at, json.dumps(asdict(answer))) for url, answer in answers.items()],
                )
        except sqlite3.Error as exc:
            raise ComposerError(f"cannot use the link cache {self.path}: {exc}") from exc


def _answer(text: str) -> Answer | None:
    """An answer as stored; None for a row this version cannot read."""
    try:
        return Answer(**json.loads(text))
    except (TypeError, ValueError):
        return None

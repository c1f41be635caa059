"""The preview's builds as the files change: the watcher rebuilds on every save, the worker checks
issues in full in the background, and pages wait here for either.

A build that cannot load keeps the last one that did and records why; an issue that breaks keeps
its last good view beside its errors. Rendering happens under one lock of its own, never under the
condition that pages wait on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from composer.content.carry import Plan
from composer.email.check import check_issue
from composer.email.editions import FULL, EditionKey
from composer.email.render import Edition, Renderer
from composer.errors import ComposerError, IssueNotFound, Problem, ValidationFailed, display_path
from composer.web.preview.builds import Build, IssueState, IssueView, recent_numbers
from composer.web.preview.watch import INTERVAL, SETTLE, watch
from composer.workspace import Workspace

LONG_POLL_SECONDS = 25.0
QUIET = 0.5  # seconds after a save or a page before the worker starts: the page renders first


class _Superseded(Exception):
    """A newer build came while the worker was checking an older one: that work is dropped."""


class _WorkerRenderer(Renderer):
    """The worker's renderer: it gives up between editions once its build is not the current one."""

    def __init__(self, build: Renderer, current: Callable[[], bool]):
        super().__init__(build.project, env=build.env)  # the build's compiled templates
        self.current = current

    def edition(self, plan: Plan, key: EditionKey, serves: tuple[EditionKey, ...] = ()) -> Edition:
        if not self.current():
            raise _Superseded
        return super().edition(plan, key, serves)


def describe(exc: Exception) -> str:
    """An error for the page: our own errors say what to do; anything else names its kind."""
    return str(exc) if isinstance(exc, ComposerError) else f"{type(exc).__name__}: {exc}"


class LiveBuilds:
    """The current build and each issue's check, kept up to date by the watcher and the worker."""

    def __init__(self, root: Path, *, interval: float = INTERVAL, settle: float = SETTLE):
        self.workspace = Workspace(root)
        self.root = self.workspace.root
        self.interval, self.settle = interval, settle
        self._changed = threading.Condition()  # builds and checks: what pages wait on
        # One lock for all rendering (the CSS inliner is not known to be thread-safe), apart from
        # the condition: a long render never keeps a waiting page or the watcher from their news.
        self.render_lock = threading.RLock()
        self._stopped = threading.Event()
        self._last_good: dict[int, tuple[int, IssueView]] = {}  # by issue: the build id and its view
        self._open: int | None = None  # the issue a page asked for last: checked in full first
        self._active = 0.0  # when a save was last seen or a page last rendered, on the monotonic clock
        self.review_count = 0  # comments, approvals and resolutions posted: their pages reload
        self.build = Build(0, None, None, None, [])
        self.rebuild()

    def rebuild(self) -> None:
        """Load the project again; if it cannot load, keep the last one and record why.

        Issue files that did not change are not read again, nor are the mailing lists unless their
        files or the networks changed (the workspace keeps them). Any error counts, not only
        invalid files (a CSV file the parser chokes on, a bug): the watcher must outlive it, and
        the page must say what happened.
        """
        previous = self.build
        try:
            project, renderer, lists = self.workspace.reload()
            build = Build(previous.id + 1, project, renderer, lists, [])
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
        renderer = (
            _WorkerRenderer(build.renderer, lambda: self.build is build) if complete else build.renderer
        )
        try:
            with self.render_lock:
                checked = check_issue(project, str(number), lists=build.lists, keys=keys, renderer=renderer)
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

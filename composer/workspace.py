"""The project folder loaded once, with every cache of what was read from it.

Every command that reads a project makes one workspace and asks it for the project (and, where
it uses them, the mailing lists, the compiled templates or a renderer); nothing else loads a
project. The preview keeps one for its whole run and calls `changed` (or `reload`) when the
watcher sees a save: the project and its renderer are then made again, while what can prove it
is still the same is kept (an issue file by its inode, size and time; the lists by their files'
stamps and the networks; the compiled templates by the names of the project's own, Jinja itself
noticing a template saved since). The parse cache lives in the user's cache folder
(`layout.cache_folder`), never in the project, so that a read-only command leaves the project
folder as it found it.

The memoised pure functions in `email/` (Markdown, edition names, sections) are keyed by their
whole input and so never go stale: they are not caches of files and need no invalidation.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Concatenate, NamedTuple, ParamSpec, TypeVar

from composer.content.layout import RECIPIENTS_DIR, snapshot
from composer.content.loading import ParsedIssues, load_project
from composer.content.parsecache import ParseCache
from composer.content.project import Project
from composer.content.templates import Templates
from composer.email.environment import environment, own_templates
from composer.email.render import Renderer
from composer.lists.recipients import Lists, read_lists

P = ParamSpec("P")
R = TypeVar("R")


class Loaded(NamedTuple):
    """A project with the renderer and the mailing lists read for it."""

    project: Project
    renderer: Renderer
    lists: Lists


class Workspace:
    """A project folder and what was read from it; thread-safe (the preview's threads share one)."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self._lock = threading.RLock()
        self._parsed: ParsedIssues = {}  # issue files as last read, by their stamps
        self._project: Project | None = None
        self._renderer: Renderer | None = None
        self._templates: tuple[tuple[str, ...], Templates] | None = None  # with the own templates' names
        self._lists: tuple[Hashable, Lists] | None = None  # with the stamp they were read at

    @property
    def project(self) -> Project:
        """Settings, contacts, networks and every issue, checked (raises ValidationFailed)."""
        with self._lock:
            if self._project is None:
                cache = ParseCache(self.root)
                self._project = load_project(self.root, parsed=self._parsed, cache=cache)
                cache.save()
            return self._project

    def reload(self) -> Loaded:
        """The project as its files are now (those that did not change are not read again), with
        its renderer and lists, taken together: another thread's reload cannot come between."""
        with self._lock:
            self.changed()
            return Loaded(self.project, self.renderer, self.lists)

    def draft(self, drafts: Mapping[Path, str]) -> Project:
        """The project with some issue files as the editor holds them (by resolved path): a draft
        meets the checks a saved file would. Not kept: the files on disk stay the project."""
        with self._lock:
            return load_project(self.root, parsed=self._parsed, drafts=drafts)

    @property
    def templates(self) -> Templates:
        """The project's templates, compiled once while its own templates are the same files
        (Jinja itself compiles again a template saved since)."""
        with self._lock:
            own = own_templates(self.root)
            if self._templates is None or self._templates[0] != own:
                self._templates = (own, environment(self.root))
            return self._templates[1]

    @property
    def renderer(self) -> Renderer:
        """The renderer of the current project, with the workspace's compiled templates."""
        with self._lock:
            project = self.project
            if self._renderer is None or self._renderer.project is not project:
                self._renderer = Renderer(project, env=self.templates)
            return self._renderer

    @property
    def lists(self) -> Lists:
        """The mailing lists, read again only when their files or the networks changed."""
        with self._lock:
            project = self.project
            stamp = (snapshot(self.root, (RECIPIENTS_DIR,)), project.networks)
            if self._lists is None or self._lists[0] != stamp:
                self._lists = (stamp, read_lists(project))
            return self._lists[1]

    def changed(self) -> None:
        """Files changed: load the project again when next asked (unchanged files stay parsed)."""
        with self._lock:
            self._project = None
            self._renderer = None


def on_folder(library: Callable[Concatenate[Project, P], R]) -> Callable[Concatenate[Path, P], R]:
    """A library function that works on a loaded project, as a command that takes the project's
    folder: the project is loaded once, here, and the rest of the arguments pass through."""

    @functools.wraps(library)
    def command(root: Path, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return library(Workspace(root).project, *args, **kwargs)

    return command

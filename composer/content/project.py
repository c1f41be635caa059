"""Loading a project folder into validated models, collecting every problem with its line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from composer.content.layout import CONTACTS_FILE, ISSUES_DIR, NETWORKS_FILE, SETTINGS_FILE
from composer.content.model import Contact, Issue, Network
from composer.content.parsecache import ParseCache
from composer.content.references import (
    check_sequence,
    cross_check,
    unknown_references,
)
from composer.content.settings import Settings
from composer.content.yamlio import Located, field_path, load_yaml, oversized, parse_yaml
from composer.errors import IssueNotFound, Problem, ValidationFailed, did_you_mean, display_path

T = TypeVar("T")


def validate(
    adapter: TypeAdapter[T] | type[BaseModel], located: Located, file: str
) -> tuple[Any, list[Problem]]:
    """Validate located data against a model; every error keeps its file, line and field."""
    try:
        if isinstance(adapter, TypeAdapter):
            return adapter.validate_python(located.data), []
        return adapter.model_validate(located.data), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                known = known_fields(adapter, loc[:-1])
                hint = did_you_mean(str(loc[-1]), known)
                listed = f": the fields here are {', '.join(known)}" if known else ": check its spelling"
                message = "unknown field" + (hint or listed)
            elif error["type"] == "missing":
                message = "required field is missing"
            elif error["type"] == "value_error":
                message = str(error["ctx"]["error"])  # our validators' own words, without "Value error, "
            problems.append(Problem(file, message, located.line_of(loc), field_path(loc, located.data)))
        return None, problems


def known_fields(adapter: TypeAdapter[Any] | type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The field names a model allows at `loc` (a pydantic error's location), as written in files:
    what a misspelt key is compared with."""
    kind: Any = adapter._type if isinstance(adapter, TypeAdapter) else adapter  # noqa: SLF001
    for step in loc:
        kind = _inner(kind, step)
        if kind is None:
            return []
    model = _model(kind)
    return [info.alias or name for name, info in model.model_fields.items()] if model else []


def _model(kind: Any) -> type[BaseModel] | None:
    """The model a type annotation holds (through Annotated, Optional and unions), if any."""
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return kind
    for arg in get_args(kind):
        if model := _model(arg):
            return model
    return None


def _inner(kind: Any, step: str | int) -> Any:
    """The type one step of a location leads to: a model's field, a list's entry, a dict's value;
    a union's member named by its tag (pydantic puts the model's name in the location)."""
    origin, args = get_origin(kind), get_args(kind)
    if origin is Annotated:
        return _inner(args[0], step)
    if isinstance(step, int):
        return args[0] if origin in (list, tuple) and args else None
    if origin is dict and args:
        return args[1]
    for member in [kind, *args]:
        model = _model(member)
        if model is None:
            continue
        if model.__name__ == step:
            return model
        for name, info in model.model_fields.items():
            if step in (name, info.alias):
                return info.annotation
    return None


@dataclass(frozen=True)
class SourcedIssue:
    """A validated issue with the file it came from (for messages that point at lines)."""

    issue: Issue
    path: Path
    located: Located

    @property
    def number(self) -> int:
        return self.issue.number


@dataclass
class Project:
    """A programme folder loaded and validated: settings, contacts, networks and every issue.

    Commands work from this one object; files that failed to load are kept as problems (with
    their lines) beside what did load, so that every problem is reported at once.
    """

    root: Path
    settings: Settings
    settings_lines: Located
    contacts: dict[str, Contact]
    networks: dict[str, Network]
    issues: list[SourcedIssue]
    problems: dict[Path, list[Problem]] = field(default_factory=dict)
    broken: dict[Path, int | None] = field(default_factory=dict)
    contact_lines: dict[str, int | None] = field(default_factory=dict)
    _names: dict[Path, str] = field(default_factory=dict, repr=False, compare=False)

    def rel(self, path: Path) -> str:
        if path not in self._names:  # resolving a path is slow, and asked for every problem
            self._names[path] = display_path(path, self.root)
        return self._names[path]

    def find(self, ref: str | int | None = None) -> SourcedIssue:
        """An issue by number or path; the latest when ref is None."""
        if ref is None:
            newest = self.issues[-1].number if self.issues else 0
            newer_broken = [p for p, n in self.broken.items() if n is None or n > newest]
            if newer_broken:
                raise ValidationFailed([p for path in newer_broken for p in self.problems[path]])
            if self.issues:
                return self.issues[-1]
            raise IssueNotFound(f"no issues in {self.root / ISSUES_DIR}: run `composer new --date DATE`")
        text = str(ref)
        if text.isdigit():
            for sourced in self.issues:
                if sourced.number == int(text):
                    return sourced
        else:
            wanted = Path(text).resolve()
            for sourced in self.issues:
                if sourced.path.resolve() == wanted:
                    return sourced
        for path, number in self.broken.items():
            if (text.isdigit() and number == int(text)) or Path(text).resolve() == path.resolve():
                raise ValidationFailed(self.problems_for(number) if number else self.problems[path])
        raise IssueNotFound(f"no issue {text!r}: give an issue number or the path of an issue file")

    def problems_for(self, number: int) -> list[Problem]:
        """Problems that affect issue `number`: the shared files and every issue up to it."""
        numbers = self.file_numbers()
        relevant: list[Problem] = []
        for path, problems in self.problems.items():
            issue_number = numbers.get(path)
            if issue_number is None or issue_number <= number:
                relevant.extend(problems)
        return relevant

    def file_numbers(self) -> dict[Path, int | None]:
        """The issue number of each issue file (None where a broken file has none): looked up by path."""
        return {**self.broken, **{sourced.path: sourced.number for sourced in self.issues}}


def _load(root: Path, name: str, adapter: Any, problems: dict[Path, list[Problem]]) -> Any:
    path = root / name
    located, found = load_yaml(path, name)
    value = None
    if located is not None:
        value, invalid = validate(adapter, located, name)
        found += invalid
    if found:
        problems.setdefault(path, []).extend(found)
    return value, located


def _by_id(
    entries: list[Any] | None, located: Located | None, file: str, kind: str, problems: list[Problem]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index, entry in enumerate(entries or []):
        if entry.id in out:
            line = located.line_of((index, "id")) if located else None
            problems.append(Problem(file, f"duplicate {kind} id {entry.id!r}", line, "id"))
        out[entry.id] = entry
    return out


def issue_files(root: Path) -> list[Path]:
    return sorted((root / ISSUES_DIR).glob("*.yaml"), key=lambda p: (len(p.stem), p.stem))


ParsedIssues = dict[Path, tuple[tuple[int, ...], Located | None, list[Problem], Issue | None]]


def load_project(
    root: Path, *, parsed: ParsedIssues | None = None, drafts: Mapping[Path, str] | None = None
) -> Project:
    """Read settings, contacts, networks and every issue; raise if the shared files are broken.

    `parsed`: the issue files an earlier load read and validated, by path with their inode, size
    and time; only the files changed since are read again (the preview's rebuilds). Updated in place.
    `drafts`: the text of some issue files (by resolved path) as the preview's editor holds it,
    checked in place of the files on disk, so that a draft meets the same checks as a saved file.
    """
    root = root.resolve()
    problems: dict[Path, list[Problem]] = {}
    settings, settings_located = _load(root, SETTINGS_FILE, Settings, problems)
    contact_list, contacts_loc = _load(root, CONTACTS_FILE, TypeAdapter(list[Contact]), problems)
    network_list, networks_loc = _load(root, NETWORKS_FILE, TypeAdapter(list[Network]), problems)
    shared: list[Problem] = []
    contacts = _by_id(contact_list, contacts_loc, CONTACTS_FILE, "contact", shared)
    networks = _by_id(network_list, networks_loc, NETWORKS_FILE, "network", shared)
    for index, network in enumerate(network_list or []):
        if network.lead and contacts and network.lead not in contacts:
            line = networks_loc.line_of((index, "lead")) if networks_loc else None
            shared.append(
                Problem(NETWORKS_FILE, f"unknown contact id {network.lead!r}", line, f"[{network.id}].lead")
            )
    for problem in shared:
        problems.setdefault(root / problem.file, []).append(problem)
    if settings is None or contact_list is None or network_list is None or shared:
        raise ValidationFailed([p for found in problems.values() for p in found])

    project = Project(root, settings, settings_located, contacts, networks, [], problems)
    project.contact_lines = {
        contact.id: contacts_loc.line_of((index, "id")) if contacts_loc else None
        for index, contact in enumerate(contact_list)
    }
    unparsed: dict[Path, Located] = {}
    cache = ParseCache(root)
    files = issue_files(root)
    for path in files:
        _load_issue(project, path, parsed, unparsed, cache, drafts or {})
    cache.keep_only({project.rel(path) for path in files})
    cache.save()
    project.issues.sort(key=lambda s: s.number)
    check_sequence(project, unparsed)
    return project


def _load_issue(
    project: Project,
    path: Path,
    parsed: ParsedIssues | None,
    unparsed: dict[Path, Located],
    cache: ParseCache,
    drafts: Mapping[Path, str],
) -> None:
    name = project.rel(path)
    if path in drafts:  # checked as the file would be once saved: its size, then its text
        text = drafts[path]
        located, found = None, oversized(len(text.encode()), name, project.settings.max_issue_bytes)
        if not found:
            located, found = parse_yaml(text, name, aliases=False)
        issue, found = _validated(located, found, name)
    else:
        located, found, issue = _parse_issue(project, path, name, parsed, cache)
    if issue is None or located is None:
        number = located.data.get("number") if located and isinstance(located.data, dict) else None
        stem = int(path.stem) if path.stem.isdigit() else None
        project.broken[path] = number if isinstance(number, int) else stem
        if located is not None:
            found += list(unknown_references(project, located, name))
            unparsed[path] = located
    else:
        # Kept until the sequence is checked, so that its problems join these in one report.
        sourced = SourcedIssue(issue, path, located)
        found += list(unknown_references(project, located, name))
        found += list(cross_check(project, sourced))
        project.issues.append(sourced)
    if found:
        project.problems.setdefault(path, []).extend(found)


def _validated(
    located: Located | None, found: list[Problem], name: str
) -> tuple[Issue | None, list[Problem]]:
    """The issue a parsed file holds, if it validates, with the parse's problems and its own."""
    if located is None:
        return None, found
    issue, invalid = validate(Issue, located, name)
    return issue, found + invalid


def _parse_issue(
    project: Project, path: Path, name: str, parsed: ParsedIssues | None, cache: ParseCache
) -> tuple[Located | None, list[Problem], Issue | None]:
    """An issue file read and validated, or as an earlier load left it if it has not changed since."""
    limit = project.settings.max_issue_bytes
    try:
        info = path.stat()
        stamp: tuple[int, ...] | None = (info.st_ino, info.st_size, info.st_mtime_ns, limit or 0)
    except OSError:
        stamp = None
    if parsed is not None and stamp is not None and path in parsed and parsed[path][0] == stamp:
        _, located, found, issue = parsed[path]
        return located, list(found), issue
    located, found = load_yaml(path, name, max_bytes=limit, aliases=False, cache=cache)
    issue, found = _validated(located, found, name)
    if parsed is not None and stamp is not None:
        parsed[path] = (stamp, located, list(found), issue)
    return located, found, issue

"""Loading a project folder into validated models, collecting every problem with its line."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from composer.content.layout import CONTACTS_FILE, ISSUES_DIR, NETWORKS_FILE, SETTINGS_FILE
from composer.content.model import Contact, Issue, Network
from composer.content.parsecache import ParseCache
from composer.content.project import Project, SourcedIssue
from composer.content.references import (
    check_sequence,
    cross_check,
    unknown_references,
)
from composer.content.settings import Settings
from composer.content.yamlio import Located, field_path, load_yaml, oversized, parse_yaml
from composer.errors import Problem, ValidationFailed, did_you_mean

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
    root: Path,
    *,
    parsed: ParsedIssues | None = None,
    drafts: Mapping[Path, str] | None = None,
    cache: ParseCache | None = None,
) -> Project:
    """Read settings, contacts, networks and every issue; raise if the shared files are broken.

    `parsed`: the issue files an earlier load read and validated, by path with their inode, size
    and time; only the files changed since are read again (the preview's rebuilds). Updated in place.
    `drafts`: the text of some issue files (by resolved path) as the preview's editor holds it,
    checked in place of the files on disk, so that a draft meets the same checks as a saved file.
    `cache`: parsed files kept between runs (see parsecache); the caller saves it.
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
    files = issue_files(root)
    for path in files:
        _load_issue(project, path, parsed, unparsed, cache, drafts or {})
    if cache is not None:
        cache.keep_only({project.rel(path) for path in files})
    project.issues.sort(key=lambda s: s.number)
    check_sequence(project, unparsed)
    return project


def _load_issue(
    project: Project,
    path: Path,
    parsed: ParsedIssues | None,
    unparsed: dict[Path, Located],
    cache: ParseCache | None,
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
    project: Project, path: Path, name: str, parsed: ParsedIssues | None, cache: ParseCache | None
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

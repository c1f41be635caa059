"""Parsed issue files kept between runs: the same values and lines, and never trusted blindly."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.content import yamlio
from composer.content.layout import cache_folder
from composer.content.loading import issue_files
from composer.content.parsecache import CACHE_FILE, decode, encode
from composer.content.project import Project
from composer.content.yamlio import load_yaml
from composer.workspace import Workspace


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (1 is not True, a date is not a datetime)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    return bool(a == b) or a != a  # NaN is itself


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20), st.dates(), st.datetimes()
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), inner, max_size=4),
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=values)
def test_every_yaml_value_comes_back_as_it_went(value: Any) -> None:
    assert same(decode(json.loads(json.dumps(encode(value)))), value)


def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The issue files parsed from here on (the rest came from the cache)."""
    seen: list[str] = []
    real = yamlio.parse_yaml

    def counted(text: str, display: str, **options: Any) -> Any:
        if display.startswith("issues/"):
            seen.append(display)
        return real(text, display, **options)

    monkeypatch.setattr(yamlio, "parse_yaml", counted)
    return seen


def loaded(project: Project) -> list[tuple[Any, ...]]:
    return [(s.issue, s.located.data, s.located.lines) for s in project.issues]


def test_a_second_load_parses_only_what_changed(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = Workspace(example).project
    assert (cache_folder(example) / CACHE_FILE).exists()
    seen = parses(monkeypatch)
    again = Workspace(example).project
    assert seen == [] and loaded(again) == loaded(first)
    for sourced in again.issues:  # the values and their types, not only equal ones
        reference, _ = yamlio.parse_yaml(sourced.path.read_text(encoding="utf-8"), "x", aliases=False)
        assert reference is not None and same(sourced.located.data, reference.data)
    latest = issue_files(example)[-1]
    latest.write_text(latest.read_text(encoding="utf-8").replace("title:", "title: Edited –", 1))
    edited = Workspace(example).project
    assert seen == [f"issues/{latest.name}"]
    assert edited.issues[-1].issue.items[0].title.startswith("Edited –")


@pytest.mark.parametrize(
    "damage",
    [
        b"not json at all \xff",
        b'{"version": 999, "files": {}}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"version": 1, "files": []}',
    ],
)
def test_a_damaged_cache_is_not_used(example: Path, damage: bytes) -> None:
    expected = loaded(Workspace(example).project)
    (cache_folder(example) / CACHE_FILE).write_bytes(damage)
    assert loaded(Workspace(example).project) == expected
    assert (
        json.loads((cache_folder(example) / CACHE_FILE).read_text(encoding="utf-8"))["version"] == 1
    )  # written anew


def test_an_entry_is_used_only_for_the_bytes_it_came_from(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Workspace(example).project.issues  # loaded, and so the cache written
    path = cache_folder(example) / CACHE_FILE
    stored = json.loads(path.read_text(encoding="utf-8"))
    name = f"issues/{issue_files(example)[-1].name}"
    entry = stored["files"][name]
    entry["data"] = {"m": [["number", {"tampered": 1}]]}  # a tag composer never writes
    other = stored["files"][f"issues/{issue_files(example)[0].name}"]
    other["digest"] = "0" * 64  # from other bytes
    path.write_text(json.dumps(stored), encoding="utf-8")
    seen = parses(monkeypatch)
    project = Workspace(example).project
    assert sorted(seen) == sorted([name, f"issues/{issue_files(example)[0].name}"])
    assert not project.problems and len(project.issues) == len(issue_files(example))


def test_files_with_problems_are_not_kept(example: Path) -> None:
    broken = issue_files(example)[-1]
    broken.write_text(broken.read_text(encoding="utf-8") + "\nnumber: 1\n")  # a duplicate key
    located, problems = load_yaml(broken, "b")
    assert located is not None and problems
    assert Workspace(example).project.issues  # loaded, and so the cache written
    files = json.loads((cache_folder(example) / CACHE_FILE).read_text(encoding="utf-8"))["files"]
    assert f"issues/{broken.name}" not in files and len(files) == len(issue_files(example)) - 1
    assert all(isinstance(line, int) for entry in files.values() for _, line in entry["lines"])
    assert dt.date.fromisoformat(files[f"issues/{issue_files(example)[0].name}"]["data"]["m"][1][1]["d"])

"""Hostile YAML: alias bombs, loops, deep nesting, foreign tags and huge files are refused at their
line, fast, by the real command; libyaml and the pure-Python parser agree on every file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import REPO, Cli, invoke

from composer.content.loading import load_project
from composer.content.yamlio import FAST_LOADER, PURE_LOADER, parse_yaml

ISSUE = "issues/378.yaml"
HEAD = "number: 378\ndate: 2019-11-15\n"
# The 301-byte bomb of the report, 9 levels: 9^9 strings once expanded.
BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{name}: &{name} [{','.join(['*' + prev] * 9)}]"
        for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)
DEEP_BLOCK = "items:\n" + "".join("  " * depth + "-\n" for depth in range(600))
DEEP_MAP = "items:\n" + "".join("  " * depth + f"  k{depth}:\n" for depth in range(600))
LIMIT = "values nested more than 32 levels deep"
NO_ALIASES = "this file takes no anchors or aliases"

# (file, text, line, what the message says): the error corpus, also run through both parsers.
CORPUS = {
    "bomb in an issue": (ISSUE, HEAD + BOMB, 3, f"YAML anchor &a: {NO_ALIASES}"),
    "recursive alias in an issue": (ISSUE, HEAD + "items: &a [*a]\n", 3, f"YAML anchor &a: {NO_ALIASES}"),
    "alias in an issue": (ISSUE, HEAD + "items:\n  - *x\n", 4, f"YAML alias *x: {NO_ALIASES}"),
    "flow nesting 1000 deep": (ISSUE, HEAD + "items: " + "[" * 1000 + "]" * 1000, 3, "nest"),
    "flow nesting 100 deep": (ISSUE, HEAD + "items: " + "[" * 100 + "]" * 100, 3, LIMIT),
    # the root mapping is level 1, the value of `items:` (line 4) level 2, so level 33 is on line 35
    "block nesting 600 deep": (ISSUE, HEAD + DEEP_BLOCK, 35, LIMIT),
    "mapping nesting 600 deep": (ISSUE, HEAD + DEEP_MAP, 35, LIMIT),
    "python tag": (
        ISSUE,
        HEAD + "items:\n  - id: x\n    title: !!python/name:os.system\n",
        5,
        "YAML tag !!python/name:os.system is not allowed",
    ),
    "local tag": (ISSUE, HEAD + "subject: !shell ls\n", 3, "YAML tag !shell is not allowed"),
    "binary tag": (ISSUE, HEAD + "subject: !!binary aGk=\n", 3, "YAML tag !!binary is not allowed"),
    "control character": (ISSUE, HEAD + "subject: a\x07b\n", 3, "character U+0007 is not allowed"),
    "noncharacter": (ISSUE, HEAD + "subject: a\ufdd0b\n", 3, "character U+FDD0 is a Unicode noncharacter"),
    "escaped noncharacter": (
        ISSUE,
        HEAD + 'items:\n  - id: x\n    title: "see \\ufdd012]"\n',
        5,
        "character U+FDD0 is a Unicode noncharacter",
    ),
    "second document": (ISSUE, HEAD + "---\nnumber: 379\n", 3, "a second YAML document starts here"),
    "bomb in the settings": (
        "composer.yaml",
        BOMB,
        5,
        "YAML aliases expand to more than 10,000 values here",
    ),
    "recursive alias in the contacts": (
        "contacts.yaml",
        "- id: a\n  name: &n [x, *n]\n",
        2,
        "YAML alias *n is inside the value it names",
    ),
    "recursive merge in the settings": (
        "composer.yaml",
        "programme: &p\n  <<: *p\n",
        2,
        "YAML alias *p is inside the value it names",
    ),
    "too many aliases in the networks": (
        "recipients/networks.yaml",
        "- id: &i x\n  name: [" + ", ".join(["*i"] * 101) + "]\n",
        2,
        "more than 100 YAML aliases",
    ),
    "undefined alias in the settings": (
        "composer.yaml",
        "programme: *p\n",
        1,
        "YAML alias *p names no anchor",
    ),
    "duplicate anchor in the settings": (
        "composer.yaml",
        "a: &x 1\nb: &x 2\n",
        2,
        "YAML anchor &x is already defined on line 1",
    ),
    "merge of a scalar in the settings": ("composer.yaml", "programme:\n  <<: 1\n", 2, "for merging"),
}


@pytest.mark.parametrize("case", CORPUS)
def test_hostile_yaml_is_refused_at_its_line(example: Path, case: str) -> None:
    file, text, line, message = CORPUS[case]
    (example / file).write_text(text, encoding="utf-8")
    result = invoke(example, "check")
    assert result.exit_code == 1
    refusal = next(row for row in result.stderr.splitlines() if row.startswith(f"{file}:"))
    assert refusal.startswith(f"{file}:{line}: "), refusal
    assert message in refusal


def test_the_real_command_refuses_the_bomb_within_its_limits(example: Path, run_cli: Cli) -> None:
    """A child process capped at 2 GB and 60 s of CPU: an expansion would fail here, not pass."""
    (example / ISSUE).write_text(HEAD + BOMB, encoding="utf-8")
    result = run_cli(example, "check", timeout=60)
    assert result.returncode == 1 and f"{ISSUE}:3: YAML anchor &a: {NO_ALIASES}" in result.stderr


def test_aliases_in_the_shared_files_still_work(example: Path, run_cli: Cli) -> None:
    contacts = example / "contacts.yaml"
    text = contacts.read_text(encoding="utf-8")
    first = text.index("organisation:")
    text = text[:first] + "organisation: &org " + text[first + len("organisation: ") :]
    second = text.index("organisation:", text.index("organisation: &org") + 1)
    end = text.index("\n", second)
    contacts.write_text(text[:second] + "organisation: *org" + text[end:], encoding="utf-8")
    result = run_cli(example, "check")
    assert result.returncode == 0, result.stderr


def set_setting(project: Path, key: str, value: object) -> None:
    path = project / "composer.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data[key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_an_issue_over_a_megabyte_is_refused_unread(example: Path, run_cli: Cli) -> None:
    text = HEAD + "# " + "x" * 1_000_000 + "\n"
    (example / ISSUE).write_text(text, encoding="utf-8")
    result = run_cli(example, "check", timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{ISSUE}: the file is {len(text):,} bytes, over the limit of 1,000,000" in result.stderr


def test_the_size_limit_is_a_setting(example: Path, run_cli: Cli) -> None:
    sizes = {path.name: path.stat().st_size for path in (example / "issues").glob("*.yaml")}
    set_setting(example, "max_issue_bytes", sorted(sizes.values())[-2])
    result = run_cli(example, "check", "375")
    largest = max(sizes, key=lambda name: sizes[name])
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"issues/{largest}: the file is {sizes[largest]:,} bytes" in result.stderr
    assert [row for row in result.stderr.splitlines() if "over the limit" in row] != []
    assert all(largest in row for row in result.stderr.splitlines() if "over the limit" in row)


def test_problems_are_capped_per_file(example: Path, run_cli: Cli) -> None:
    items = "".join(
        f"  - id: item-{n}\n    title: Item {n}\n    action: Act.\n    bogus: {n}\n" for n in range(30)
    )
    (example / ISSUE).write_text(HEAD + "items:\n" + items, encoding="utf-8")
    result = run_cli(example, "check", "378")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    shown = [row for row in result.stderr.splitlines() if row.startswith(f"{ISSUE}:")]
    assert len(shown) == 21 and all("bogus: unknown field" in row for row in shown[:20])
    assert shown[-1] == f"{ISSUE}: and 10 more problem(s)"
    assert "30 error(s)" in result.stderr


def shared_and_example_files() -> list[Path]:
    names = ["composer.yaml", "contacts.yaml", "recipients/networks.yaml"]
    return [REPO / name for name in names] + sorted((REPO / "issues").glob("*.yaml"))


@pytest.mark.skipif(FAST_LOADER is PURE_LOADER, reason="PyYAML was built without libyaml")
@pytest.mark.parametrize("path", shared_and_example_files(), ids=lambda path: path.name)
def test_libyaml_and_python_read_the_examples_alike(path: Path) -> None:
    text = path.read_text(encoding="utf-8-sig")
    fast, fast_problems = parse_yaml(text, path.name, loader=FAST_LOADER)
    pure, pure_problems = parse_yaml(text, path.name, loader=PURE_LOADER)
    assert fast is not None and pure is not None and not fast_problems and not pure_problems
    assert fast.data == pure.data and fast.lines == pure.lines
    assert len(fast.lines) > 20


@pytest.mark.skipif(FAST_LOADER is PURE_LOADER, reason="PyYAML was built without libyaml")
@pytest.mark.parametrize("case", CORPUS)
def test_libyaml_and_python_refuse_the_corpus_alike(case: str) -> None:
    file, text, line, _ = CORPUS[case]
    aliases = not file.startswith("issues/")
    fast = parse_yaml(text, file, aliases=aliases, loader=FAST_LOADER)
    pure = parse_yaml(text, file, aliases=aliases, loader=PURE_LOADER)
    assert fast[0] is None and pure[0] is None
    assert [p.line for p in fast[1]] == [p.line for p in pure[1]] == [line]
    if not fast[1][0].message.startswith("YAML syntax error"):
        assert fast[1] == pure[1]


def test_a_byte_that_is_not_utf8_is_named_at_its_line(example: Path, run_cli: Cli) -> None:
    (example / ISSUE).write_bytes(HEAD.encode() + b"subject: Zo\xeb\n")
    result = run_cli(example, "check")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{ISSUE}:3: column 12: byte 0xEB is not UTF-8: save the file as UTF-8" in result.stderr


def test_a_draft_over_the_limit_is_refused_as_the_saved_file_would_be(example: Path) -> None:
    """The editor's live check reads a draft: the same size limit as the file, at the same place."""
    path = (example / "issues" / "377.yaml").resolve()
    draft = path.read_text(encoding="utf-8") + "# " + "x" * 1_000_000 + "\n"
    project = load_project(example, drafts={path: draft})
    assert any("over the limit of 1,000,000" in p.message for p in project.problems[path])
    assert 377 not in {s.number for s in project.issues}

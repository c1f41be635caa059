"""`composer check` on good and broken files: every problem at once, with file and line."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Cli

from composer.cli import main
from composer.content.loading import issue_files, load_project

GOOD = """\
number: {number}
date: {date}
items:
  - id: first-item
    title: A first item
    networks: [{network}]
    body: Some *text*.
    action: Do something.
    contacts: [{contact}]
    event: {{place: Somewhere, sessions: [{{date: {date}, start: "10:30"}}]}}
  - id: second-item
    title: A second item
    action: Reply.
"""


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.fixture
def next_issue(example: Path) -> tuple[Path, str]:
    project = load_project(example)
    latest = project.issues[-1].issue
    text = GOOD.format(
        number=latest.number + 1,
        date=latest.date + dt.timedelta(weeks=1),
        network=next(iter(project.networks)),
        contact=next(iter(project.contacts)),
    )
    return example / "issues" / f"{latest.number + 1}.yaml", text


def test_every_example_issue_passes(example: Path) -> None:
    numbers = [s.number for s in load_project(example).issues]
    assert len(numbers) >= 4 and numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    for number in numbers:
        result = CliRunner().invoke(main, ["check", str(number), "--project", str(example)])
        assert result.exit_code == 0, result.output
        assert f"Update No {number}" in result.output


def test_json_output_lists_the_plan(example: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--json", "--project", str(example)])
    data = json.loads(result.output)
    assert data["ok"] is True
    for reminder in data["plan"]["reminders"]:
        assert set(reminder) >= {"id", "title", "first_issue", "reason", "until"}
    assert data["plan"]["reminders"], "the latest example issue carries reminders"


@pytest.mark.parametrize(
    ("change", "marker", "expected"),
    [
        (("  - id: second-item", "  - id: second-item\n    netwroks: [x]"), "netwroks", "unknown field"),
        (("    title: A second item", "    title: [a list"), "title: [a list", "YAML syntax error"),
        (
            ("    action: Reply.", "    action: Reply.\n    deadline: 2019-13-45"),
            "deadline: 2019-13-45",
            "date",
        ),
        (("    action: Reply.", "    action: Reply.\n    networks: nope-network"), "nope-network", "list"),
        (("  - id: second-item", "  - id: first-item"), "- id: first-item\n", "duplicate item id"),
        (("    contacts: [", "    contacts: [nobody-at-all, "), "nobody-at-all", "unknown contact id"),
        (("    networks: [", "    networks: [no-such-network, "), "no-such-network", "unknown network id"),
    ],
)
def test_broken_issue_names_file_and_line(
    next_issue: tuple[Path, str],
    change: tuple[str, str],
    marker: str,
    expected: str,
    run_cli: Cli,
) -> None:
    path, text = next_issue
    path.write_text(text.replace(*change, 1))
    marker_line = marker.strip().split("\n")[0]
    lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if marker_line in line]
    line = lines[-1]
    result = run_cli(path.parent.parent, "check")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    named = f"issues/{path.name}:{line}:" in result.stderr or f"opened on line {line})" in result.stderr
    assert named, result.stderr
    assert expected in result.stderr


def test_every_problem_is_reported_at_once(next_issue: tuple[Path, str], run_cli: Cli) -> None:
    path, text = next_issue
    text = text.replace(
        "    action: Reply.", "    action: Reply.\n    netwroks: [x]\n    deadline: 2019-13-45"
    )
    text = text.replace("    contacts: [", "    contacts: [nobody-at-all, ")
    text = text.replace("    networks: [", "    networks: [no-such-network, ")
    text += "reminders:\n  drop: [no-such-item]\n  keep: {no-such-kept: 2019-12-20}\n"
    path.write_text(text)
    result = run_cli(path.parent.parent, "check")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    markers = ("netwroks", "2019-13-45", "nobody-at-all", "no-such-network", "no-such-item", "no-such-kept")
    for marker in markers:
        assert f"{path.name}:{line_of(path, marker)}:" in result.stderr, marker
    # the same file without its schema errors: the same reference errors, nothing lost or added
    text = text.replace("\n    netwroks: [x]\n    deadline: 2019-13-45", "")
    path.write_text(text)
    again = run_cli(path.parent.parent, "check")
    for marker in markers[2:]:
        assert f"{path.name}:{line_of(path, marker)}:" in again.stderr, marker
    assert again.stderr.count("no earlier item") == result.stderr.count("no earlier item") == 2


def test_broken_shared_files_are_named(example: Path, run_cli: Cli) -> None:
    settings = example / "composer.yaml"
    settings.write_text(settings.read_text() + "\nunknown_setting: 1\n")
    contacts = example / "contacts.yaml"
    contacts.write_text(contacts.read_text() + "\n- id: Bad Id\n  name: x\n")
    result = run_cli(example, "check")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"composer.yaml:{line_of(settings, 'unknown_setting')}: unknown_setting:" in result.stderr
    assert f"contacts.yaml:{line_of(contacts, 'Bad Id')}:" in result.stderr
    assert "role: required field is missing" in result.stderr


def test_a_greeting_names_only_a_members_fields(example: Path, run_cli: Cli) -> None:
    settings = example / "composer.yaml"
    text = settings.read_text(encoding="utf-8")
    text = re.sub(r'  text: "Dear \{first_name\},"', '  text: "Dear {surname},"', text)
    settings.write_text(text.replace("  fallback: Dear colleague,", '  fallback: "Dear {first_name}"'))
    result = run_cli(example, "check")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = line_of(settings, "{surname}")
    assert f"composer.yaml:{line}: greeting.text: {{surname}} is not a member's field" in result.stderr
    line = line_of(settings, "Dear {first_name}")
    assert f"composer.yaml:{line}: greeting.fallback: 'Dear {{first_name}}' is used when" in result.stderr


def test_a_greeting_no_member_can_fill_is_a_warning(example: Path, run_cli: Cli) -> None:
    members = example / "recipients" / "members.csv"
    original = members.read_text(encoding="utf-8")
    rows = [line.split(",", 2) for line in original.splitlines()]
    members.write_text("".join(f"{row[0]},{row[2]}\n" for row in rows), encoding="utf-8")  # no first_name
    result = run_cli(example, "check")
    assert result.returncode == 0, result.stderr
    line = line_of(example / "composer.yaml", "{first_name}")
    expected = f"composer.yaml:{line}: warning: greeting.text: the greeting uses {{first_name}} but no member"
    assert expected in result.stderr and "'Dear colleague,'" in result.stderr
    members.write_text(original, encoding="utf-8")
    assert "the greeting uses" not in run_cli(example, "check").stderr


def test_update_is_refused_for_a_new_item_however_true_is_written(
    next_issue: tuple[Path, str], run_cli: Cli
) -> None:
    path, text = next_issue
    path.write_text(text.replace("    action: Reply.\n", "    action: Reply.\n    update: yes\n"))
    result = run_cli(path.parent.parent, "check")
    assert result.returncode == 1
    line = line_of(path, "update: yes")
    assert f"{path.name}:{line}: items[second-item].update: no earlier item has id" in result.stderr


def test_warnings_do_not_fail_unless_strict(next_issue: tuple[Path, str], run_cli: Cli) -> None:
    path, text = next_issue
    path.write_text(text.replace("    action: Reply.\n", ""))
    result = run_cli(path.parent.parent, "check")
    assert result.returncode == 0
    assert "warning" in result.stderr and "no Action Required text" in result.stderr
    assert run_cli(path.parent.parent, "check", "--strict").returncode == 1


def test_a_gap_in_numbering_is_a_warning(next_issue: tuple[Path, str], run_cli: Cli) -> None:
    path, text = next_issue
    number = int(path.stem) + 1
    gap = path.with_name(f"{number}.yaml")
    gap.write_text(text.replace(f"number: {number - 1}", f"number: {number}"))
    result = run_cli(path.parent.parent, "check", str(number))
    assert result.returncode == 0, result.stderr
    assert "jump" in result.stderr


def test_unsafe_yaml_tags_are_not_executed(
    next_issue: tuple[Path, str], tmp_path: Path, run_cli: Cli
) -> None:
    path, text = next_issue
    canary = tmp_path / "canary"
    path.write_text(
        text.replace("title: A second item", f"title: !!python/object/apply:os.system ['touch {canary}']")
    )
    result = run_cli(path.parent.parent, "check")
    assert not canary.exists()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = line_of(path, "!!python/object")
    expected = f"{path.name}:{line}: YAML tag !!python/object/apply:os.system is not allowed"
    assert expected in result.stderr


def test_issue_argument_takes_a_path_or_a_number(example: Path) -> None:
    latest = issue_files(example)[-1]
    by_path = CliRunner().invoke(main, ["check", str(latest), "--json", "--project", str(example)])
    by_number = CliRunner().invoke(main, ["check", latest.stem, "--json", "--project", str(example)])
    assert json.loads(by_path.output) == json.loads(by_number.output)
    missing = CliRunner().invoke(main, ["check", "9999", "--project", str(example)])
    assert missing.exit_code == 1 and "no issue '9999'" in missing.output


def test_duplicate_yaml_keys_are_errors(next_issue: tuple[Path, str], run_cli: Cli) -> None:
    path, text = next_issue
    path.write_text(text.replace("    title: A second item", "    title: A second item\n    title: Again"))
    result = run_cli(path.parent.parent, "check")
    assert result.returncode == 1
    assert (
        f"{path.name}:{line_of(path, 'title: Again')}: items[second-item].title: duplicate key"
        in result.stderr
    )


def test_control_characters_are_named_at_their_line(next_issue: tuple[Path, str], run_cli: Cli) -> None:
    path, text = next_issue
    path.write_text(text.replace("    title: A second item", '    title: "A second\\e item"'))
    result = run_cli(path.parent.parent, "check")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    expected = f"{path.name}:{line_of(path, 'A second')}: items[second-item].title:"
    assert expected in result.stderr and "U+001B" in result.stderr


def test_carried_items_are_checked_like_items(example: Path, run_cli: Cli) -> None:
    path = example / "issues" / "379.yaml"
    path.write_text(
        "number: 379\ndate: 2019-11-29\ncarried:\n"
        "  - id: later-than-this\n    title: T\n    first_published: 380\n"
        "  - id: together-for-childhood\n    title: T\n    first_published: 300\n"
        "  - id: unknown-contact\n    title: T\n    first_published: 301\n    contacts: [nobody]\n"
    )
    result = run_cli(example, "check", "379")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "issues/379.yaml:6: carried[later-than-this].first_published: first_published 380" in result.stderr
    assert "issues/379.yaml:7: carried[together-for-childhood].id: an earlier issue has" in result.stderr
    assert (
        "issues/379.yaml:13: carried[unknown-contact].contacts: unknown contact id 'nobody'" in result.stderr
    )


def test_a_file_that_is_not_utf8_is_named_at_its_line_and_column(
    next_issue: tuple[Path, str], run_cli: Cli
) -> None:
    path, text = next_issue
    data = text.replace("title: A second item", "title: Café and café – café").encode("utf-8")
    data = data.replace("café –".encode(), b"caf\xe9 \xe2\x80\x93", 1)  # one Latin-1 byte
    path.write_bytes(data)
    result = run_cli(path.parent.parent, "check")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = text.splitlines().index("    title: A second item") + 1
    column = len("    title: Café and caf") + 1
    message = f"{path.name}:{line}: column {column}: byte 0xE9 is not UTF-8: save the file as UTF-8"
    assert message in result.stderr


def test_markdown_in_a_title_and_unknown_session_contacts_are_reported_at_their_lines(example: Path) -> None:
    (example / "issues" / "378.yaml").write_text(
        "number: 378\ndate: 2019-11-15\nitems:\n"
        "  - id: qa-moved\n    title: QA Network – **NEW DATE**\n    action: Note it.\n"
        "    event:\n      sessions:\n"
        "        - {date: 2019-12-06, label: QA Network meeting, contacts: [nobody]}\n",
        encoding="utf-8",
    )
    project = load_project(example)
    found = [(p.line, p.field, p.severity) for p in project.problems[example / "issues" / "378.yaml"]]
    assert (5, "items[qa-moved].title", "warning") in found
    assert (9, "items[qa-moved].event.sessions[0].contacts", "error") in found


def test_a_command_that_only_reads_leaves_the_project_byte_identical(example: Path, run_cli: Cli) -> None:
    """Caches live in the user's cache folder; journals are written only by what sends."""

    def files() -> dict[str, bytes | None]:
        """Every file with its bytes, and every folder (an empty one made counts too)."""
        return {
            str(p.relative_to(example)): p.read_bytes() if p.is_file() else None
            for p in sorted(example.rglob("*"))
        }

    before = files()
    for command in (["check"], ["lists"], ["send", "--dry-run"], ["new", "--help"]):
        result = run_cli(example, *command, env={"COMPOSER_SECRET": "s"})
        assert result.returncode == 0, (command, result.stderr)
        assert files() == before, command

"""Saving from the editor writes the file a person would have written: only what changed changes."""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO

from composer.cli import main
from composer.content.loading import load_project
from composer.content.roundtrip import ChangedOnDisk, apply_changes, load_for_edit, save_issue

EXAMPLES = sorted((REPO / "issues").glob("*.yaml"))


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """The lines removed and added, as a reviewer sees them in the diff."""
    removed: list[str] = []
    added: list[str] = []
    lines = before.splitlines(), after.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, *lines, autojunk=False).get_opcodes():
        if tag != "equal":
            removed += lines[0][i1:i2]
            added += lines[1][j1:j2]
    return removed, added


def test_saving_what_was_loaded_changes_nothing() -> None:
    for path in EXAMPLES:
        loaded = load_for_edit(path, path.name)
        assert apply_changes(loaded.text, loaded.data, loaded.data) == loaded.text, path.name


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_editing_one_word_of_an_item_changes_exactly_one_line(path: Path) -> None:
    loaded = load_for_edit(path, path.name)
    items = loaded.data.get("items") or []
    assert items
    for index, item in enumerate(items):
        for field in ("body", "action", "title"):
            text = item.get(field) or ""
            word = re.search(r"(?<= )[a-z]{4,}(?= )", text)
            if word:
                break
        assert word, item["id"]
        edited = copy.deepcopy(loaded.data)
        edited["items"][index][field] = text[: word.start()] + "CHANGED" + text[word.end() :]
        removed, added = changed_lines(loaded.text, apply_changes(loaded.text, loaded.data, edited))
        assert len(removed) == len(added) == 1, (path.name, item["id"], removed, added)
        assert "CHANGED" in added[0] and added[0].replace("CHANGED", word[0]) == removed[0]


def test_comments_order_quotes_and_blocks_stay(tmp_path: Path) -> None:
    original = (
        "# a comment at the top\n"
        "number: 9   # the number\n"
        "date: 2019-11-15\n"
        "items:\n"
        "  - id: one\n"
        '    title: "Quoted title"\n'
        "    networks: [send]   # why\n"
        "    body: |\n"
        "      First paragraph.\n"
        "\n"
        "      Second paragraph.\n"
        "\n"
        "  - id: two\n"
        "    title: Plain title\n"
    )
    path = tmp_path / "9.yaml"
    path.write_text(original, encoding="utf-8")
    loaded = load_for_edit(path, "9.yaml")
    edited = copy.deepcopy(loaded.data)
    edited["items"][0]["title"] = "Quoted title, changed"
    edited["items"][1]["networks"] = ["send", "adoption"]
    digest = save_issue(path, "9.yaml", edited, loaded.digest)
    text = path.read_text(encoding="utf-8")
    expected = original.replace("Quoted title", "Quoted title, changed")
    expected += "    networks: [send, adoption]\n"
    assert text == expected
    assert load_for_edit(path, "9.yaml").digest == digest
    assert [p.name for p in tmp_path.iterdir()] == ["9.yaml"], "no temporary file is left"


def test_a_file_changed_on_disk_is_refused_with_the_difference(tmp_path: Path) -> None:
    path = tmp_path / "9.yaml"
    path.write_text("number: 9\ndate: 2019-11-15\nsubject: Old\n", encoding="utf-8")
    loaded = load_for_edit(path, "9.yaml")
    path.write_text("number: 9\ndate: 2019-11-15\nsubject: From the text editor\n", encoding="utf-8")
    edited = {**loaded.data, "subject": "Mine"}
    with pytest.raises(ChangedOnDisk) as refused:
        save_issue(path, "9.yaml", edited, loaded.digest)
    assert "-subject: From the text editor" in refused.value.diff
    assert "+subject: Mine" in refused.value.diff
    assert path.read_text(encoding="utf-8").endswith("subject: From the text editor\n")


def test_a_save_with_problems_writes_valid_yaml(example: Path) -> None:
    path = example / "issues" / "377.yaml"
    loaded = load_for_edit(path, "issues/377.yaml")
    edited = copy.deepcopy(loaded.data)
    edited["items"][0]["contacts"] = ["nobody-at-all"]
    edited["items"][0]["event"]["sessions"][0]["start"] = "25:00"
    save_issue(path, "issues/377.yaml", edited, loaded.digest)
    assert load_for_edit(path, "issues/377.yaml").data == edited
    found = [str(p) for p in load_project(example).problems[path.resolve()]]
    assert any("unknown contact id 'nobody-at-all'" in p for p in found), found
    assert any("25:00" in p for p in found), found


def test_items_reminders_and_tools_added_to_a_scaffold_are_only_added_lines(example: Path) -> None:
    assert CliRunner().invoke(main, ["new", "--project", str(example)]).exit_code == 0
    path = example / "issues" / "378.yaml"
    loaded = load_for_edit(path, "issues/378.yaml")
    edited = copy.deepcopy(loaded.data)
    edited["items"] = [
        {
            "id": "new-item",
            "title": "A new item",
            "networks": ["send", "adoption"],
            "body": "A body with [a link](https://www.example.org/a).\n\nTwo paragraphs.\n",
            "action": "Book.",
            "contacts": ["amira-khan"],
            "event": {
                "place": "Crawley",
                "sessions": [
                    {"date": "2019-12-02", "start": "10:00", "end": "12:00"},
                    {"date": "2019-12-09", "start": "10:00", "end": "12:00", "label": "Second"},
                ],
            },
        }
    ]
    edited["tools"] = [{"title": "A report", "url": "https://www.example.org/r", "publisher": "DfE"}]
    edited["reminders"] = {"drop": ["frontline-blueprint"], "keep": {"kinship-advice-line": "2019-12-20"}}
    save_issue(path, "issues/378.yaml", edited, loaded.digest)
    removed, added = changed_lines(loaded.text, path.read_text(encoding="utf-8"))
    assert removed == []
    assert "    networks: [send, adoption]" in added
    assert "    kinship-advice-line: 2019-12-20" in added
    project = load_project(example)
    assert project.problems.get(path.resolve(), []) == []
    issue = project.find("378").issue
    assert [s.date.isoformat() for s in issue.items[0].event.sessions] == ["2019-12-02", "2019-12-09"]
    assert issue.reminders.drop == ["frontline-blueprint"]


def test_a_file_from_windows_keeps_its_byte_order_mark_and_crlf_lines(tmp_path: Path) -> None:
    path = tmp_path / "9.yaml"
    original = "number: 9\r\ndate: 2019-11-15   # a Friday\r\nsubject: An old subject\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + original.encode("utf-8"))
    loaded = load_for_edit(path, "9.yaml")
    save_issue(path, "9.yaml", {**loaded.data, "subject": "A new subject"}, loaded.digest)
    expected = original.replace("An old subject", "A new subject")
    assert path.read_bytes() == b"\xef\xbb\xbf" + expected.encode("utf-8")

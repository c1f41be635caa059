"""`composer build`: the files it writes, the table it prints, and when it fails."""

from __future__ import annotations

import json
from pathlib import Path

import lxml.html
from click.testing import CliRunner

from composer.cli import main
from composer.content.loading import load_project
from composer.email.build import build_issue
from composer.email.check import edition_keys
from composer.email.editions import FULL, edition_name
from composer.lists.recipients import read_lists


def build(example: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["build", *args, "--project", str(example)])
    return result.exit_code, result.output


def test_build_writes_every_edition_and_prints_the_table(example: Path) -> None:
    code, output = build(example, "374")
    assert code == 0, output
    folder = example / "build" / "374"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    project = load_project(example)
    keys = edition_keys(project, read_lists(project))
    served = [name for e in manifest["editions"] for name in e["serves"]]
    assert sorted(served) == sorted(edition_name(key) for key in keys)  # every set of networks, once
    assert [e["serves"][0] for e in manifest["editions"]] == [e["edition"] for e in manifest["editions"]]
    assert len(manifest["editions"]) < len(keys)  # sets with the same items share an edition
    names = [e["edition"] for e in manifest["editions"]]
    lines = output.splitlines()
    assert lines[0].split() == ["edition", "items", "reminders", "HTML", "text"]
    for entry, line in zip(manifest["editions"], lines[1:-1], strict=True):
        html, text = folder / f"{entry['edition']}.html", folder / f"{entry['edition']}.txt"
        assert html.stat().st_size == entry["html_bytes"] and text.stat().st_size == entry["text_bytes"]
        cells = line.split()
        assert cells[0] == entry["edition"]
        assert (int(cells[1]), int(cells[2])) == (len(entry["items"]), len(entry["reminders"]))
        assert cells[3] == f"{entry['html_bytes'] / 1024:.1f}"
        assert cells[5] == f"{entry['text_bytes'] / 1024:.1f}"
    assert lines[-1].endswith("0 error(s), 0 warning(s)")
    index = lxml.html.parse(str(folder / "index.html")).getroot()
    links = {a.get("href") for a in index.xpath("//a")}
    assert {f"{n}.html" for n in names} | {f"{n}.txt" for n in names} <= links


def test_every_example_issue_builds_without_warnings(example: Path) -> None:
    project = load_project(example)
    for sourced in project.issues:
        result = build_issue(project, str(sourced.number))
        assert result.report.problems == [], sourced.number
        assert all(e.level == "" for e in result.editions)


def test_json_and_out_folder(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    code, output = build(example, "375", "--out", str(out), "--json")
    data = json.loads(output)
    assert code == 0 and data["ok"] and data["issue"] == 375 and data["out"] == str(out)
    full = data["editions"][0]
    assert full["edition"] == "full" and full["networks"] is None and full["size"] == "ok"
    assert Path(full["html"]).parent == out and (out / "full.txt").exists()
    assert not (example / "build").exists()


def test_editions_follow_the_members_and_stale_files_go(example: Path) -> None:
    project = load_project(example)
    expected = {r.edition for r in read_lists(project).recipients()}
    assert set(edition_keys(project, read_lists(project))) == {FULL} | expected
    build(example, "374")
    folder = example / "build" / "374"
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    (example / "recipients" / "members.csv").unlink()
    code, _ = build(example, "374")
    assert code == 0
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    served = {name for e in manifest["editions"] for name in e["serves"]}
    assert served == {edition_name(frozenset([n])) for n in project.networks} | {"full"}
    written = {f"{e['edition']}.html" for e in manifest["editions"]}
    assert {p.name for p in folder.glob("*.html")} == written | {"index.html"}
    assert (folder / "notes.txt").exists()


def test_an_edition_gmail_would_clip_fails_the_build(example: Path) -> None:
    words = "A very long report pasted in whole, paragraph after paragraph. " * 10
    body = "\n".join(f"      {words}\n" for _ in range(200))
    (example / "issues" / "378.yaml").write_text(
        "number: 378\ndate: 2019-11-15\nitems:\n  - id: long\n    title: Long\n    action: Read.\n"
        f"    body: |\n{body}",
        encoding="utf-8",
    )
    code, output = build(example)
    assert code == 1
    assert "issues/378.yaml: edition full: the HTML is" in output
    assert "ERROR: Gmail clips at 102 KB" in output
    assert (example / "build" / "378" / "full.html").exists()  # written, to be looked at


def test_a_broken_issue_builds_nothing(example: Path) -> None:
    (example / "issues" / "378.yaml").write_text(
        "number: 378\ndate: 2019-11-15\nitems:\n  - id: Bad Id\n", encoding="utf-8"
    )
    code, output = build(example, "378")
    assert code == 1 and "Traceback" not in output
    assert "issues/378.yaml:4" in output and not (example / "build").exists()

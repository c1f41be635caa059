"""`composer inbox` against an attacker and a busy office's mailbox (issue 18): it never suppresses
the wrong person, never files away a human reply, and no message can stop it."""

from __future__ import annotations

import csv
import json
import os
import socket
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml
from conftest import SECRET, Cli
from mailbox_messages import (
    GRACE,
    delivery_report,
    empty_parts,
    human_reply,
    poison_messages,
    unsubscribe_request,
)

from composer.commands.inbox import inbox
from composer.content.loading import load_project
from composer.delivery.journal import Journal
from composer.delivery.messages import message_id
from composer.delivery.tokens import make_token, unsubscribe_mailto
from composer.lists.recipients import SUPPRESSED_FILE
from composer.locking import hold_lock
from composer.mailbox import classify as classify_module
from composer.mailbox.journal import INBOX_JOURNAL
from composer.views import format_inbox

ENV = {"COMPOSER_SECRET": SECRET}
PETER = "peter.greaves@eastsussex.example"  # networks: ad-education, send, data-benchmarking
CATHERINE = "catherine.blake@eastsussex.example"


def suppressed(project: Path) -> list[tuple[str, str, str]]:
    with (project / SUPPRESSED_FILE).open(encoding="utf-8-sig", newline="") as stream:
        return [(row["email"], row["network"], row.get("reason") or "") for row in csv.DictReader(stream)]


def folder_of(tmp_path: Path, messages: dict[str, bytes]) -> Path:
    folder = tmp_path / "saved"
    folder.mkdir()
    for name, data in messages.items():
        (folder / name).write_bytes(data)
    return folder


def valid_unsubscribe() -> bytes:
    return unsubscribe_request(make_token(CATHERINE, signing_key=SECRET.encode()), sender=CATHERINE)


def journal_rows(project: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(project / ".composer" / INBOX_JOURNAL)
    try:
        return db.execute("SELECT kind, summary FROM seen ORDER BY kind, summary").fetchall()
    finally:
        db.close()


def test_replies_and_signatures_suppress_nobody_and_a_network_unsubscribe_keeps_its_scope(
    example: Path, tmp_path: Path
) -> None:
    link = unsubscribe_mailto(
        "unsubscribe@secip.example.org", make_token(PETER, signing_key=SECRET.encode()), "send"
    )
    subject = unquote(link.partition("?subject=")[2])
    assert subject.endswith("network=send")
    replies = {
        "colleague.eml": human_reply(
            "Hello,\n\nplease send this to my colleague, grace.whitmore@bracknell-forest.example, as well.\n",
            sender="oliver.pratt@bracknell-forest.example",
        ),
        "signature.eml": human_reply(
            "Thank you, see you there.\n\nGrace Whitmore\nBracknell Forest Council, "
            "grace.whitmore@bracknell-forest.example, 01344 352000\n",
            sender=GRACE,
        ),
    }
    network = human_reply(
        "Please take me off this one.\n\nPeter Greaves\nHead of SEND, East Sussex County Council, "
        f"{PETER}, 01273 481000\n",
        sender=PETER,
        subject=subject,
    )
    folder = folder_of(tmp_path, {**replies, "network.eml": network})
    before = suppressed(example)

    report = inbox(example, folder=folder, env=ENV)

    assert suppressed(example)[len(before) :] == [(PETER, "send", "unsubscribed")]
    assert report.counts["reply"] == 2 and report.counts["unsubscribe"] == 1
    assert report.counts["bounce"] == 0
    assert sorted(p.name for p in folder.glob("*.eml")) == sorted(replies)
    for name, data in replies.items():
        assert (folder / name).read_bytes() == data
    assert "2 replies for a person to read, left in the mailbox" in format_inbox(report)


def test_a_report_naming_only_someone_else_suppresses_nobody_and_is_listed_for_review(
    example: Path,
    tmp_path: Path,
    run_cli: Cli,
) -> None:
    settings = load_project(example).settings
    ours = message_id(issue=376, email=GRACE, settings=settings)
    sent = Journal(example / settings.sending.journal, transport="outbox")
    sent.begin(376, GRACE, edition="dcs", message_id=ours)
    sent.finish(376, GRACE, "sent", "written")
    sent.close()
    report_bytes = delivery_report(["departed.colleague@bracknell-forest.example"], returned_id=ours)
    folder = folder_of(tmp_path, {"report.eml": report_bytes})
    before = (example / SUPPRESSED_FILE).read_bytes()

    shown = run_cli(example, "inbox", "--dry-run", "--from-folder", str(folder))
    assert shown.returncode == 0, shown.stderr
    assert "review" in shown.stdout and GRACE in shown.stdout and "nobody suppressed" in shown.stdout
    result = run_cli(example, "inbox", "--json", "--from-folder", str(folder))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    [action] = data["actions"]
    assert action["kind"] == "review" and action["review"] == [GRACE] and action["suppressed"] == []
    assert data["counts"]["review"] == 1
    assert (example / SUPPRESSED_FILE).read_bytes() == before
    assert (folder / "report.eml").exists()


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child processes run_cli starts take the token secret from the environment."""
    monkeypatch.setenv("COMPOSER_SECRET", SECRET)


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "real"])
def test_poison_messages_are_recorded_unreadable_and_the_unsubscribe_after_them_is_handled(
    example: Path,
    tmp_path: Path,
    dry_run: bool,
    run_cli: Cli,
) -> None:
    poison = poison_messages()
    folder = folder_of(tmp_path, {**poison, "z-unsubscribe.eml": valid_unsubscribe()})
    before = suppressed(example)

    result = run_cli(
        example, "inbox", "--json", *(["--dry-run"] if dry_run else []), "--from-folder", str(folder)
    )

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    actions = json.loads(result.stdout)["actions"]
    kinds = {a["message"]: a["kind"] for a in actions}
    assert actions[0]["from"] == "Zo\u00eb Whitfield <zoe.whitfield@brighton-hove.example>"
    assert kinds == {
        "a-raw-utf8-from.eml": "reply",
        "b-empty-from.eml": "reply",
        "c-unknown-8bit.eml": "bounce",
        "d-arabic-digits.eml": "bounce",
        "e-deep-multipart.eml": "unreadable",
        "f-random-bytes.eml": "unreadable",
        "z-unsubscribe.eml": "unsubscribe",
    }
    text = run_cli(example, "inbox", "--dry-run", "--from-folder", str(folder)).stdout
    if dry_run:
        assert "Unreadable, left in place: e-deep-multipart.eml (nested more than 32 deep)" in text
        assert suppressed(example) == before
        return
    assert suppressed(example)[len(before) :] == [
        ("sunita.bains@bracknell-forest.example", "", "bounced"),
        (GRACE, "", "bounced"),
        (CATHERINE, "", "unsubscribed"),
    ]
    unreadable = [summary for kind, summary in journal_rows(example) if kind == "unreadable"]
    assert unreadable == ["nested more than 32 deep", "not an email message: it has no header lines"]
    assert {"e-deep-multipart.eml", "f-random-bytes.eml"} <= {p.name for p in folder.glob("*.eml")}


def test_a_fault_while_classifying_one_message_is_recorded_and_the_run_goes_on(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = classify_module.classify

    def failing(message, *, signing_key):  # type: ignore[no-untyped-def]
        if "broken" in str(message.get("subject", "")):
            raise ValueError("a detector tripped")
        return real(message, signing_key=signing_key)

    monkeypatch.setattr("composer.mailbox.inbox.classify", failing)
    broken = human_reply("hello", sender="someone@elsewhere.example", subject="broken")
    folder = folder_of(tmp_path, {"a.eml": broken, "b.eml": valid_unsubscribe()})

    report = inbox(example, folder=folder, env=ENV)

    assert [(a.handle, a.kind) for a in report.actions] == [("a.eml", "unreadable"), ("b.eml", "unsubscribe")]
    assert report.actions[0].summary == "ValueError: a detector tripped"
    assert ("unreadable", "ValueError: a detector tripped") in journal_rows(example)
    assert (folder / "a.eml").exists()
    again = inbox(example, folder=folder, env=ENV)
    assert again.actions == [] and again.already_seen == 1


def test_caps_on_size_parts_and_depth_refuse_before_parsing_further(example: Path, tmp_path: Path) -> None:
    path = example / "composer.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.setdefault("inbox", {})["max_message_bytes"] = 100_000
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    big = human_reply("x" * 200_000, sender="someone@elsewhere.example")
    folder = folder_of(
        tmp_path,
        {"big.eml": big, "parts.eml": empty_parts(1_001), "fine.eml": empty_parts(999)},
    )

    report = inbox(example, folder=folder, env=ENV, dry_run=True)

    found = {a.handle: (a.kind, a.summary) for a in report.actions}
    assert found["big.eml"] == ("unreadable", f"{len(big):,} bytes, over inbox.max_message_bytes (100,000)")
    assert found["parts.eml"] == ("unreadable", "more than 1,000 parts")
    assert found["fine.eml"][0] == "reply"


def test_a_report_of_20000_recipients_suppresses_the_one_member_it_names(
    example: Path, tmp_path: Path
) -> None:
    gone = [f"gone.{i}@departed.example" for i in range(20_000)]
    folder = folder_of(tmp_path, {"huge.eml": delivery_report([*gone, GRACE])})
    before = suppressed(example)

    report = inbox(example, folder=folder, env=ENV)

    [action] = report.actions
    assert action.kind == "bounce" and [s.email for s in action.suppressed] == [GRACE]
    assert suppressed(example)[len(before) :] == [(GRACE, "", "bounced")]
    assert "and 19,997 more" in action.summary


def test_same_named_messages_of_two_weeks_are_both_kept(example: Path, tmp_path: Path) -> None:
    name = "Undelivered Mail Returned to Sender.eml"
    folder = folder_of(tmp_path, {name: delivery_report([GRACE])})
    first = inbox(example, folder=folder, env=ENV)
    (folder / name).write_bytes(delivery_report(["oliver.pratt@bracknell-forest.example"]))
    second = inbox(example, folder=folder, env=ENV)
    suppressions = [s for report in (first, second) for a in report.actions for s in a.suppressed]

    kept = sorted((folder / "processed").iterdir())
    assert {p.name for p in kept} == {name, "Undelivered Mail Returned to Sender-2.eml"}
    assert [s.email for s in suppressions] == [GRACE, "oliver.pratt@bracknell-forest.example"]


def test_only_regular_files_are_read_from_the_folder(example: Path, tmp_path: Path, run_cli: Cli) -> None:
    folder = folder_of(tmp_path, {"z-unsubscribe.eml": valid_unsubscribe()})
    (folder / "a-folder.eml").mkdir()
    (folder / "b-dangling.eml").symlink_to(tmp_path / "nowhere.eml")
    os.mkfifo(folder / "c-fifo.eml")
    (folder / "d-device.eml").symlink_to("/dev/zero")
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(folder / "e-socket.eml"))

    result = run_cli(example, "inbox", "--from-folder", str(folder), timeout=30)
    listening.close()

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert (
        "Skipped, not regular files: a-folder.eml (a folder), b-dangling.eml (a link to nothing), "
        "c-fifo.eml (a FIFO), d-device.eml (a device), "
        "e-socket.eml (cannot be opened: No such device or address)"
    ) in result.stdout
    assert suppressed(example)[-1] == (CATHERINE, "", "unsubscribed")


def test_a_second_inbox_run_says_one_is_running_and_two_at_once_write_each_row_once(
    example: Path,
    tmp_path: Path,
    run_cli: Cli,
) -> None:
    folder = folder_of(tmp_path, {f"m{i:03}.eml": delivery_report([GRACE]) for i in range(3)})
    (folder / "unsubscribe.eml").write_bytes(valid_unsubscribe())
    with hold_lock(example / ".composer" / INBOX_JOURNAL, busy="held"):  # as a running inbox holds it
        busy = run_cli(example, "inbox", "--from-folder", str(folder))
    assert busy.returncode == 1 and "another `composer inbox` is running" in busy.stderr
    assert "Traceback" not in busy.stderr

    before = suppressed(example)
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: run_cli(example, "inbox", "--from-folder", str(folder)), range(2)))
    for run in runs:
        assert "Traceback" not in run.stdout + run.stderr
        assert run.returncode == 0 or "another `composer inbox` is running" in run.stderr
    assert sorted(suppressed(example)[len(before) :]) == [
        (CATHERINE, "", "unsubscribed"),
        (GRACE, "", "bounced"),
    ]

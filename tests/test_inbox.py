"""`composer inbox`: unsubscribe replies and bounces read from a real Dovecot, or from saved files."""

from __future__ import annotations

import csv
import html as html_module
import json
import os
import re
import subprocess
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml
from conftest import SECRET, Cli, state_files
from imap_server import DOVECOT, USER, ImapServer
from mailbox_messages import (
    EXPECTED,
    LEFT_ALONE,
    SOFT,
    fixture_messages,
    poison_messages,
    unsubscribe_request,
)
from test_preview import get

from composer.content.loading import load_project
from composer.delivery.messages import message_id
from composer.delivery.transport import eml_name
from composer.lists.recipients import SUPPRESSED_FILE, read_lists
from composer.web.preview.server import open_preview

CANARY = "canary-Pa55word-never-printed"
PETER = "peter.greaves@eastsussex.example"  # networks: ad-education, send, data-benchmarking


@pytest.fixture
def dovecot() -> Iterator[ImapServer]:
    if not DOVECOT.exists():
        message = f"Debian's dovecot-imapd is not installed at {DOVECOT} (make test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    server = ImapServer(CANARY).start()
    yield server
    server.stop()


def composer(
    run_cli: Cli, project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real command with only the environment the test gives it: the password never shown."""
    base = {"COMPOSER_SECRET": SECRET, "COMPOSER_IMAP_PASSWORD": CANARY}
    result = run_cli(project, *args, env={**base, **(env or {})}, inherit=False)
    assert CANARY not in result.stdout + result.stderr
    return result


def set_inbox(project: Path, server: ImapServer, **fields: object) -> None:
    path = project / "composer.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["inbox"] = {
        "host": "127.0.0.1",
        "port": server.tls_port,
        "security": "tls",
        "username": USER,
        "ca_file": str(server.cert),
        **fields,
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def suppressed_rows(project: Path) -> list[dict[str, str]]:
    with (project / SUPPRESSED_FILE).open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def saved_folder(folder: Path, names: tuple[str, ...] | None = None) -> Path:
    folder.mkdir()
    for name, data in fixture_messages(SECRET).items():
        if names is None or name in names:
            (folder / name).write_bytes(data)
    return folder


def test_inbox_over_imap_suppresses_the_right_people_and_deletes_nothing(
    example: Path,
    dovecot: ImapServer,
    run_cli: Cli,
) -> None:
    sent = composer(run_cli, example, "send", "376", "--yes", "--transport", "outbox")
    assert sent.returncode == 0, sent.stderr
    messages = fixture_messages(SECRET)
    for name, data in messages.items():
        dovecot.deliver(name, data)
    set_inbox(example, dovecot)
    before = suppressed_rows(example)

    result = composer(run_cli, example, "inbox", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)

    added = {row["email"]: row for row in suppressed_rows(example)[len(before) :]}
    for email, network, reason, status in EXPECTED.values():
        row = added.pop(email)
        assert (row["network"], row["reason"], row["detail"]) == (network, reason, status)
        assert row["issue"] == "376" and row["date"]  # the Update they answer or bounced
    assert added == {}
    assert report["counts"] == {
        "unsubscribe": 2,
        "bounce": 4,
        "soft-bounce": 1,
        "review": 1,
        "reply": 2,
        "ignored": 2,
        "unreadable": 0,
    }
    # The forwarded copy's report names only r.morgan@staff…: Rhys is tied to it by our Message-ID alone.
    [review] = [a for a in report["actions"] if a["kind"] == "review"]
    assert review["review"] == ["rhys.morgan@brighton-hove.example"] and review["suppressed"] == []
    femi = next(a for a in report["actions"] if a["kind"] == "soft-bounce")
    assert femi["soft_bounces_counted"] == [{"email": "femi.adebayo@brighton-hove.example", "issue": 376}]
    assert "4.2.2" in femi["evidence"]

    left = dovecot.messages()
    kept = (*LEFT_ALONE, "postfix-forwarded.eml")
    assert sorted(left) == sorted(messages[name] for name in kept)
    assert len(dovecot.messages("composer/processed")) == len(messages) - len(kept)

    csv_before = (example / SUPPRESSED_FILE).read_bytes()
    again = composer(run_cli, example, "inbox", "--json")
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert second["actions"] == [] and second["already_seen"] == len(kept)
    assert (example / SUPPRESSED_FILE).read_bytes() == csv_before
    for path in (example / ".composer").iterdir():
        assert CANARY.encode() not in path.read_bytes()

    shown = composer(run_cli, example, "lists")
    assert "Suppressions (recipients/suppressed.csv):" in shown.stdout and "4 bounced" in shown.stdout

    assert composer(run_cli, example, "send", "377", "--yes", "--transport", "outbox").returncode == 0
    written = {path.name for path in (example / "outbox" / "377").glob("*.eml")}
    project = load_project(example)
    everyone = {person.email for person in read_lists(project).people}
    gone = {email for email, network, _, _ in EXPECTED.values() if not network}
    assert written == {eml_name(email) for email in everyone - gone - {"ben.walsh@milton-keynes.example"}}
    zoe = read_lists(project).find("zoe.whitfield@brighton-hove.example")
    assert zoe is not None and read_lists(project).networks_of(zoe) == {
        "ad-safeguarding",
        "quality-assurance",
    }


def test_a_self_signed_certificate_is_refused_unless_its_ca_is_named(
    example: Path,
    dovecot: ImapServer,
    run_cli: Cli,
) -> None:
    dovecot.deliver("unrelated.eml", fixture_messages(SECRET)["unrelated.eml"])
    set_inbox(example, dovecot, ca_file=None)
    refused = composer(run_cli, example, "inbox", "--dry-run")
    assert refused.returncode == 1
    assert "certificate is not trusted" in refused.stderr and "inbox.ca_file" in refused.stderr

    set_inbox(example, dovecot, port=dovecot.port, security="starttls", ca_file=None)
    assert "certificate is not trusted" in composer(run_cli, example, "inbox", "--dry-run").stderr
    set_inbox(example, dovecot, port=dovecot.port, security="starttls", ca_file=str(dovecot.cert))
    trusted = composer(run_cli, example, "inbox", "--dry-run")
    assert trusted.returncode == 0, trusted.stderr
    assert "1 reply" in trusted.stdout and len(dovecot.messages()) == 1


def test_plain_text_only_to_loopback_and_a_wrong_password_is_named_not_shown(
    example: Path,
    dovecot: ImapServer,
    run_cli: Cli,
) -> None:
    set_inbox(example, dovecot, port=dovecot.port, security="none")
    remote = composer(
        run_cli, example, "inbox", "--dry-run", env={"COMPOSER_IMAP_HOST": "imap.secip.example.org"}
    )
    assert (
        remote.returncode == 1 and "plain text" in remote.stderr and "inbox.allow_plaintext" in remote.stderr
    )
    assert composer(run_cli, example, "inbox", "--dry-run").returncode == 0

    wrong = composer(run_cli, example, "inbox", env={"COMPOSER_IMAP_PASSWORD": "not-" + CANARY})
    assert wrong.returncode == 1 and "refused the login" in wrong.stderr
    assert CANARY not in wrong.stderr
    missing = composer(run_cli, example, "inbox", env={"COMPOSER_IMAP_PASSWORD": ""})
    assert missing.returncode == 1 and "COMPOSER_IMAP_PASSWORD" in missing.stderr
    set_inbox(example, dovecot, host=None)
    nowhere = composer(run_cli, example, "inbox")
    assert nowhere.returncode == 1 and "no IMAP host: set inbox.host" in nowhere.stderr


def test_dry_run_from_a_folder_shows_the_evidence_and_changes_nothing(
    example: Path, tmp_path: Path, run_cli: Cli
) -> None:
    folder = saved_folder(tmp_path / "saved")
    files = sorted(path.name for path in folder.iterdir())
    csv_before = (example / SUPPRESSED_FILE).read_bytes()
    result = composer(run_cli, example, "inbox", "--dry-run", "--from-folder", str(folder))
    assert result.returncode == 0, result.stderr
    assert "Dry run: nothing is changed." in result.stdout
    assert (
        "evidence: Diagnostic-Code: smtp; 550 5.1.1 <oliver.pratt@bracknell-forest.example>" in result.stdout
    )
    assert (
        "Would do: suppress harriet.cole@buckinghamshire.example from every network as bounced"
        in result.stdout
    )
    assert "token is not valid (forged or damaged)" in result.stdout
    assert sorted(path.name for path in folder.iterdir()) == files
    assert (example / SUPPRESSED_FILE).read_bytes() == csv_before
    assert state_files(example) == []


def test_a_folder_run_moves_handled_files_and_leaves_the_rest(
    example: Path, tmp_path: Path, run_cli: Cli
) -> None:
    folder = saved_folder(tmp_path / "saved")
    result = composer(run_cli, example, "inbox", "--from-folder", str(folder))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in folder.glob("*.eml")) == sorted(LEFT_ALONE + ("postfix-forwarded.eml",))
    assert {p.name for p in (folder / "processed").iterdir()} == {*EXPECTED, SOFT}
    preview = open_preview(example, port=0).start()
    try:
        _, _, body = get(preview, "/")
    finally:
        preview.close()
    shown = " ".join(body.split('id="inbox">')[1].split("</p>")[0].split())
    assert shown.endswith(
        ": 2 unsubscribe, 4 bounce, 1 soft-bounce, 0 review, 2 reply, 3 ignored, 0 unreadable."
    )
    assert (
        "0 unsubscribe, 0 bounce, 0 soft-bounce, 0 review, 0 reply, 0 ignored, 0 unreadable; "
        "5 already handled" in composer(run_cli, example, "inbox", "--from-folder", str(folder)).stdout
    )


def mailbox_full(issue: int) -> bytes:
    """A 4.2.2 report about femi's copy of Update `issue` (its Message-ID returned in the headers)."""
    project = load_project(Path(__file__).resolve().parent.parent)
    ours = message_id(issue=issue, email="femi.adebayo@brighton-hove.example", settings=project.settings)
    data = fixture_messages(SECRET)[SOFT]
    data = data.replace(b"<update-376.8996a9adc9d2725d42b0d524@secip.example.org>", ours.encode())
    return data.replace(b"7E1F2A3B4C@", f"7E1F2A3B4C.{issue}@".encode())


@pytest.mark.parametrize(("issues", "suppressed"), [((375, 376, 377), True), ((374, 375, 377), False)])
def test_soft_bounces_suppress_after_three_consecutive_updates(
    example: Path,
    tmp_path: Path,
    issues: tuple[int, ...],
    suppressed: bool,
    run_cli: Cli,
) -> None:
    folder = tmp_path / "saved"
    folder.mkdir()
    for issue in issues:
        (folder / f"full-{issue}.eml").write_bytes(mailbox_full(issue))
    result = composer(run_cli, example, "inbox", "--from-folder", str(folder))
    assert result.returncode == 0, result.stderr
    rows = [row for row in suppressed_rows(example) if row["email"] == "femi.adebayo@brighton-hove.example"]
    if suppressed:
        assert [(r["reason"], r["issue"]) for r in rows] == [("soft-bounced", "377")]
        assert rows[0]["detail"] == "3 soft bounces in a row; last 4.2.2"
    else:
        assert rows == []
        assert result.stdout.count("count a soft bounce for femi.adebayo@brighton-hove.example") == 3


def test_the_footer_offers_each_network_by_mailto_and_one_click_only_with_https(
    example: Path,
    tmp_path: Path,
    run_cli: Cli,
) -> None:
    assert composer(run_cli, example, "send", "376", "--yes", "--transport", "outbox").returncode == 0
    sent = message_from_bytes(
        (example / "outbox" / "376" / eml_name(PETER)).read_bytes(), policy=policy.default
    )
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sent["List-Unsubscribe"].startswith("<https://updates.secip.example.org/unsubscribe?token=")
    html = sent.get_body(("html",)).get_content()  # type: ignore[union-attr]
    links = dict(re.findall(r'<a [^>]*href="(mailto:[^"]+)"[^>]*>([^<]+)</a>', html))
    names = {"Stop receiving news of SEND Network", "Stop receiving news of Data Benchmarking Group"}
    assert names | {"Unsubscribe from all"} <= set(links.values())
    send_link = next(link for link, text in links.items() if text.endswith("SEND Network"))
    assert send_link in sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    # The reader clicks "Stop receiving news of SEND Network"; their mail client sends the reply.
    folder = tmp_path / "replies"
    folder.mkdir()
    subject = unquote(html_module.unescape(send_link).partition("?subject=")[2])
    (folder / "reply.eml").write_bytes(unsubscribe_request("", sender=PETER, subject=subject))
    assert composer(run_cli, example, "inbox", "--from-folder", str(folder)).returncode == 0
    assert [(r["email"], r["network"]) for r in suppressed_rows(example)][-1] == (PETER, "send")

    path = example / "composer.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["sending"]["unsubscribe_url"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert composer(run_cli, example, "send", "377", "--yes", "--transport", "outbox").returncode == 0
    later = message_from_bytes(
        (example / "outbox" / "377" / eml_name(PETER)).read_bytes(), policy=policy.default
    )
    assert "List-Unsubscribe-Post" not in later
    assert later["List-Unsubscribe"].startswith(
        "<mailto:unsubscribe@secip.example.org?subject=unsubscribe%20"
    )
    assert "Unsubscribe on the web" not in later.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "SEND Network" not in " ".join(re.findall(r"Stop receiving news of [^<]+", later.as_string()))


def test_over_imap_a_poison_message_is_unreadable_and_the_unsubscribe_after_it_is_handled(
    example: Path,
    dovecot: ImapServer,
    run_cli: Cli,
) -> None:
    poison = poison_messages()
    dovecot.deliver("deep.eml", poison["e-deep-multipart.eml"])
    dovecot.deliver("random.eml", poison["f-random-bytes.eml"])
    dovecot.deliver("big.eml", b"Subject: big\nMessage-ID: <big@elsewhere.example>\n\n" + b"x" * 2_000_000)
    dovecot.deliver("unsubscribe.eml", fixture_messages(SECRET)["unsubscribe-all.eml"])
    set_inbox(example, dovecot, max_message_bytes=1_000_000)

    result = composer(run_cli, example, "inbox", "--json")

    assert result.returncode == 0, result.stderr
    kinds = sorted((a["kind"], a["summary"]) for a in json.loads(result.stdout)["actions"])
    assert kinds == [
        (
            "unreadable",
            "2,000,053 bytes, over inbox.max_message_bytes (1,000,000)",
        ),  # CRLF, as the server counts
        ("unreadable", "nested more than 32 deep"),
        ("unreadable", "not an email message: it has no header lines"),
        ("unsubscribe", "catherine.blake@eastsussex.example from every network"),
    ]
    assert suppressed_rows(example)[-1]["email"] == "catherine.blake@eastsussex.example"
    assert len(dovecot.messages()) == 3 and len(dovecot.messages("composer/processed")) == 1
    assert json.loads(composer(run_cli, example, "inbox", "--json").stdout)["already_seen"] == 3


def test_imap_messages_come_in_batches_each_whole_or_its_head(
    dovecot: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages are fetched a batch at a time (a round trip each, not one per message), in UID
    order, each one whole, or only its head when it is over the cap."""
    from composer.content.settings import Inbox
    from composer.mailbox import sources
    from composer.mailbox.parse import HEAD_BYTES

    sent = [f"Subject: {n}\r\n\r\n".encode() + b"x" * (200 * n) for n in range(1, 8)]
    big = b"Subject: big\r\n\r\n" + b"y" * (3 * HEAD_BYTES)
    sent.insert(3, big)
    for index, data in enumerate(sent):
        dovecot.deliver(f"{index:02}.eml", data)
    monkeypatch.setattr(sources, "FETCH_BATCH", 3, raising=False)
    inbox = Inbox(
        host="127.0.0.1",
        port=dovecot.tls_port,
        security="tls",
        username=USER,
        ca_file=str(dovecot.cert),
        max_message_bytes=2 * HEAD_BYTES,
    )
    with sources.ImapSource(inbox, {"COMPOSER_IMAP_PASSWORD": CANARY}, create_folder=False) as source:
        assert source._box is not None
        client, fetches = source._box.client, []
        real = client.uid
        monkeypatch.setattr(client, "uid", lambda *args: fetches.append(args) or real(*args))
        got = list(source.messages())
    assert [incoming.data.replace(b"\r\n", b"\n") for incoming in got] == [
        (data[:HEAD_BYTES] if data is big else data).replace(b"\r\n", b"\n") for data in sent
    ]
    assert [int(incoming.handle) for incoming in got] == sorted(int(incoming.handle) for incoming in got)
    whole, head = "(UID BODY.PEEK[])", f"(UID BODY.PEEK[]<0.{HEAD_BYTES}>)"
    asked = [
        (len(args[1].split(",")), args[2]) for args in fetches if args[0] == "FETCH" and "BODY" in args[2]
    ]
    assert asked == [(3, whole), (1, head), (3, whole), (1, whole)]


def test_a_fetch_answer_gives_each_body_its_uid_whichever_side_the_uid_is_sent() -> None:
    """RFC 3501 leaves the order of a FETCH's items to the server: imaplib gives a literal with
    what came before it, and what follows it as the next item."""
    from composer.mailbox.sources import bodies_by_uid

    response = [
        (b"1 (UID 5 BODY[] {3}", b"one"),
        b")",
        (b"2 (BODY[] {3}", b"two"),
        b" UID 7)",
        (b"3 (FLAGS (\\Seen) BODY[] {5}", b"three"),
        b" FLAGS () UID 9)",
        (b"4 (BODY[] {4}", b"lost"),  # no UID on either side: not given to anyone
        b")",
    ]
    assert bodies_by_uid(response) == {"5": b"one", "7": b"two", "9": b"three"}

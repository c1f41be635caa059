"""Sending against a real SMTP server (aiosmtpd on 127.0.0.1): editions, faults, crashes, reruns."""

from __future__ import annotations

import html
import json
import re
import shutil
import signal
import ssl
import subprocess
import time
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SECRET, Cli, set_sending, state_files, write_members
from smtp_server import DROP, TAKE_THEN_DROP, TAKE_THEN_STALL, Received, Recorder, SmtpServer

from composer.cli import main
from composer.commands.send import copy_to, dry_run, send
from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.content.settings import Smtp
from composer.delivery.journal import Journal
from composer.delivery.sending import SendReport
from composer.delivery.tokens import verify_token
from composer.email.editions import edition_key, receives
from composer.errors import ComposerError, SendingError, ValidationFailed
from composer.lists.recipients import SUPPRESSED_FILE, read_lists

UTF8_TITLE = "Budget “round two” – £1.5m for the region’s SEND pilots"
UTF8_ITEM = f"""
  - id: budget-round-two
    title: "{UTF8_TITLE}"
    body: "Bids close at 5pm – send them to the “SEND pilots” inbox; up to £250,000 each."
    action: Reply by Friday.

"""
SMALL = (
    "ann@kent.example,Ann Lee,Kent,dcs",
    "bob@kent.example,Bob Stone,Kent,send",
    "cat@kent.example,Cat Ng,Kent,dcs;send",
    "dan@kent.example,Dan Ito,Kent,send",
    "eve@kent.example,Eve Roe,Kent,dcs",
    "fay@kent.example,Fay Orr,Kent,",
)
SMALL_ADDRESSES = {row.split(",")[0] for row in SMALL}


def journal_counts(project: Path, issue: int = 377, transport: str = "smtp") -> dict[str, int]:
    journal = Journal(project / ".composer" / "journal.sqlite", transport=transport)
    try:
        return journal.counts(issue)
    finally:
        journal.close()


def received_once(recorder: Recorder) -> dict[str, object]:
    found = recorder.by_recipient()
    assert all(len(messages) == 1 for messages in found.values()), {a: len(m) for a, m in found.items()}
    return {address: messages[0] for address, messages in found.items()}


@pytest.fixture
def small(fast: Path) -> Path:
    write_members(fast, *SMALL)
    return fast


def test_every_member_gets_exactly_one_message_with_their_edition(fast: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    issue_file = fast / "issues" / "377.yaml"
    source = issue_file.read_text(encoding="utf-8")
    issue_file.write_text(source.replace("\ntools:", UTF8_ITEM + "tools:", 1), encoding="utf-8")
    project = load_project(fast)
    lists = read_lists(project)
    expected = {r.person.email.lower(): r for r in lists.recipients()}
    plan = plan_for(project, 377)
    started = time.time()

    report = send(fast, env=send_env)

    assert (report.sent, report.failed, report.deferred, report.ok) == (len(expected), [], [], True)
    messages = received_once(smtp_server.recorder)
    assert set(messages) == set(expected)
    ids = set()
    greetings: set[str] = set()
    for address, received in messages.items():
        recipient = expected[address]
        assert received.sender == "update@secip.example.org"  # type: ignore[attr-defined]
        message = received.message()  # type: ignore[attr-defined]
        assert message.get_content_type() == "multipart/alternative" and message["MIME-Version"] == "1.0"
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        assert [p.get_content_charset() for p in message.iter_parts()] == ["utf-8", "utf-8"]
        assert not message.defects and not any(p.defects for p in message.iter_parts())
        sender = message["From"].addresses[0]
        assert (sender.display_name, sender.addr_spec) == (
            "SECIP Programme Office",
            "update@secip.example.org",
        )
        assert message["Reply-To"] == "programme@secip.example.org"
        assert abs(parsedate_to_datetime(message["Date"]).timestamp() - started) < 120
        assert message["List-Id"] == "SECIP Update <update.secip.example.org>"
        text, markup = (part.get_content() for part in message.iter_parts())
        page = " ".join(html.unescape(markup).split())
        flat = " ".join(text.split())
        for item in plan.issue.items:
            wanted = receives(item, edition_key(recipient.networks))
            assert (item.title in page) is wanted, (address, item.id)
            assert (" ".join(item.title.split()) in flat) is wanted, (address, item.id)
        assert UTF8_TITLE in page and "“SEND pilots” inbox; up to £250,000" in flat
        to = message["To"].addresses[0]
        assert (to.addr_spec.lower(), to.display_name) == (address, recipient.person.name)
        first_name = recipient.person.first_name
        greeting = f"Dear {first_name}," if first_name else "Dear colleague,"  # composer.yaml's greeting
        assert greeting in text.splitlines() and f">{greeting}<" in page
        greetings.add(greeting)
        assert message["Subject"] == "SECIP Update No 377 – 8 November 2019"
        long = [line for line in text.splitlines() if len(line) > 78 and " " in line.strip()]
        assert not long, long  # the personal values are spliced in without breaking the wrap
        token = re.search(r"token=([A-Za-z0-9_.-]+)>", str(message["List-Unsubscribe"]))
        assert token and verify_token(token[1], signing_key=SECRET.encode()).email == address
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        ids.add(message["Message-ID"])
    assert len(ids) == len(messages)
    assert {"Dear colleague,", "Dear Sunita,", "Dear Zoë,"} <= greetings  # "Cllr Sunita Bains" on the list
    assert journal_counts(fast)["sent"] == len(expected)

    again = send(fast, env=send_env)
    assert (again.sent, again.plan.already_sent, len(smtp_server.recorder.received)) == (
        0,
        len(expected),
        len(expected),
    )


def test_faults_are_retried_or_recorded_and_nobody_gets_two(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    recorder = smtp_server.recorder
    recorder.fault("RCPT:ann@kent.example", "451 4.7.1 greylisted, try again")
    recorder.fault("MAIL", "421 4.3.2 service shutting down", DROP)
    recorder.fault("RCPT:bob@kent.example", "550 5.1.1 no such user")
    recorder.fault("DATA:cat@kent.example", DROP)  # after the content: it may have arrived
    recorder.fault("DATA:dan@kent.example", "452 4.3.1 insufficient storage")

    report = send(small, env=send_env)

    assert set(received_once(recorder)) == SMALL_ADDRESSES - {"bob@kent.example", "cat@kent.example"}
    assert [(o.email, o.reply) for o in report.failed] == [("bob@kent.example", "550 5.1.1 no such user")]
    assert [o.email for o in report.uncertain] == ["cat@kent.example"]
    assert (report.sent, report.deferred) == (4, [])
    assert recorder.seen.count(("RCPT", "bob@kent.example")) == 1
    assert recorder.seen.count(("DATA", "DATA:cat@kent.example")) == 1
    assert journal_counts(small) == {"pending": 0, "in_flight": 1, "sent": 4, "deferred": 0, "failed": 1}

    again = send(small, env=send_env)
    assert again.sent == 0 and [o.email for o in again.plan.failed_before] == ["bob@kent.example"]
    assert again.plan.uncertain == ("cat@kent.example",)
    assert recorder.seen.count(("RCPT", "bob@kent.example")) == 1 and not again.ok


def test_a_lasting_temporary_failure_is_deferred_for_the_next_run(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    recorder = smtp_server.recorder
    recorder.always["RCPT:dan@kent.example"] = "451 4.3.0 mailbox busy"
    report = send(small, env=send_env)
    assert [(o.email, o.reply) for o in report.deferred] == [("dan@kent.example", "451 4.3.0 mailbox busy")]
    assert recorder.seen.count(("RCPT", "dan@kent.example")) == 4  # the first try and three retries
    assert journal_counts(small)["deferred"] == 1 and not report.ok

    del recorder.always["RCPT:dan@kent.example"]
    again = send(small, env=send_env)
    assert (again.sent, again.plan.already_sent) == (1, 5)
    assert set(received_once(recorder)) == SMALL_ADDRESSES


def test_sending_pauses_when_every_attempt_fails(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    set_sending(small, pause_after=3)
    smtp_server.recorder.always["MAIL"] = "421 4.7.0 account temporarily locked"
    report = send(small, env=send_env)
    assert (
        report.stopped
        and report.stopped.startswith("paused")
        and "account temporarily locked" in report.stopped
    )
    assert report.sent == 0 and smtp_server.recorder.received == []
    assert len([s for s in smtp_server.recorder.seen if s[0] == "MAIL"]) < 3 + 4  # it did not burn the list
    assert journal_counts(small)["sent"] == 0

    del smtp_server.recorder.always["MAIL"]
    again = send(small, env=send_env)
    assert again.sent == len(SMALL) and set(received_once(smtp_server.recorder)) == SMALL_ADDRESSES


def test_a_sender_refused_for_good_stops_the_send(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    smtp_server.recorder.always["MAIL"] = "550 5.7.60 client does not have permission to send as this sender"
    report = send(small, env=send_env)
    assert "refused the sender" in (report.stopped or "") and not report.ok
    assert (report.sent, report.failed, report.not_attempted) == (0, [], len(SMALL))
    assert journal_counts(small)["failed"] == 0 and smtp_server.recorder.received == []


def test_a_fatal_error_on_one_connection_lets_the_others_finish_and_still_reports(
    small: Path, smtp_server, send_env
) -> None:  # type: ignore[no-untyped-def]
    set_sending(small, smtp={"connections": 2})
    recorder = smtp_server.recorder
    recorder.data_delay = 0.5  # the first connection is in the middle of DATA when the second is refused
    recorder.fault("MAIL", "", "550 5.7.60 client does not have permission to send as this sender")
    report = send(small, env=send_env)
    assert report.stopped and "refused the sender" in report.stopped
    assert (report.sent, report.uncertain, report.not_attempted) == (1, [], len(SMALL) - 1)
    assert len(received_once(recorder)) == 1
    assert journal_counts(small) == {"pending": 5, "in_flight": 0, "sent": 1, "deferred": 0, "failed": 0}


def test_stopping_does_not_wait_for_the_rate_limit(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    set_sending(small, pause_after=1, smtp={"connections": 2})
    smtp_server.recorder.fault("MAIL", "451 4.3.0 try again later")
    started = time.monotonic()
    # The second connection's slot is 20 s away; half of that leaves room for a loaded machine.
    report = send(small, rate=3, env=send_env)
    assert time.monotonic() - started < 10
    assert report.stopped and report.stopped.startswith("paused")
    assert [command for command, _ in smtp_server.recorder.seen] == ["MAIL"]
    assert smtp_server.recorder.received == [] and report.sent == 0
    assert journal_counts(small) == {"pending": 5, "in_flight": 0, "sent": 0, "deferred": 1, "failed": 0}


def test_a_message_taken_without_an_answer_is_held_never_sent_twice(
    small: Path, smtp_server, send_env
) -> None:  # type: ignore[no-untyped-def]
    assert Smtp().data_timeout >= 600  # RFC 5321 4.5.3.2.6: wait 10 minutes for the reply to the content
    set_sending(small, smtp={"data_timeout": 0.5})
    recorder = smtp_server.recorder
    recorder.fault("DATA:cat@kent.example", TAKE_THEN_STALL)
    recorder.fault("DATA:dan@kent.example", TAKE_THEN_DROP)
    held = {"cat@kent.example", "dan@kent.example"}

    report = send(small, env=send_env)

    assert {o.email for o in report.uncertain} == held and not report.ok
    assert (report.sent, report.deferred, report.failed) == (4, [], [])
    assert set(received_once(recorder)) == SMALL_ADDRESSES
    assert recorder.seen.count(("DATA", "DATA:cat@kent.example")) == 1  # never retried
    assert journal_counts(small) == {"pending": 0, "in_flight": 2, "sent": 4, "deferred": 0, "failed": 0}

    rerun = CliRunner().invoke(main, ["send", "--yes", "--project", str(small)], env=send_env)
    assert rerun.exit_code == 1 and "uncertain 2" in rerun.output
    assert "cat@kent.example" in rerun.output and "dan@kent.example" in rerun.output
    assert set(received_once(recorder)) == SMALL_ADDRESSES

    final = send(small, resend_uncertain=True, env=send_env)
    assert final.sent == 2 and final.ok
    assert {a: len(m) for a, m in recorder.by_recipient().items() if len(m) > 1} == dict.fromkeys(held, 2)
    assert journal_counts(small)["sent"] == len(SMALL)


def test_an_outbox_run_does_not_stop_a_later_smtp_send(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    set_sending(small, rate_per_day=len(SMALL))
    outbox = send(small, env={"COMPOSER_SECRET": SECRET})
    assert (outbox.plan.transport, outbox.sent) == ("outbox", len(SMALL))
    report = send(small, env=send_env)
    assert (report.plan.transport, report.sent, report.plan.already_sent, report.ok) == (
        "smtp",
        len(SMALL),
        0,
        True,
    )
    assert set(received_once(smtp_server.recorder)) == SMALL_ADDRESSES
    assert journal_counts(small, transport="outbox")["sent"] == len(SMALL)
    assert send(small, env={"COMPOSER_SECRET": SECRET}).plan.already_sent == len(SMALL)


def test_smtp_settings_from_the_environment_are_checked(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SendingError, match="does not offer STARTTLS"):
        send(small, env={**send_env, "COMPOSER_SMTP_SECURITY": "STARTTLS"})
    for variable, value in [("COMPOSER_SMTP_PORT", "smtp"), ("COMPOSER_SMTP_SECURITY", "ssl")]:
        result = CliRunner().invoke(
            main, ["send", "--dry-run", "--project", str(small)], env={**send_env, variable: value}
        )
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert f"Error: {variable}={value!r}:" in result.stderr
    assert smtp_server.recorder.seen == []


def test_dry_run_with_to_is_refused_and_sends_nothing(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        main, ["send", "--dry-run", "--to", "me@example.org", "--project", str(small)], env=send_env
    )
    assert result.exit_code == 1 and "cannot go together" in result.stderr
    assert smtp_server.recorder.seen == [] and not (small / "outbox").exists()


def test_the_emailed_link_unsubscribes_from_every_network_and_the_office_can_narrow_it(
    small: Path, smtp_server, send_env
) -> None:  # type: ignore[no-untyped-def]
    """One email per person, so its one-click link covers all their networks; `--network` narrows it."""
    send(small, env=send_env)
    message = received_once(smtp_server.recorder)["cat@kent.example"].message()  # type: ignore[attr-defined]
    token = re.search(r"token=([A-Za-z0-9_.-]+)>", str(message["List-Unsubscribe"]))
    assert token and verify_token(token[1], signing_key=SECRET.encode()).network is None
    assert f"token={token[1]}" in message.get_body(("plain",)).get_content()
    result = CliRunner().invoke(
        main,
        ["unsubscribe", token[1], "--network", "send", "--project", str(small)],
        env={"COMPOSER_SECRET": SECRET},
    )
    assert result.exit_code == 0 and "unsubscribed from network send" in result.output
    assert (small / SUPPRESSED_FILE).read_text().splitlines()[-1].startswith("cat@kent.example,send,")
    editions = {e.name: e.sample for e in dry_run(small, env=send_env).editions}
    assert "cat@kent.example" in editions["dcs"] and "dcs+send" not in editions


def wait_for(condition, seconds: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def killed_midway(
    run_cli: Cli, project: Path, env: dict[str, str], recorder: Recorder, count: int, delay: float
) -> set[str]:
    """Start `composer send` over two connections and SIGKILL it once the server has `count`
    messages (each taking `delay` seconds); everyone who should get the issue."""
    set_sending(project, smtp={"connections": 2})
    recorder.data_delay = delay
    everyone = {r.person.email.lower() for r in read_lists(load_project(project)).recipients()}
    process = run_cli.start(project, "send", "--yes", env=env)
    wait_for(lambda: len(recorder.received) >= count)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    wait_for(lambda: recorder.connections == 0)  # every connection closed: no message still arriving
    assert count <= len(recorder.by_recipient()) < len(everyone)
    recorder.data_delay = 0
    return everyone


def resumed(
    project: Path, env: dict[str, str], recorder: Recorder, everyone: set[str]
) -> tuple[SendReport, set[str], dict[str, list[Received]]]:
    """The send run again: nobody gets a second copy, nobody is missed (sent, or held as uncertain)."""
    report = send(project, env=env)
    uncertain = set(report.plan.uncertain)
    after = recorder.by_recipient()
    assert all(len(messages) == 1 for messages in after.values())  # no duplicates at all
    assert set(after) | uncertain == everyone  # nobody missed: sent, or listed as uncertain
    return report, uncertain, after


def test_sigkill_midway_then_rerun_sends_no_second_copy_and_misses_no_one(
    fast: Path, smtp_server, send_env, run_cli: Cli
) -> None:  # type: ignore[no-untyped-def]
    recorder = smtp_server.recorder
    everyone = killed_midway(run_cli, fast, send_env, recorder, 10, delay=0.1)

    report, uncertain, after = resumed(fast, send_env, recorder, everyone)
    journal = Journal(fast / ".composer" / "journal.sqlite", transport="smtp")
    sent = {e.email for e in journal.entries(377, ["sent"])}
    held = {e.email for e in journal.entries(377, ["in_flight"])}
    journal.close()
    assert held == uncertain and sent == set(after) - uncertain
    assert report.sent + report.plan.already_sent == len(sent)
    assert len(uncertain) <= 2  # at most one message in flight per connection

    final = send(fast, env=send_env, resend_uncertain=True)
    assert final.sent == len(uncertain) and final.ok
    assert set(recorder.by_recipient()) == everyone
    assert journal_counts(fast)["sent"] == len(everyone)


def test_ctrl_c_finishes_the_messages_in_flight_then_stops(  # type: ignore[no-untyped-def]
    small: Path, smtp_server, send_env, run_cli: Cli
) -> None:
    set_sending(small, smtp={"connections": 1})
    smtp_server.recorder.data_delay = 0.3
    process = run_cli.start(small, "send", "--yes", env=send_env)
    wait_for(lambda: len(smtp_server.recorder.received) >= 2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 1, err
    assert "Stopped: interrupted" in out
    counts = journal_counts(small)
    assert counts["in_flight"] == 0 and counts["sent"] == len(smtp_server.recorder.received) < len(SMALL)
    smtp_server.recorder.data_delay = 0
    rest = send(small, env=send_env)
    assert rest.ok and set(received_once(smtp_server.recorder)) == SMALL_ADDRESSES


def test_bad_csv_rows_stop_everything_with_their_line_numbers(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    write_members(small, *SMALL, "not-an-address,Bad,Kent,dcs", "ok@kent.example,Ok,Kent,nope")
    with pytest.raises(ValidationFailed) as failure:
        send(small, env=send_env)
    errors = [p for p in failure.value.problems if p.severity == "error"]
    assert [(p.line, p.field) for p in errors] == [(8, "email"), (9, "networks")]
    result = CliRunner().invoke(main, ["send", "--yes", "--project", str(small)], env=send_env)
    assert result.exit_code == 1 and "recipients/members.csv:8: email:" in result.stderr
    assert "nothing was written or sent" in result.stderr and "Traceback" not in result.output
    with pytest.raises(ValidationFailed):
        copy_to(small, to="me@example.org", env=send_env)
    assert smtp_server.recorder.received == [] and state_files(small) == []


def test_an_issue_with_check_errors_is_refused(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    issue_file = small / "issues" / "377.yaml"
    issue_file.write_text(
        issue_file.read_text().replace("[ad-education, data-benchmarking]", "[no-such-network]")
    )
    with pytest.raises(ValidationFailed, match="error"):
        send(small, env=send_env)
    assert smtp_server.recorder.received == []


def test_dry_run_shows_who_gets_what_and_sends_nothing(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        main, ["send", "--dry-run", "--json", "--rate", "2", "--project", str(small)], env=send_env
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    editions = {e["edition"]: (e["recipients"], e["sample"]) for e in data["editions"]}
    assert editions == {
        "dcs": (2, ["ann@kent.example", "eve@kent.example"]),
        "send": (2, ["bob@kent.example", "dan@kent.example"]),
        "dcs+send": (1, ["cat@kent.example"]),
        "everyone": (1, ["fay@kent.example"]),
    }
    assert (data["to_send"], data["rate_per_minute"], data["estimate_seconds"]) == (6, 2, 180)
    text = CliRunner().invoke(
        main, ["send", "--dry-run", "--network", "send", "--project", str(small)], env=send_env
    )
    assert "To send: 3, about 1 min at" in text.output and "dcs+send" in text.output
    assert smtp_server.recorder.seen == [] and state_files(small) == []


def test_a_test_copy_goes_to_one_address_without_touching_the_journal(
    small: Path, smtp_server, send_env
) -> None:  # type: ignore[no-untyped-def]
    full = copy_to(small, to="Me@Example.org", env=send_env)
    one = copy_to(small, to="me@example.org", networks=["lead-members"], env=send_env)
    assert (full.edition, one.edition) == ("full", "lead-members")
    first, second = smtp_server.recorder.by_recipient()["me@example.org"]
    plan = plan_for(load_project(small), 377)
    full_page, one_page = (
        " ".join(html.unescape(m.message().get_body(("html",)).get_content()).split())
        for m in (first, second)
    )
    for item in plan.issue.items:
        assert item.title in full_page
        assert (item.title in one_page) is receives(item, frozenset({"lead-members"}))
    assert first.message()["Message-ID"] != second.message()["Message-ID"]
    assert str(first.message()["Subject"]).startswith("[TEST] SECIP Update No 377")
    assert state_files(small) == []


def test_outbox_is_the_default_without_an_smtp_host(small: Path) -> None:
    env = {"COMPOSER_SECRET": SECRET}
    report = send(small, env=env)
    folder = small / "outbox" / "377"
    files = sorted(path.name for path in folder.iterdir())
    sent = message_from_bytes(next(folder.iterdir()).read_bytes(), policy=policy.default)
    assert not str(sent["Subject"]).startswith("[TEST]"), "only a test copy is marked"
    assert report.plan.transport == "outbox" and files == sorted(f"{a}.eml" for a in SMALL_ADDRESSES)
    message = message_from_bytes((folder / "cat@kent.example.eml").read_bytes(), policy=policy.default)
    assert message["To"].addresses[0].display_name == "Cat Ng" and message.is_multipart()
    stamp = (folder / "cat@kent.example.eml").stat().st_mtime_ns
    again = send(small, env=env)
    assert (
        again.plan.already_sent == len(SMALL)
        and (folder / "cat@kent.example.eml").stat().st_mtime_ns == stamp
    )
    copy_to(small, to="me@example.org", env=env)
    assert (small / "outbox" / "tests" / "377" / "me@example.org.eml").exists()


def test_only_members_of_the_given_networks(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    report = send(small, networks=["dcs"], env=send_env)
    assert set(received_once(smtp_server.recorder)) == {
        "ann@kent.example",
        "cat@kent.example",
        "eve@kent.example",
    }
    assert report.sent == 3
    rest = send(small, env=send_env)
    assert (rest.sent, rest.plan.already_sent) == (3, 3) and set(
        received_once(smtp_server.recorder)
    ) == SMALL_ADDRESSES


def test_rate_limit_per_minute_and_per_day(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    send(small, networks=["dcs"], rate=600, env=send_env)  # 3 messages, 0.1 s apart
    assert time.monotonic() - started >= 0.2
    set_sending(small, rate_per_day=4)
    report = send(small, env=send_env)
    assert report.sent == 1 and report.not_attempted == 2 and "daily limit" in (report.stopped or "")
    again = send(small, env=send_env)
    assert again.sent == 0 and again.not_attempted == 2
    assert journal_counts(small) == {"pending": 2, "in_flight": 0, "sent": 4, "deferred": 0, "failed": 0}


def test_cli_asks_for_confirmation_then_reports(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    declined = CliRunner().invoke(main, ["send", "--project", str(small)], env=send_env, input="n\n")
    assert declined.exit_code == 1 and "Send Update No 377 to 6 people?" in declined.output
    assert smtp_server.recorder.seen == []
    smtp_server.recorder.fault("RCPT:bob@kent.example", "550 5.1.1 no such user")
    result = CliRunner().invoke(main, ["send", "--project", str(small)], env=send_env, input="y\n")
    assert result.exit_code == 1
    assert "Sent 5; already sent before 0; deferred 0; failed 1" in result.output
    assert "bob@kent.example: 550 5.1.1 no such user" in result.output
    assert len(smtp_server.recorder.received) == 5


def test_a_missing_secret_or_password_stops_before_sending(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    no_secret = {k: v for k, v in send_env.items() if k != "COMPOSER_SECRET"}
    with pytest.raises(ComposerError, match="COMPOSER_SECRET"):
        send(small, env=no_secret)
    with pytest.raises(SendingError, match="COMPOSER_SMTP_PASSWORD"):
        send(small, env={**send_env, "COMPOSER_SMTP_USERNAME": "office"})
    with pytest.raises(SendingError, match="plain text"):
        send(small, env={**send_env, "COMPOSER_SMTP_HOST": "smtp.example.org"})
    assert smtp_server.recorder.seen == []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, made with openssl for these tests only."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            key,
            "-out",
            cert,
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def tls_server(certificate: tuple[str, str], **options: object) -> SmtpServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return SmtpServer(Recorder(), tls=context, **options).start()  # type: ignore[arg-type]


def test_starttls_is_required_never_skipped(small: Path, smtp_server, send_env) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SendingError, match="does not offer STARTTLS"):
        send(small, env={**send_env, "COMPOSER_SMTP_SECURITY": "starttls"})
    assert [command for command, _ in smtp_server.recorder.seen] == []


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_checks_the_certificate_then_logs_in(
    small: Path,
    send_env,
    certificate,
    security: str,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = tls_server(certificate, implicit_tls=security == "tls", users={"office": "right"})
    try:
        env = {
            **send_env,
            "COMPOSER_SMTP_PORT": str(server.port),
            "COMPOSER_SMTP_SECURITY": security,
            "COMPOSER_SMTP_USERNAME": "office",
            "COMPOSER_SMTP_PASSWORD": "right",
        }
        with pytest.raises(SendingError, match="certificate is not trusted"):
            send(small, env=env)
        monkeypatch.setenv("SSL_CERT_FILE", certificate[0])
        with pytest.raises(SendingError, match="refused the login for office"):
            send(small, env={**env, "COMPOSER_SMTP_PASSWORD": "wrong"})
        assert server.recorder.seen == []
        report = send(small, env=env)
        assert report.ok and set(received_once(server.recorder)) == SMALL_ADDRESSES
    finally:
        server.stop()

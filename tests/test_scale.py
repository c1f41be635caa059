"""Scale: editions shared between sets of networks, and a streamed send that is resumed."""

from __future__ import annotations

import random
import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from conftest import SECRET, Cli, write_members
from test_sections import alone, message, normal
from test_sending import killed_midway, resumed

from composer.commands.send import dry_run, send
from composer.content.loading import load_project
from composer.delivery.context import SendContext
from composer.delivery.journal import Journal
from composer.email.editions import edition_name
from composer.lists.recipients import read_lists

pytestmark = pytest.mark.slow  # thousands of members


def members(project: Path, count: int, *, networks: int = 0, most: int = 4) -> list[str]:
    """`count` people, each in one to `most` networks chosen at random (among the first
    `networks`, or all): many sets of networks."""
    chooser = random.Random(13)
    known = sorted(load_project(project).networks)[: networks or None]
    rows = []
    for index in range(count):
        chosen = chooser.sample(known, chooser.randint(1, most))
        rows.append(f"person.{index}@council-{index % 7}.example,Person {index},Council,{';'.join(chosen)}")
    return rows


def test_shared_editions_give_the_messages_of_each_set_of_networks(example: Path) -> None:
    """Each sampled member's message is the one rendering their own set of networks would give
    (after normalising whitespace: see test_sections.py), named after the edition it shares."""
    # Networks with no news this week: more sets of networks that share an edition.
    with (example / "recipients" / "networks.yaml").open("a", encoding="utf-8") as networks:
        for index in range(3):
            networks.write(f"\n- id: quiet-{index}\n  name: Quiet Network {index}\n")
    write_members(example, *members(example, 150))
    context = SendContext(
        load_project(example),
        None,
        networks=(),
        transport="outbox",
        rate=None,
        env={"COMPOSER_SECRET": SECRET},
    )
    recipients = list(read_lists(load_project(example)).recipients())
    shared = 0
    for recipient in recipients[::5]:
        text, html = message(context, recipient.networks)
        expected_text, expected_html = alone(context, recipient.networks)
        assert normal(text) == normal(expected_text) and normal(html) == normal(expected_html)
        outgoing = context.message(
            "a@kent.example",
            "A",
            recipient.networks,
            edition=recipient.edition,
            signing_key=b"k" * 32,
            dot_stuffed=True,
        )
        shared += outgoing.edition != edition_name(recipient.edition)
    assert shared > 0  # the sample holds members whose edition is named after another set of networks
    summary = dry_run(example, env={"COMPOSER_SECRET": SECRET})
    assert len(summary.editions) < len({r.edition for r in recipients})
    assert sorted(name for e in summary.editions for name in e.serves) == sorted(
        {edition_name(r.edition) for r in recipients}
    )


def test_readers_of_a_shared_edition_are_offered_only_their_own_networks(example: Path) -> None:
    """One edition serves both sets of networks (the same items); each reader's footer offers to
    stop only their own networks with news, in both parts."""
    header = "email,first_name,name,organisation,networks"
    one, two = "one@kent.example,,One,Kent,ad-education", "two@kent.example,,Two,Kent,ad-education;send"
    write_members(example, one, two, header=header)
    env = {"COMPOSER_SECRET": SECRET}
    summary = dry_run(example, env=env)
    assert [sorted(e.serves) for e in summary.editions] == [["ad-education", "ad-education+send"]]
    assert send(example, transport="outbox", env=env).sent == 2
    offered = {}
    for path in (example / "outbox" / "377").glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert not message.defects and not any(part.defects for part in message.iter_parts())
        assert all(len(line) <= 76 for line in path.read_bytes().split(b"\r\n")[20:])
        text, markup = (part.get_content() for part in message.iter_parts())
        assert "%%COMPOSER" not in text + markup
        in_text = set(re.findall(r"^Stop receiving news of (.+):\r?$", text, re.M))
        in_html = set(re.findall(r">Stop receiving news of ([^<]+)</a>", markup))
        assert in_text == in_html
        offered[message["To"].addresses[0].addr_spec] = in_text
    assert offered == {
        "one@kent.example": {"AD Education Network"},
        "two@kent.example": {"AD Education Network", "SEND Network"},
    }


def test_a_streamed_send_interrupted_midway_resumes_exactly_once(
    fast: Path,
    smtp_server,
    send_env,  # type: ignore[no-untyped-def]
    run_cli: Cli,
) -> None:
    write_members(fast, *members(fast, 90, networks=4, most=2))
    recorder = smtp_server.recorder
    everyone = killed_midway(run_cli, fast, send_env, recorder, 25, delay=0.05)
    uncertain = resumed(fast, send_env, recorder, everyone)[1]
    assert len(uncertain) <= 2  # at most one message in flight per connection
    final = send(fast, env=send_env, resend_uncertain=True)
    assert final.sent == len(uncertain) and final.ok and set(recorder.by_recipient()) == everyone
    journal = Journal(fast / ".composer" / "journal.sqlite", transport="smtp")
    entries = {e.email: e for e in journal.entries(377)}
    journal.close()
    assert {e.state for e in entries.values()} == {"sent"} and set(entries) == everyone
    # Streamed edition by edition: an edition's readers come one after the other (file order
    # would switch editions at almost every message).
    order = [entries[r.recipients[0].lower()].edition for r in recorder.received]
    changes = sum(1 for before, now in zip(order, order[1:], strict=False) if before != now)
    assert changes <= 3 * len(set(order)) + 3 < len(order) / 2


def test_a_send_reads_the_journal_once_not_once_a_person(
    fast: Path,
    smtp_server,  # type: ignore[no-untyped-def]
    send_env,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[str] = []
    real = Journal._read

    def counted(journal: Journal, sql: str, parameters: tuple[object, ...]) -> list[tuple[object, ...]]:
        reads.append(sql.split(" FROM ")[0])
        return real(journal, sql, parameters)

    monkeypatch.setattr(Journal, "_read", counted)
    everyone = {r.person.email.lower() for r in read_lists(load_project(fast)).recipients()}
    assert len(everyone) > 50
    report = send(fast, env=send_env)
    assert report.ok and report.sent == len(everyone)
    assert reads.count("SELECT email, state, reply") == 1 and len(reads) < 10, reads

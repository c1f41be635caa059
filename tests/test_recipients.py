"""The members and suppression files as a spreadsheet writes them, and `lists` / `unsubscribe`."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SECRET, write_members
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from composer.cli import main
from composer.commands.unsubscribe import unsubscribe
from composer.content.fields import usable_address
from composer.content.loading import load_project
from composer.delivery.tokens import make_token
from composer.errors import ComposerError, TokenError, ValidationFailed
from composer.lists.recipients import MEMBERS_FILE, SUPPRESSED_FILE, read_lists


def lists_of(project: Path):  # type: ignore[no-untyped-def]
    return read_lists(load_project(project))


def test_example_lists_read_cleanly(example: Path) -> None:
    lists = lists_of(example)
    assert lists.errors == []
    with (example / MEMBERS_FILE).open(encoding="utf-8-sig", newline="") as stream:
        addresses = {row["email"].lower() for row in csv.DictReader(stream)}
    assert {p.email.lower() for p in lists.people} == addresses
    assert len(lists.people) >= 50


def test_excel_utf8_with_bom_crlf_and_header_case(example: Path) -> None:
    write_members(
        example,
        "Zoe@Brighton-Hove.example,Zoë Whitfield,Brighton & Hove,AD-Education ; send",
        "  ann@kent.example ,Ann Lee,Kent,dcs",
        header="\ufeffEMAIL,Name,Organisation,NETWORKS",
        newline="\r\n",
    )
    lists = lists_of(example)
    assert lists.problems == []
    zoe, ann = lists.people
    assert (zoe.email, zoe.name, zoe.networks) == (
        "Zoe@brighton-hove.example",
        "Zoë Whitfield",
        frozenset({"ad-education", "send"}),
    )
    assert (ann.email, ann.line) == ("ann@kent.example", 3)


def test_windows_1252_is_read_with_a_warning(example: Path) -> None:
    write_members(example, "renee@hants.example,Renée D’Souza,Hampshire,dcs", encoding="cp1252")
    lists = lists_of(example)
    assert lists.people[0].name == "Renée D’Souza"
    assert [p.severity for p in lists.problems] == ["warning"]
    assert "CSV UTF-8" in lists.problems[0].message


def test_semicolon_separated_file_from_another_locale(example: Path) -> None:
    write_members(
        example, 'ann@kent.example;Ann Lee;Kent;"dcs;send"', header="email;name;organisation;networks"
    )
    person = lists_of(example).people[0]
    assert person.networks == frozenset({"dcs", "send"})


def test_bad_rows_are_reported_with_their_line_numbers(example: Path) -> None:
    write_members(
        example,
        "ok@kent.example,Ok,Kent,dcs",
        "not-an-address,Bad,Kent,dcs",
        ",No Address,Kent,dcs",
        "",
        "typo@kent.example,Typo,Kent,dsc",
        "shifted@kent.example,Lee, Ann,Kent,dcs",
        '"injected@kent.example","Ann\r\nBcc: evil@example.org",Kent,dcs',
        "last@kent.example,Last,Kent,send",
    )
    lists = lists_of(example)
    found = {(p.line, p.field, p.severity) for p in lists.problems}
    assert found == {
        (3, "email", "error"),
        (4, "email", "error"),
        (5, "", "warning"),
        (6, "networks", "error"),
        (7, "", "error"),
        (8, "name", "error"),
    }
    assert all(p.file == MEMBERS_FILE for p in lists.problems)
    assert "'dsc'" in next(p.message for p in lists.problems if p.line == 6)
    assert [p.email for p in lists.people] == ["ok@kent.example", "last@kent.example"]
    with pytest.raises(ValidationFailed):
        lists.require_valid()


def test_the_same_address_twice_is_one_person_with_both_networks(example: Path) -> None:
    write_members(
        example,
        "ann@kent.example,Ann Lee,Kent,dcs",
        "bob@kent.example,Bob,Kent,send",
        "ANN@kent.example,,,send;peer-challenge",
    )
    lists = lists_of(example)
    ann = lists.find("ann@KENT.example")
    assert ann is not None and ann.name == "Ann Lee"
    assert ann.networks == frozenset({"dcs", "send", "peer-challenge"})
    assert len(lists.people) == 2
    (warning,) = lists.problems
    assert (warning.line, warning.severity) == (4, "warning") and "line 2" in warning.message


def test_suppressed_people_get_nothing_or_nothing_from_that_network(example: Path) -> None:
    write_members(
        example,
        "all@kent.example,All,Kent,dcs;send",
        "one@kent.example,One,Kent,dcs;send",
        "only@kent.example,Only,Kent,dcs",
        "none@kent.example,General,Kent,",
    )
    (example / SUPPRESSED_FILE).write_text(
        "email,network,date\nALL@kent.example,,2019-10-01\none@kent.example,send,\nonly@kent.example,dcs,\n",
        encoding="utf-8",
    )
    lists = lists_of(example)
    assert lists.problems == []
    received = {r.person.email: r.networks for r in lists.recipients()}
    assert received == {"one@kent.example": frozenset({"dcs"}), "none@kent.example": frozenset()}
    assert {r.person.email for r in lists.recipients(networks={"send"})} == {"one@kent.example"}


def test_suppression_file_problems(example: Path) -> None:
    (example / SUPPRESSED_FILE).write_text(
        "email,network,date\nbad,,\nann@kent.example,nope,\nbob@kent.example,,18/10/2019\n", encoding="utf-8"
    )
    problems = {(p.line, p.field, p.severity) for p in lists_of(example).problems}
    assert problems == {(2, "email", "error"), (3, "network", "error"), (4, "date", "warning")}


def test_missing_members_file_and_missing_column(example: Path) -> None:
    (example / MEMBERS_FILE).unlink()
    assert "missing" in lists_of(example).errors[0].message
    write_members(example, "ann@kent.example,Ann", header="email,name")
    (problem,) = lists_of(example).errors
    assert problem.line == 1 and "networks" in problem.message


def test_lists_command_counts_members_per_network(example: Path) -> None:
    write_members(
        example, "a@kent.example,A,Kent,dcs;send", "b@kent.example,B,Kent,send", "c@kent.example,C,Kent,send"
    )
    (example / SUPPRESSED_FILE).write_text("email,network,date\nc@kent.example,send,\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["lists", "--project", str(example), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    send = next(n for n in data["networks"] if n["id"] == "send")
    assert (send["members"], send["suppressed"], send["receiving"]) == (3, 1, 2)
    assert (data["people"], data["recipients"], data["editions"]) == (3, 2, 2)
    text = CliRunner().invoke(main, ["lists", "--project", str(example)])
    assert "SEND Network" in text.output and "3 people, 2 receiving" in text.output


def test_lists_command_exits_1_with_every_bad_row(example: Path) -> None:
    write_members(example, "bad,A,Kent,dcs", "b@kent.example,B,Kent,nope")
    result = CliRunner().invoke(main, ["lists", "--project", str(example)])
    assert result.exit_code == 1
    assert f"{MEMBERS_FILE}:2: email:" in result.stderr and f"{MEMBERS_FILE}:3: networks:" in result.stderr


def test_unsubscribe_an_address_once(example: Path) -> None:
    path = example / SUPPRESSED_FILE
    path.write_bytes(b"email,network,date\r\nben.walsh@milton-keynes.example,,2019-10-10")
    day = dt.date(2019, 10, 20)
    first = unsubscribe(example, "Laura.Bennett@wokingham.example", today=day)
    again = unsubscribe(example, "laura.bennett@wokingham.example", network="ad-education", today=day)
    assert (first.added, first.member, again.added) == (True, True, False)
    assert path.read_bytes() == (  # an older header gets the columns the new rows carry
        b"email,network,date,reason,issue,detail\r\nben.walsh@milton-keynes.example,,2019-10-10\r\n"
        b"Laura.Bennett@wokingham.example,,2019-10-20,unsubscribed,,\r\n"
    )
    assert lists_of(example).find("laura.bennett@wokingham.example") is not None
    assert all(r.person.email != "Laura.Bennett@wokingham.example" for r in lists_of(example).recipients())


def test_unsubscribe_with_a_token_for_one_network(example: Path) -> None:
    token = make_token("stuart.kennedy@hants.example", "ad-education", signing_key=SECRET.encode())
    result = CliRunner().invoke(
        main, ["unsubscribe", token, "--project", str(example)], env={"COMPOSER_SECRET": SECRET}
    )
    assert result.exit_code == 0, result.output
    assert "unsubscribed from network ad-education" in result.output
    assert (
        (example / SUPPRESSED_FILE)
        .read_text()
        .splitlines()[-1]
        .startswith("stuart.kennedy@hants.example,ad-education,")
    )


def test_unsubscribe_refuses_forged_tokens_and_unknown_networks(example: Path) -> None:
    before = (example / SUPPRESSED_FILE).read_bytes()
    forged = make_token("stuart.kennedy@hants.example", signing_key=b"some-other-secret-value")
    with pytest.raises(TokenError):
        unsubscribe(example, forged, env={"COMPOSER_SECRET": SECRET})
    with pytest.raises(ComposerError, match="COMPOSER_SECRET"):
        unsubscribe(example, forged, env={})
    with pytest.raises(ComposerError, match="unknown network"):
        unsubscribe(example, "a@kent.example", network="nope")
    with pytest.raises(ComposerError, match="not a usable address"):
        unsubscribe(example, "a@kent.example\r\nBcc: x@example.org")
    assert (example / SUPPRESSED_FILE).read_bytes() == before


def test_bytes_that_are_neither_utf8_nor_windows_1252_are_reported_with_their_line(example: Path) -> None:
    members = (
        b"email,name,organisation,networks\r\n"
        b"ann@kent.example,Ann,Kent,dcs\r\n"
        b"bob@kent.example,Bo\x81b,Kent,dcs\r\n"
    )
    (example / MEMBERS_FILE).write_bytes(members)
    (example / SUPPRESSED_FILE).write_bytes(b"email,network,date\n\n\nx\x9d@kent.example,,\n")
    result = CliRunner().invoke(main, ["lists", "--project", str(example)])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"{MEMBERS_FILE}:3: byte 0x81 is neither UTF-8 nor Windows-1252" in result.stderr
    assert f"{SUPPRESSED_FILE}:4: byte 0x9D" in result.stderr
    assert "CSV UTF-8" in result.stderr


def validator_says(value: str) -> str | None:
    """email-validator's own answer for a whole address: its ASCII form, or None when it refuses."""
    try:
        valid = validate_email(value.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return None
    return valid.ascii_email or valid.normalized


LOCAL_CHARS = "aZ09.-_+!#$%&'*/=?^`{|}~\" @(),:;<>[]éß"
DOMAIN_CHARS = "aZ09.-_éü"
domains = st.one_of(
    st.sampled_from(["example.org", "Council-3.Example", "bücher.example", "XN--BCHER-KVA.example"]),
    st.sampled_from(["b.test", "x.local", "1.2.3.4", "[127.0.0.1]"]),
    st.text(DOMAIN_CHARS, min_size=1, max_size=70),
    st.lists(st.text("az09-", min_size=1, max_size=63), min_size=2, max_size=5).map(".".join),
)


@settings(max_examples=400, deadline=None)
@given(
    local=st.one_of(
        st.text(LOCAL_CHARS, min_size=0, max_size=70),
        st.from_regex(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,40}(\.[A-Za-z0-9+_-]{1,30}){0,2}", fullmatch=True),
    ),
    domain=domains,
)
@example(local="a" * 64, domain="b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 57 + ".org")
@example(local="a..b", domain="example.org")
@example(local="WWW", domain="example.org")  # a role name (RFC 2142): email-validator lower-cases it
@example(local="zoë", domain="example.org")
@example(local="x" * 10, domain="あ" * 40 + "." + "あ" * 40 + ".jp")
@example(local="x" * 10, domain=".".join(["xn--l8j" + "a" * 39] * 2) + ".jp")  # あ×40 in its ASCII form
def test_an_address_is_what_email_validator_makes_of_it(local: str, domain: str) -> None:
    """The quick path for plain addresses gives exactly email-validator's answer, accepted or not."""
    value = f"{local}@{domain}"
    expected = validator_says(value)
    if expected is None:
        with pytest.raises(EmailNotValidError):
            usable_address(value)
    else:
        assert usable_address(value) == expected

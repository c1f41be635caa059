"""Hostile and broken settings and CSV files (issue 9): the real command, a clear line, nothing sent.

Each case runs `python -m composer` in a child process against a copy of the example project,
with the aiosmtpd recorder as the mail server, and checks the exit status, the `file:line:`
message, that no traceback reached the user, that the server received nothing and that no file
in the project was written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Cli, state_files, write_members

from composer.lists.recipients import MEMBERS_FILE, SUPPRESSED_FILE

SETTINGS = "composer.yaml"
FORMULA = "=cmd|'/Ccalc'!A0@example.org"


def snapshot(project: Path) -> dict[str, bytes]:
    """Every file of the project with its bytes: "nothing written" is this, unchanged."""
    files = sorted(p for p in project.rglob("*") if p.is_file())
    return {str(p.relative_to(project)): p.read_bytes() for p in files}


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def replace_line(path: Path, old: str, new: str) -> int:
    """Replace the line holding `old` with `new`, indented as it was; returns its number."""
    number = line_of(path, old)
    lines = path.read_text(encoding="utf-8").splitlines()
    indent = lines[number - 1][: len(lines[number - 1]) - len(lines[number - 1].lstrip())]
    lines[number - 1] = indent + new
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return number


def refused(project: Path, command: list[str], env: dict[str, str], where: str, server, run_cli: Cli) -> str:  # type: ignore[no-untyped-def]
    """Run a command that must stop: exit 1, the message at `where`, nothing sent, nothing written."""
    before = snapshot(project)
    result = run_cli(project, *command, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert where in result.stderr, result.stderr
    assert server.recorder.received == [] and server.recorder.seen == []
    assert snapshot(project) == before
    return result.stderr


BAD_ADDRESSES = ["not an address", "zoë@secip.example.org", "a@b.org>, <victim@y.org"]


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_a_bad_from_address_stops_check_build_and_send_at_its_line(
    fast: Path,
    smtp_server,
    send_env,
    address: str,
    run_cli: Cli,
) -> None:  # type: ignore[no-untyped-def]
    """Issue 9 item 6: today these pass check and build, then send dies in encode_edition."""
    line = replace_line(fast / SETTINGS, "email: update@secip.example.org", f"email: {json.dumps(address)}")
    where = f"{SETTINGS}:{line}: from.email: {address!r} is not a usable address"
    for command in (["check"], ["build"], ["send", "--yes"]):
        refused(fast, command, send_env, where, smtp_server, run_cli)


@pytest.mark.parametrize(
    ("file", "old", "field"),
    [
        (SETTINGS, "reply_to: programme@secip.example.org", "reply_to"),
        (SETTINGS, "unsubscribe_mailto: unsubscribe@secip.example.org", "sending.unsubscribe_mailto"),
        ("contacts.yaml", "email: amira.khan@secip.example.org", "[amira-khan].email"),
    ],
)
@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_every_address_in_settings_and_contacts_is_checked_at_load(
    fast: Path,
    smtp_server,
    send_env,
    file: str,
    old: str,
    field: str,
    address: str,
    run_cli: Cli,
) -> None:  # type: ignore[no-untyped-def]
    key = old.split(":")[0]
    line = replace_line(fast / file, old, f"{key}: {json.dumps(address)}")
    where = f"{file}:{line}: {field}: {address!r} is not a usable address"
    for command in (["check"], ["send", "--yes"]):
        refused(fast, command, send_env, where, smtp_server, run_cli)


@pytest.mark.parametrize("address", [FORMULA, "+44@example.org", "-1+2@example.org", "'=quoted@example.org"])
def test_an_address_that_looks_like_a_formula_is_written_harmless_and_read_back(
    example: Path,
    address: str,
    run_cli: Cli,
) -> None:
    """Issue 9 item 7: suppressed.csv is opened in Excel; OWASP's leading quote keeps it text."""
    # As Excel saves it: a formula-like cell raw; one that starts with a quote gets one more.
    cell = "'" + address if address.startswith("'") else address
    write_members(example, f"{cell},Mallory,Somewhere,dcs", "ann@kent.example,Ann,Kent,dcs")
    first = run_cli(example, "unsubscribe", "--", address)
    assert first.returncode == 0 and "unsubscribed from every network" in first.stdout, first.stderr
    cells = [row.split(",")[0] for row in (example / SUPPRESSED_FILE).read_text().splitlines()]
    assert cells[-1] == "'" + address
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    again = run_cli(example, "unsubscribe", "--", address)
    assert again.returncode == 0 and "already unsubscribed" in again.stdout, again.stderr
    lists = run_cli(example, "lists", "--json")
    assert lists.returncode == 0, lists.stderr
    dcs = next(n for n in json.loads(lists.stdout)["networks"] if n["id"] == "dcs")
    assert (dcs["members"], dcs["suppressed"], dcs["receiving"]) == (2, 1, 1)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (
            "font_stack:",
            'font_stack: "Arial} body{background:url(http://evil.example/x)} x{a:b"',
            "branding.font_stack",
        ),
        ("font_stack:", "font_stack: \"'Segoe UI', Arial\"", "branding.font_stack"),
        (
            "primary_colour:",
            'primary_colour: "#1d4e6b;background:url(//evil.example)"',
            "branding.primary_colour",
        ),
        ("text_colour:", "text_colour: red", "branding.text_colour"),
        ("img/logo.png", "url: http://secip.example.org/img/logo.png", "branding.logo.url"),
        ("img/hero.jpg", "url: javascript://secip.example.org/img/hero.jpg", "branding.hero.url"),
    ],
)
def test_branding_values_are_checked_by_kind_before_they_reach_css(
    fast: Path,
    smtp_server,
    send_env,
    old: str,
    new: str,
    field: str,
    run_cli: Cli,
) -> None:  # type: ignore[no-untyped-def]
    """Issue 9 item 8: a font stack closed the CSS rule in site/index.html and Chromium fetched a URL."""
    line = replace_line(fast / SETTINGS, old, new)
    for command in (["check"], ["archive"], ["send", "--yes"]):
        refused(fast, command, send_env, f"{SETTINGS}:{line}: {field}:", smtp_server, run_cli)


def test_font_names_without_quotes_pass(example: Path, run_cli: Cli) -> None:
    replace_line(
        example / SETTINGS,
        "font_stack:",
        "font_stack: Segoe UI, -apple-system, Helvetica Neue,Arial, sans-serif",
    )
    result = run_cli(example, "check")
    assert result.returncode == 0, result.stderr


def test_a_bom_decides_utf8_and_a_stray_byte_is_named_at_its_line(
    fast: Path, smtp_server, send_env, run_cli: Cli
) -> None:  # type: ignore[no-untyped-def]
    """Issue 9 item 9: read as cp1252, the BOM glued onto "email" and hid the real problem."""
    text = "\ufeffemail,name,organisation,networks\r\nzoe@brighton.example,Zoë Whitfield,B&H,dcs\r\n"
    (fast / MEMBERS_FILE).write_bytes(text.encode("utf-8").replace("ë".encode(), "ë".encode("cp1252")))
    where = f"{MEMBERS_FILE}:2: byte 0xEB is not UTF-8"
    for command in (["lists"], ["send", "--yes"]):
        stderr = refused(fast, command, send_env, where, smtp_server, run_cli)
        assert "no email column" not in stderr


def test_a_members_file_with_only_a_header_warns_and_send_refuses(
    fast: Path, smtp_server, send_env, run_cli: Cli
) -> None:  # type: ignore[no-untyped-def]
    """Issue 9 item 10: "Sent 0", exit 0 was reported as a success."""
    write_members(fast, newline="\r\n")
    where = f"{MEMBERS_FILE}:1: warning: no members under the header"
    for command in (["lists"], ["check"]):
        result = run_cli(fast, *command, env=send_env)
        assert result.returncode == 0 and where in result.stderr, result.stderr
    refused(
        fast,
        ["send", "--yes"],
        send_env,
        f"{MEMBERS_FILE}:1: no members under the header",
        smtp_server,
        run_cli,
    )
    assert state_files(fast) == []


def test_a_send_that_would_reach_nobody_is_an_error(fast: Path, smtp_server, send_env, run_cli: Cli) -> None:  # type: ignore[no-untyped-def]
    write_members(fast, "ann@kent.example,Ann,Kent,dcs", "bob@kent.example,Bob,Kent,send")
    (fast / SUPPRESSED_FILE).write_text("email,network,date\nann@kent.example,,\n", encoding="utf-8")
    refused(fast, ["send", "--yes", "--network", "dcs"], send_env, "nobody to send to", smtp_server, run_cli)


def test_an_http_unsubscribe_url_fails_check_before_any_send(
    fast: Path, smtp_server, send_env, run_cli: Cli
) -> None:  # type: ignore[no-untyped-def]
    """Issue 9 item 11: check passed it, and send stopped after confirmation with everyone pending."""
    line = replace_line(
        fast / SETTINGS, "unsubscribe_url:", "unsubscribe_url: http://updates.secip.example.org/u"
    )
    where = f"{SETTINGS}:{line}: sending.unsubscribe_url: http://"
    for command in (["check"], ["send", "--dry-run"], ["send", "--yes"]):
        refused(fast, command, send_env, where, smtp_server, run_cli)

"""MIME messages encoded once per edition and personalised by splicing; unsubscribe tokens."""

from __future__ import annotations

import html
import re
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from composer.content.loading import load_project
from composer.content.settings import Settings
from composer.delivery.messages import Personal, encode_edition, list_unsubscribe, message_id
from composer.delivery.tokens import make_token, secret, unsubscribe_link, verify_token
from composer.email.placeholders import PLACEHOLDERS, fill_placeholders
from composer.email.sections import SECTION_END, SECTION_START
from composer.errors import ComposerError, SendingError, TokenError

KEY = b"a-test-secret-of-enough-length"
NAME, URL, NETWORKS = PLACEHOLDERS["greeting"], PLACEHOLDERS["unsubscribe_url"], PLACEHOLDERS["networks"]


@pytest.fixture(scope="module")
def project_settings() -> Settings:
    return load_project(Path(__file__).resolve().parent.parent).settings


def edition(
    text: str, markup: str, subject: str = "SECIP Update No 374 – 18 October 2019"
) -> SimpleNamespace:
    """What sending needs of a rendered edition: its name, subject, HTML and text with tokens."""
    return SimpleNamespace(key=None, name="full", subject=subject, preheader="", html=markup, text=text)


def personal(
    settings: Settings,
    name: str = "Zoë Whitfield",
    email: str = "zoe@brighton-hove.example",
    values: dict[str, str] | None = None,
) -> Personal:
    token = make_token(email, signing_key=KEY)
    link = unsubscribe_link(str(settings.sending.unsubscribe_url), token)
    return Personal(
        email,
        name,
        message_id(issue=374, email=email, settings=settings),
        list_unsubscribe(link=link, token=token, settings=settings),
        values
        or {"greeting": name, "unsubscribe_url": link, "networks": "SEND and DCS Group", "token": token},
    )


def parse(data: bytes):  # type: ignore[no-untyped-def]
    return message_from_bytes(data, policy=policy.default)


TEXT = (
    "Dear "
    + NAME
    + ",\n\n“Curly quotes” – an en dash, and £250 for each place. "
    + "More words. " * 12
    + "\n\nYou receive this as a member of "
    + NETWORKS
    + ".\nUnsubscribe: "
    + URL
    + "\n"
)
MARKUP = (
    '<p style="margin:0">'
    + "x" * 61
    + "Dear "
    + NAME
    + ",</p><p>“Quotes” – £5</p>"
    + '<a href="'
    + URL
    + '">Unsubscribe</a><p>'
    + NETWORKS
    + "</p>"
)


def test_structure_and_headers(project_settings: Settings) -> None:
    encoded = encode_edition(edition(TEXT, MARKUP), settings=project_settings, placeholders=PLACEHOLDERS)
    who = personal(project_settings)
    message = parse(encoded.personalise(who))
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in message.iter_parts())
    assert message["From"].addresses[0].display_name == "SECIP Programme Office"
    assert message["From"].addresses[0].addr_spec == "update@secip.example.org"
    assert message["Reply-To"] == "programme@secip.example.org"
    assert (message["To"].addresses[0].display_name, message["To"].addresses[0].addr_spec) == (
        "Zoë Whitfield",
        "zoe@brighton-hove.example",
    )
    assert message["Subject"] == "SECIP Update No 374 – 18 October 2019"
    assert message["Date"].datetime is not None
    assert message["Message-ID"] == who.message_id
    assert message["List-Id"] == "SECIP Update <update.secip.example.org>"
    links = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))
    assert links[0].startswith("https://updates.secip.example.org/unsubscribe?token=")
    assert links[1].startswith("mailto:unsubscribe@secip.example.org?subject=unsubscribe%20")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not message.defects and all(not part.defects for part in message.iter_parts())


def test_personal_values_arrive_intact_in_both_parts(project_settings: Settings) -> None:
    encoded = encode_edition(edition(TEXT, MARKUP), settings=project_settings, placeholders=PLACEHOLDERS)
    values = {
        "greeting": ".Seán O'Neill & <Co>",
        "unsubscribe_url": "https://example.org/u?a=1&token=x=y",
        "networks": "AD Education Network and SEND Network",
    }
    data = encoded.personalise(personal(project_settings, values=values))
    text, markup = (part.get_content() for part in parse(data).iter_parts())
    assert text.replace("\r\n", "\n") == fill_placeholders(TEXT, values)
    escaped = {key: html.escape(value) for key, value in values.items()}
    assert markup.replace("\r\n", "\n") == fill_placeholders(MARKUP, escaped) + "\n"
    body = data.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    assert "“Curly quotes” – an en dash, and £250" in text


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40),
        min_size=1,
        max_size=30,
    ),
    tokens=st.lists(st.sampled_from(sorted(PLACEHOLDERS.values())), min_size=1, max_size=30),
    name=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=80),
)
def test_splicing_equals_filling_for_any_text_and_value(
    project_settings: Settings, words: list[str], tokens: list[str], name: str
) -> None:
    text = "\n".join(word + token for word, token in zip(words, tokens, strict=False))
    # a word that completes a network section's marker ("%%COMPOSER_END_IF" + "%%...") is not
    # text: encoding refuses sections that do not open and close in turn, as it should
    assume(SECTION_END not in text and SECTION_START.split("{}")[0] not in text)
    encoded = encode_edition(
        edition(text, "<p>" + text + "</p>"), settings=project_settings, placeholders=PLACEHOLDERS
    )
    values = {"greeting": name, "unsubscribe_url": "https://example.org/u?token=abc", "networks": ".DCS"}
    values["token"] = "abc.def"
    data = encoded.personalise(personal(project_settings, name="Ann", values=values))
    plain, markup = (part.get_content().replace("\r\n", "\n") for part in parse(data).iter_parts())
    assert plain.rstrip("\n") == fill_placeholders(text, values).rstrip("\n")
    escaped = {key: html.escape(value) for key, value in values.items()}
    assert markup.rstrip("\n") == fill_placeholders("<p>" + text + "</p>", escaped).rstrip("\n")
    stuffed = encoded.personalise(personal(project_settings, name="Ann", values=values), dot_stuffed=True)
    assert re.sub(rb"(?m)^\.\.", b".", stuffed) == data
    assert not re.search(rb"(?m)^\.(?!\.)", stuffed)


@settings(max_examples=150, deadline=None)
@given(
    value=st.text(alphabet=st.sampled_from("Aa.=é€ _-/?&%"), max_size=200),
    before=st.integers(min_value=0, max_value=80),
)
@example(value="https://x.example/u?token=" + "A." * 24, before=0)
def test_every_body_line_fits_76_characters_whatever_is_spliced(
    project_settings: Settings, value: str, before: int
) -> None:
    """RFC 2045 caps quoted-printable lines at 76 characters, soft line break included."""
    text = "x" * before + URL + " and " + NAME + "\n"
    encoded = encode_edition(
        edition(text, "<p>" + text + "</p>"), settings=project_settings, placeholders=PLACEHOLDERS
    )
    values = {"greeting": value, "unsubscribe_url": value, "networks": "DCS Group"}
    data = encoded.personalise(personal(project_settings, name="Ann", values=values))
    body = data.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    plain, markup = (part.get_content().replace("\r\n", "\n") for part in parse(data).iter_parts())
    assert plain.rstrip("\n") == fill_placeholders(text, values).rstrip("\n")
    assert html.escape(value) in markup


def test_a_long_non_ascii_name_is_folded_in_the_to_header(project_settings: Settings) -> None:
    name = (
        "Seán Ó Briain-Nic Giolla Phádraig, Director of Children’s Services (Interim), "
        "Royal Borough of Windsor & Maidenhead"
    )
    encoded = encode_edition(edition(TEXT, MARKUP), settings=project_settings, placeholders=PLACEHOLDERS)
    data = encoded.personalise(personal(project_settings, name=name))
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert max(len(line) for line in head.split("\r\n")) <= 998
    to = re.search(r"^To:(.*?)\r\n(?=\S)", head, re.M | re.S)
    assert to is not None and all(len(line) <= 78 for line in to[0].split("\r\n"))
    unfolded = to[1].replace("\r\n", "")
    assert str(make_header(decode_header(unfolded))) == f"{name} <zoe@brighton-hove.example>"
    assert parse(data)["To"].addresses[0].addr_spec == "zoe@brighton-hove.example"


def test_header_injection_is_refused(project_settings: Settings) -> None:
    with pytest.raises(SendingError, match="subject"):
        encode_edition(
            edition(TEXT, MARKUP, subject="Update\r\nBcc: evil@example.org"),
            settings=project_settings,
            placeholders=PLACEHOLDERS,
        )
    encoded = encode_edition(edition(TEXT, MARKUP), settings=project_settings, placeholders=PLACEHOLDERS)
    for name, email in [
        ("Ann\nBcc: evil@example.org", "ann@kent.example"),
        ("Ann", "ann@kent.example\r\nBcc: evil@example.org"),
        ("Ann\x00", "ann@kent.example"),
    ]:
        with pytest.raises(SendingError, match="line break or NUL"):
            encoded.personalise(personal(project_settings, name=name, email=email))


def test_message_ids_are_unique_per_person_and_issue(project_settings: Settings) -> None:
    ids = {
        message_id(issue=issue, email=email, settings=project_settings)
        for issue in (374, 375)
        for email in ("a@kent.example", "b@kent.example")
    }
    assert len(ids) == 4
    assert message_id(issue=374, email="A@kent.example", settings=project_settings) in ids
    assert message_id(issue=374, email="a@kent.example", settings=project_settings, test=True) not in ids
    assert all(re.fullmatch(r"<update-37[45]\.[0-9a-f]{24}@secip\.example\.org>", i) for i in ids)


def test_unsubscribe_link_must_be_https(project_settings: Settings) -> None:
    with pytest.raises(SendingError, match="https"):
        list_unsubscribe(link="http://example.org/u?token=x", token="x", settings=project_settings)
    assert unsubscribe_link("https://example.org/u?list=1", "a.b") == "https://example.org/u?list=1&token=a.b"


def test_tokens_round_trip_and_bind_address_and_network() -> None:
    token = make_token("Ann@Kent.example", "send", signing_key=KEY)
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)
    request = verify_token(token, signing_key=KEY)
    assert (request.email, request.network) == ("ann@kent.example", "send")
    assert verify_token(make_token("ann@kent.example", signing_key=KEY), signing_key=KEY).network is None
    with pytest.raises(TokenError):
        verify_token(token, signing_key=b"another-secret-of-enough-length")


def test_a_token_cannot_be_moved_to_another_address_or_network() -> None:
    payload, mac = make_token("ann@kent.example", signing_key=KEY).split(".")
    other_payload, _ = make_token("bob@kent.example", "dcs", signing_key=KEY).split(".")
    for forged in (f"{other_payload}.{mac}", f"{payload}.", f"{payload}", "", "@@.@@", f"{payload}.{mac}="):
        with pytest.raises(TokenError):
            verify_token(forged, signing_key=KEY)


@settings(max_examples=200, deadline=None)
@given(
    position=st.integers(min_value=0),
    replacement=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
)
def test_any_changed_character_makes_a_token_invalid(position: int, replacement: str) -> None:
    token = make_token("ann@kent.example", "send", signing_key=KEY)
    index = position % len(token)
    forged = token[:index] + replacement + token[index + 1 :]
    if forged != token:
        with pytest.raises(TokenError):
            verify_token(forged, signing_key=KEY)


def test_the_secret_comes_from_the_environment_only() -> None:
    assert secret({"COMPOSER_SECRET": "x" * 16}) == b"x" * 16
    for env in ({}, {"COMPOSER_SECRET": "short"}):
        with pytest.raises(ComposerError, match="COMPOSER_SECRET"):
            secret(env)

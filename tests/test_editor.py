"""The editor's routes over real HTTP: only from the preview's own page, only on loopback."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from composer.content.roundtrip import load_for_edit
from composer.tls import is_loopback as loopback
from composer.web.preview.editor import MAX_EDIT
from composer.web.preview.server import PreviewServer, ShareServer, open_preview

pytestmark = pytest.mark.server


@pytest.fixture
def running(example: Path) -> Iterator[PreviewServer]:
    server = open_preview(example, port=0, interval=0.05, settle=0.1).start()
    yield server
    server.close()


def request(
    server: PreviewServer | ShareServer,
    method: str,
    target: str,
    body: str = "",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=60)
    connection.request(method, target, body=body.encode() if body else None, headers=headers or {})
    response = connection.getresponse()
    answer = response.read().decode("utf-8")
    connection.close()
    return response.status, dict(response.getheaders()), answer


def own_headers(server: PreviewServer | ShareServer) -> dict[str, str]:
    """What Chromium sends with a POST from the preview's own page."""
    here = f"127.0.0.1:{server.server_port}"
    return {"Host": here, "Origin": f"http://{here}", "Content-Type": "application/x-www-form-urlencoded"}


def editor_config(server: PreviewServer, number: int) -> dict[str, object]:
    status, _, page = request(server, "GET", f"/issue/{number}/edit")
    assert status == 200, page
    found = re.search(r'<script type="application/json" id="editor-data">(.*?)</script>', page, re.S)
    assert found
    return dict(json.loads(found[1]))


def edited_377(example: Path) -> tuple[Path, bytes, dict[str, object], str]:
    """Issue 377 with one word of its first item's title changed, as the form would send it."""
    path = example / "issues" / "377.yaml"
    loaded = load_for_edit(path, "issues/377.yaml")
    data = json.loads(json.dumps(loaded.data))
    data["items"][0]["title"] = data["items"][0]["title"].replace("Crawley", "Horsham")
    return path, path.read_bytes(), data, loaded.digest


def test_the_manager_s_pages_offer_edit_and_new_issue(running: PreviewServer) -> None:
    token = running.app.edit_token
    assert token
    index = request(running, "GET", "/")[2]
    assert "New issue" in index and f'name="token" value="{token}"' in index
    assert 'href="/issue/377/edit">Edit</a>' in request(running, "GET", "/issue/377/")[2]
    config = editor_config(running, 377)
    assert config["token"] == token and config["file"] == "issues/377.yaml"
    assert {"id": "send", "name": "SEND Network"} in config["networks"]  # type: ignore[operator]
    status, headers, script = request(running, "GET", "/editor.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert request(running, "GET", "/issue/999/edit")[0] == 404


def test_a_save_from_the_page_writes_the_one_line_that_changed(running: PreviewServer, example: Path) -> None:
    path, before, data, digest = edited_377(example)
    token = running.app.edit_token or ""
    form = urlencode({"token": token, "digest": digest, "data": json.dumps(data)})
    status, _, answer = request(running, "POST", "/issue/377/edit/save", form, own_headers(running))
    assert status == 200, answer
    result = json.loads(answer)
    assert result["saved"] == "issues/377.yaml" and result["digest"] != digest
    after = path.read_bytes()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert changed == [
        (
            b'    title: "Education Data sub-group \xe2\x80\x93 Thursday 14 November, Crawley"',
            b'    title: "Education Data sub-group \xe2\x80\x93 Thursday 14 November, Horsham"',
        )
    ]
    assert not [p for p in result["problems"] if p["severity"] == "error"]
    assert "Horsham" in result["html"]


@pytest.mark.parametrize(
    "forgery",
    ["another origin", "no origin", "no token", "wrong token", "foreign host", "too large"],
)
def test_a_forged_post_writes_nothing(running: PreviewServer, example: Path, forgery: str) -> None:
    path, before, data, digest = edited_377(example)
    issues = sorted(p.name for p in (example / "issues").iterdir())
    token = running.app.edit_token or ""
    fields = {"token": token, "digest": digest, "data": json.dumps(data)}
    headers = own_headers(running)
    if forgery == "another origin":
        headers["Origin"] = "http://evil.example"
    elif forgery == "no origin":
        del headers["Origin"]
    elif forgery == "no token":
        del fields["token"]
    elif forgery == "wrong token":
        fields["token"] = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif forgery == "foreign host":  # DNS rebinding: evil.example pointed at 127.0.0.1
        headers["Host"] = f"evil.example:{running.server_port}"
        headers["Origin"] = f"http://evil.example:{running.server_port}"
    for target in ("/issue/377/edit/save", "/new"):
        body = urlencode(fields)
        if forgery == "too large":
            headers["Content-Length"] = str(MAX_EDIT + 1)
            status = request(running, "POST", target, "", headers)[0]
        else:
            status = request(running, "POST", target, body, headers)[0]
        assert status in (403, 413, 421), (forgery, target, status)
    assert path.read_bytes() == before
    assert sorted(p.name for p in (example / "issues").iterdir()) == issues


def test_new_issue_writes_what_composer_new_writes_and_opens_its_form(
    running: PreviewServer, example: Path
) -> None:
    form = urlencode({"token": running.app.edit_token or ""})
    status, headers, _ = request(running, "POST", "/new", form, own_headers(running))
    assert status == 303 and headers["Location"] == "/issue/378/edit"
    assert "# These reminders from previous weeks will carry forward" in (
        example / "issues" / "378.yaml"
    ).read_text(encoding="utf-8")
    config = editor_config(running, 378)
    reminders = {r["id"]: r for r in config["reminders"]}  # type: ignore[attr-defined]
    assert "kinship-advice-line" in reminders and reminders["kinship-advice-line"]["item"]["title"]


def test_a_save_against_a_file_changed_on_disk_is_refused_with_the_change(
    running: PreviewServer, example: Path
) -> None:
    path, before, data, digest = edited_377(example)
    theirs = before.replace(b"number: 377", b"number: 377  # touched in a text editor")
    path.write_bytes(theirs)
    form = urlencode({"token": running.app.edit_token or "", "digest": digest, "data": json.dumps(data)})
    status, _, answer = request(running, "POST", "/issue/377/edit/save", form, own_headers(running))
    assert status == 409
    refused = json.loads(answer)
    assert "changed on disk" in refused["message"]
    assert '+    title: "Education Data sub-group – Thursday 14 November, Horsham"' in refused["diff"]
    assert path.read_bytes() == theirs


def test_the_check_answers_with_problems_at_their_fields_and_the_email(
    running: PreviewServer, example: Path
) -> None:
    _, before, data, _ = edited_377(example)
    data["items"][0]["contacts"] = ["siobhan-doyl"]  # type: ignore[index]
    form = urlencode({"token": running.app.edit_token or "", "data": json.dumps(data)})
    status, _, answer = request(running, "POST", "/issue/377/edit/check", form, own_headers(running))
    assert status == 200
    result = json.loads(answer)
    assert any(
        p["field"] == "items[education-data-subgroup].contacts" and "siobhan-doyle" in p["message"]
        for p in result["problems"]
    ), result["problems"]
    assert result["html"] is None  # an error: the form keeps the last email it showed
    assert "<strong>" in result["markdown"]["items.0.body"]
    assert (example / "issues" / "377.yaml").read_bytes() == before


def test_the_editor_is_for_loopback_only_and_never_on_the_review_address(
    running: PreviewServer, example: Path
) -> None:
    assert loopback("127.0.0.1") and loopback("::1") and loopback("localhost")
    assert not loopback("0.0.0.0") and not loopback("192.168.1.20") and not loopback("")
    share = ShareServer(running.app, "127.0.0.1", 0).start()
    try:
        prefix = urlsplit(share.url).path.rstrip("/")
        page = request(share, "GET", f"{prefix}/issue/377/")[2]
        assert "/edit" not in page and "New issue" not in request(share, "GET", f"{prefix}/")[2]
        assert request(share, "GET", f"{prefix}/issue/377/edit")[0] == 404
        _, before, data, digest = edited_377(example)
        form = urlencode({"token": running.app.edit_token or "", "digest": digest, "data": json.dumps(data)})
        for target in (f"{prefix}/issue/377/edit/save", "/issue/377/edit/save", f"{prefix}/new"):
            assert request(share, "POST", target, form, own_headers(share))[0] == 404
        assert (example / "issues" / "377.yaml").read_bytes() == before
    finally:
        share.close()


@pytest.mark.parametrize(
    "data",
    ["not json", "[1, 2]", "[" * 100_000 + "]" * 100_000, '{"items": ' + "[" * 40 + "]" * 40 + "}"],
    ids=["not json", "a list", "too deep for json", "deeper than a file"],
)
def test_a_form_that_is_not_an_issue_gets_a_message_and_writes_nothing(
    running: PreviewServer, example: Path, data: str
) -> None:
    path, before, _, digest = edited_377(example)
    form = urlencode({"token": running.app.edit_token or "", "digest": digest, "data": data})
    for target in ("/issue/377/edit/save", "/issue/377/edit/check"):
        status, _, answer = request(running, "POST", target, form, own_headers(running))
        assert status == 400 and json.loads(answer)["message"] == "The form sent no issue: reload the page."
    assert path.read_bytes() == before

"""Review from another desk (issue 24, point 3): `send --review` and `preview --share`."""

from __future__ import annotations

import email
import email.policy
import http.client
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import yaml
from conftest import SECRET, Cli, state_files

from composer.content.loading import load_project
from composer.content.reviews import add_entry, read_reviews
from composer.lists.recipients import read_lists
from composer.web.preview.server import PreviewServer, ShareServer, open_preview

pytestmark = pytest.mark.server  # review copies and the review address

REVIEWERS = ["ruth.reviewer@secip.example.org", "omar.checker@secip.example.org"]


def set_review(project: Path, review: object) -> None:
    path = project / "composer.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["review"] = review
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPOSER_SECRET", SECRET)


def dry_run(project: Path, run_cli: Cli) -> dict[str, object]:
    result = run_cli(project, "send", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def subjects(folder: Path) -> dict[tuple[str, str], str]:
    """(edition folder, address) -> subject of each review copy written to the outbox."""
    found = {}
    for path in folder.glob("*/*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found[path.parent.name, str(message["To"])] = str(message["Subject"])
    return found


def test_send_review_sends_every_edition_to_each_reviewer_and_leaves_the_journal(
    example: Path,
    secret_env: None,
    run_cli: Cli,
) -> None:
    set_review(example, {"to": REVIEWERS})
    plan = dry_run(example, run_cli)
    before = state_files(example)
    result = run_cli(example, "send", "--review")
    assert result.returncode == 0, result.stderr
    assert state_files(example) == before  # the journal is untouched, as with --to
    editions = plan["editions"]
    assert isinstance(editions, list)
    sent = subjects(example / "outbox" / "reviews" / str(plan["issue"]))
    assert len(sent) == len(editions) * len(REVIEWERS)
    for edition in editions:
        people = edition["recipients"]
        tag = f"[REVIEW {edition['edition']}, {people} {'person' if people == 1 else 'people'}] "
        for address in REVIEWERS:
            assert sent[edition["edition"], address].startswith(tag)
    members = {r.person.email for r in read_lists(load_project(example)).recipients()}
    assert not any(address in members for _, address in sent)


def test_send_review_of_named_editions_and_its_clear_errors(
    example: Path, secret_env: None, run_cli: Cli
) -> None:
    set_review(example, {"to": REVIEWERS[:1]})
    editions = dry_run(example, run_cli)["editions"]
    assert isinstance(editions, list)
    first = editions[0]["edition"]
    result = run_cli(example, "send", "--review", "--edition", first)
    assert result.returncode == 0, result.stderr
    assert list(subjects(example / "outbox" / "reviews" / "377")) == [(first, REVIEWERS[0])]
    wrong = run_cli(example, "send", "--review", "--edition", first[:-1])
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    assert f"did you mean {first!r}?" in wrong.stderr
    set_review(example, {"to": []})
    nobody = run_cli(example, "send", "--review")
    assert nobody.returncode == 1 and "no reviewers: add them to composer.yaml" in nobody.stderr


def test_a_reviewer_address_is_checked_at_its_line(example: Path, run_cli: Cli) -> None:
    set_review(example, {"to": ["not an address"]})
    result = run_cli(example, "check")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert re.search(r"composer\.yaml:\d+: review\.to\[0\]", result.stderr), result.stderr


def test_send_mentions_unresolved_comments_without_stopping(example: Path, run_cli: Cli) -> None:
    add_entry(example, 377, "comment", name="Ruth", text="The date in item 2 looks wrong")
    result = run_cli(example, "send", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Note: 1 reviewer comment(s) not marked resolved" in result.stdout
    comment = read_reviews(example, 377).comments[0]
    add_entry(example, 377, "resolve", name="the manager", of=comment.time)
    assert "reviewer comment" not in run_cli(example, "send", "--dry-run").stdout


# The review address ---------------------------------------------------------------------------


@pytest.fixture
def shared(example: Path) -> Iterator[tuple[PreviewServer, ShareServer]]:
    preview = open_preview(example, port=0, interval=0.05, settle=0.1).start()
    share = ShareServer(preview.app, "127.0.0.1", 0).start()
    yield preview, share
    share.close()
    preview.close()


def fetch(server: PreviewServer, target: str, *, host: str | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=60)
    headers = {"Host": host} if host else {}
    connection.request("GET", target, headers=headers)
    response = connection.getresponse()
    body = response.read().decode("utf-8", errors="replace")
    connection.close()
    return response.status, body


class Links(HTMLParser):
    """Every address a page leads to: links, frames, forms (GET ones with each menu choice)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.options: dict[str, list[str]] = {}
        self._select = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag in ("a", "link") and "href" in values:
            self.found.append(values["href"])
        if tag in ("iframe", "script", "img") and "src" in values:
            self.found.append(values["src"])
        if tag == "select":
            self._select = values.get("name", "")
        if tag == "option" and self._select:
            self.options.setdefault(self._select, []).append(values.get("value", ""))


def test_the_review_address_needs_its_token(shared: tuple[PreviewServer, ShareServer]) -> None:
    preview, share = shared
    token = urlsplit(share.url).path.strip("/")
    assert len(token) >= 32
    for target in [
        "/",
        "/issue/377/",
        "/issue/377/email/full.html",
        "/livereload",
        f"/{token[:-1]}/",
        f"/{token}x/",
        f"/{token.upper()}/issue/377/",
        "/issue/377/calendar/x.ics",
    ]:
        assert fetch(share, target)[0] == 404, target
    assert fetch(share, f"/{token}/")[0] == 200
    again = ShareServer(preview.app, "127.0.0.1", 0)
    try:
        assert urlsplit(again.url).path != urlsplit(share.url).path  # a new token each run
    finally:
        again.server_close()


def test_the_review_address_answers_this_machines_name_only(
    shared: tuple[PreviewServer, ShareServer],
) -> None:
    _, share = shared
    path = urlsplit(share.url).path
    port = share.server_port
    assert fetch(share, path, host=f"{socket.gethostname()}:{port}")[0] == 200
    assert fetch(share, path, host=f"127.0.0.1:{port}")[0] == 200
    assert fetch(share, path, host=f"evil.example:{port}")[0] == 421


def test_no_page_of_the_review_address_holds_personal_data(
    shared: tuple[PreviewServer, ShareServer], example: Path
) -> None:
    _, share = shared
    project = load_project(example)
    members = [r.person for r in read_lists(project).recipients()]
    prefix = urlsplit(share.url).path
    seen: set[str] = set()
    todo = [prefix]
    pages = 0
    while todo:
        target = todo.pop()
        if target in seen:
            continue
        seen.add(target)
        status, body = fetch(share, target)
        assert status == 200, target
        pages += 1
        for person in members:
            assert person.email.casefold() not in body.casefold(), (target, person.email)
            assert f"Dear {person.first_name}," not in body, target
        for path in ("issues/", ".yaml", "recipients/", "members.csv", str(example)):
            assert path not in body, (target, path)
        assert 'name="find"' not in body and "member:" not in body
        links = Links()
        links.feed(body)
        found = [urljoin(target, link) for link in links.found]
        if urlsplit(target).path.endswith(("/issue/377/", f"{prefix}")):
            found += [
                f"{urlsplit(target).path}?edition={e}&view={v}"
                for e in links.options.get("edition", [])
                for v in links.options.get("view", [])[:2]
            ]
        todo += [
            link.split("#")[0] for link in found if link.startswith(prefix) and link.split("#")[0] not in seen
        ]
    assert pages > 40  # every issue, every edition of the latest, both views, the emails themselves


def test_a_comment_and_an_approval_from_the_review_address_reach_the_manager(
    shared: tuple[PreviewServer, ShareServer], example: Path
) -> None:
    preview, share = shared
    target = f"{urlsplit(share.url).path}issue/377/review"
    connection = http.client.HTTPConnection("127.0.0.1", share.server_port, timeout=60)
    form = "name=Ruth+Reviewer&text=Item+2%27s+date+%3Cb%3Elooks%3C%2Fb%3E+wrong&comment=1"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": f"http://127.0.0.1:{share.server_port}",
        "Host": f"127.0.0.1:{share.server_port}",
    }
    connection.request("POST", target, body=form, headers=headers)
    response = connection.getresponse()
    response.read()
    assert response.status == 303 and response.getheader("Location", "").endswith("/issue/377/#reviews")
    connection.request("POST", target, body="name=Omar&approve=1", headers=headers)
    assert connection.getresponse().status == 303
    connection.close()
    page = fetch(preview, "/issue/377/")[1]
    reviews = page[page.index('id="reviews"') :]
    assert "Ruth Reviewer" in reviews and "Item 2&#39;s date &lt;b&gt;looks&lt;/b&gt; wrong" in reviews
    assert "Approved by" in reviews and "Omar" in reviews
    assert "Mark resolved" in reviews
    lines = (example / ".composer" / "reviews" / "377.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["name"] for line in lines] == ["Ruth Reviewer", "Omar"]


def test_the_review_address_refuses_forms_from_elsewhere_and_edits_nothing(
    shared: tuple[PreviewServer, ShareServer], example: Path
) -> None:
    preview, share = shared
    prefix = urlsplit(share.url).path
    connection = http.client.HTTPConnection("127.0.0.1", share.server_port, timeout=60)
    for target, origin in [
        (f"{prefix}issue/377/review", "http://evil.example"),  # another site's form
        (f"{prefix}issue/377/resolve", None),  # only the manager resolves
        ("/issue/377/review", None),  # no token
    ]:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} | (
            {"Origin": origin} if origin else {}
        )
        connection.request("POST", target, body="name=X&text=hello&comment=1&of=x", headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status in (403, 404), target
    connection.close()
    assert not (example / ".composer" / "reviews").exists()


def test_the_command_announces_the_review_address_by_name_and_address(example: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "composer",
        "preview",
        "--port",
        "0",
        "--share",
        "--share-host",
        "127.0.0.1",
        "--share-port",
        "0",
        "--project",
        str(example),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        urls = [line.strip() for line in lines if line.startswith("  http://")]
        assert [urlsplit(url).hostname for url in urls] == [socket.gethostname().lower(), "127.0.0.1"]
        assert len({urlsplit(url).path for url in urls}) == 1
        connection = http.client.HTTPConnection("127.0.0.1", urlsplit(urls[1]).port, timeout=60)
        connection.request("GET", urlsplit(urls[1]).path)
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        process.terminate()
        process.wait(timeout=30)

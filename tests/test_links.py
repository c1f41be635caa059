"""`composer check --links`, the link check before a send, and the preview's "Check links" button,
against scripted servers on 127.0.0.1 (tests/link_server.py): no test reaches outside this machine."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import SECRET, Cli, copy_example, set_sending
from link_server import Gauge, LinkServer, make_certificates

from composer.cli import main
from composer.commands.check import check
from composer.content.layout import cache_folder
from composer.content.settings import LinkCheck
from composer.email.asklinks import Asker
from composer.email.links import CACHE_FILE, LinkReport

# path -> (severity or None for no problem, words the message holds)
CASES: dict[str, tuple[str | None, str]] = {
    "/ok": (None, ""),
    "/chain": ("warning", "/ok-after-chain"),
    "/temporary": (None, ""),
    "/gone": ("error", "404 Not Found"),
    "/removed": ("error", "410 Gone"),
    "/flaky": (None, ""),
    "/failing": ("error", "503 Service Unavailable, and again"),
    "/busy": ("warning", "429 Too Many Requests, and again after waiting 1 s"),
    "/busy-long": ("warning", "after waiting 1.5 s"),
    "/head-405": (None, ""),
    "/head-403": (None, ""),
    "/members-only": ("warning", "may need a login"),
    "/slow": ("error", "no answer within 0.5 s"),
    "/to-https": ("warning", "has moved to https for good"),
    "/loop": ("error", "more than 10 redirects"),
}


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return make_certificates(tmp_path_factory.mktemp("certificates"))


@pytest.fixture(scope="module")
def servers(certificates) -> Iterator[dict[str, LinkServer]]:  # type: ignore[no-untyped-def]
    """Plain HTTP, HTTPS with a certificate of the test CA, HTTPS with a self-signed one."""
    _, good, self_signed = certificates
    found = {
        "http": LinkServer().start(),
        "https": LinkServer(context=good).start(),
        "self": LinkServer(context=self_signed).start(),
    }
    found["http"].redirect_to_https = found["https"].base
    yield found
    for server in found.values():
        server.stop()


@pytest.fixture
def web(servers, certificates, monkeypatch: pytest.MonkeyPatch) -> dict[str, LinkServer]:  # type: ignore[no-untyped-def]
    """The servers with empty logs, and the test CA trusted (as a system's CA would be)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates[0]))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for server in servers.values():
        server.log.clear()
        server.counts.clear()
    return servers  # type: ignore[no-any-return]


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: a connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def project(tmp_path: Path, web: dict[str, LinkServer]) -> Path:
    """The example with an issue 378 linking to every case, a dead header link in composer.yaml,
    an unsubscribe page on the test server, and short waits."""
    root = copy_example(tmp_path / "project")
    http, https, self_signed = web["http"].base, web["https"].base, web["self"].base
    set_sending(root, unsubscribe_url=f"{https}/unsubscribe")
    settings = yaml.safe_load((root / "composer.yaml").read_text(encoding="utf-8"))
    settings["navigation"].append({"label": "Dead", "url": f"{http}/gone?from=navigation"})
    settings["links"] = {"timeout": 0.5, "retry_after_max": 1.5}
    (root / "composer.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    body = "\n".join(f"      [case {path}]({http}{path})" for path in CASES)
    (root / "issues" / "378.yaml").write_text(
        f"""number: 378
date: 2019-11-15
items:
  - id: links-to-check
    title: Links to check
    body: |
{body}
      [certificate]({self_signed}/ok)
      [refused](http://127.0.0.1:{closed_port()}/)
      [no such port](http://127.0.0.1:99999/)
      [their unsubscribe]({http}/lists/unsubscribe?id=1)

      ![A big picture]({https}/big.png)
      ![A page, not a picture]({https}/not-an-image.png)
      ![A small picture]({https}/small.png)
    action: Nothing this week.
tools:
  - title: A tool
    url: {https}/ok-tool
    publisher: Nobody
    date: 2019-11-14
""",
        encoding="utf-8",
    )
    return root


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def by_url(report: LinkReport) -> dict[str, tuple[str, list[str], int | None, str]]:
    return {
        r.link.url: (r.severity, [p.message for p in r.problems], r.link.line, r.link.file)
        for r in report.results
    }


def test_every_case_gets_its_outcome_at_its_line(project: Path, web: dict[str, LinkServer]) -> None:
    started = time.monotonic()
    report = check(project, "378", links=True)
    took = time.monotonic() - started
    assert report.links is not None
    found = by_url(report.links)
    issue = project / "issues" / "378.yaml"
    http = web["http"].base
    for path, (severity, words) in CASES.items():
        url = f"{http}{path}"
        got, messages, line, file = found[url]
        assert got == (severity or "ok"), (path, messages)
        assert all(words in m for m in messages), (path, messages)
        assert (file, line) == ("issues/378.yaml", line_of(issue, f"({url})")), path
    others = {url: value for url, value in found.items() if not url.startswith(http)}
    certificate = others[f"{web['self'].base}/ok"]
    assert certificate[0] == "error" and "certificate is not valid" in certificate[1][0]
    port = others["http://127.0.0.1:99999/"]
    assert port[0] == "error" and "not a usable address (connect(): port must be 0-65535.)" in port[1][0]
    refused_url = next(url for url in others if url.startswith("http://127.0.0.1:") and "99999" not in url)
    assert others[refused_url][0] == "error" and "cannot connect" in others[refused_url][1][0]
    https = web["https"].base
    assert others[f"{https}/big.png"][0] == "warning" and "2.0 MB" in others[f"{https}/big.png"][1][0]
    assert "is not an image" in others[f"{https}/not-an-image.png"][1][0]
    assert others[f"{https}/small.png"][0] == "ok"
    tool = others[f"{https}/ok-tool"]
    assert tool[0] == "ok" and tool[2] == line_of(issue, "/ok-tool")
    # composer.yaml's navigation link, at its line there
    nav = found[f"{http}/gone?from=navigation"]
    assert nav[0] == "error" and nav[3] == "composer.yaml"
    assert nav[2] == line_of(project / "composer.yaml", "/gone?from=navigation")
    # the problems join the report's, each at its line
    assert any(p.file == "composer.yaml" and "404" in p.message for p in report.errors)
    # HEAD first, then GET where HEAD was refused; 500 asked twice; 429 asked again after waiting
    assert web["http"].log.count(("HEAD", "/head-405")) == 1 and ("GET", "/head-405") in web["http"].log
    assert ("GET", "/head-403") in web["http"].log
    assert web["http"].asked("/flaky") == 2 and web["http"].asked("/busy") == 2
    # never an unsubscribe link: neither the settings' page nor a list's in an item
    assert not [path for server in web.values() for _, path in server.log if "unsubscribe" in path]
    assert report.links.skipped[f"{http}/lists/unsubscribe?id=1"] == "unsubscribe"
    # asked as a browser would, naming composer and the archive
    headers = web["http"].headers_seen[0]
    assert "composer/" in headers["User-Agent"] and "updates.secip.example.org" in headers["User-Agent"]
    assert headers["Accept"].startswith("text/html")
    # the example's own links are on example domains: never asked, and the archive's are ours
    assert not any("example.org" in url for url in found)
    assert took < 10


def test_a_second_run_asks_only_new_and_failed_urls_and_refresh_asks_all(
    project: Path, web: dict[str, LinkServer]
) -> None:
    check(project, "378", links=True)
    assert (cache_folder(project) / CACHE_FILE).exists()
    for server in web.values():
        server.log.clear()
    again = check(project, "378", links=True)
    assert again.links is not None
    http = web["http"]
    assert http.asked("/ok") == 0 and web["https"].asked("/ok-tool") == 0 and http.asked("/chain") == 0
    assert http.asked("/gone") >= 1 and http.asked("/failing") >= 1  # failed: asked again
    cached = {r.link.url: r.cached for r in again.links.results}
    assert cached[f"{http.base}/ok"] and not cached[f"{http.base}/gone"]
    http.log.clear()
    check(project, "378", links=True, refresh=True)
    assert http.asked("/ok") == 1


def test_a_damaged_cache_is_made_again(project: Path, web: dict[str, LinkServer]) -> None:
    cache = cache_folder(project) / CACHE_FILE
    cache.parent.mkdir(exist_ok=True)
    cache.write_bytes(b"not a database at all" * 100)
    report = check(project, "378", links=True)
    assert report.links is not None and report.links.asked == len(report.links.results)
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT count(*) FROM answers").fetchone()[0] == len(report.links.results)


def test_a_cache_that_cannot_be_opened_is_named_without_a_traceback(
    project: Path,
    web: dict[str, LinkServer],
    run_cli: Cli,
) -> None:
    (cache_folder(project) / CACHE_FILE).mkdir(parents=True)  # a folder where the file should be
    result = run_cli(project, "check", "378", "--links")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"cannot use the link cache {cache_folder(project) / CACHE_FILE}" in result.stderr


def test_retry_after_takes_seconds_or_a_date() -> None:
    from email.utils import formatdate

    from composer.email.asklinks import retry_after

    assert retry_after("120") == 120 and retry_after(None) is None and retry_after("soon") is None
    later = retry_after(formatdate(time.time() + 60, usegmt=True))
    assert later is not None and 55 < later <= 60


def test_check_links_json_carries_every_link(project: Path, web: dict[str, LinkServer]) -> None:
    result = CliRunner().invoke(main, ["check", "378", "--links", "--json", "--project", str(project)])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    links = {entry["url"]: entry for entry in data["links"]["links"]}
    ok = links[f"{web['http'].base}/chain"]
    assert ok["status"] == 200 and ok["final_url"] == f"{web['http'].base}/ok-after-chain"
    assert ok["seconds"] >= 0 and ok["result"] == "warning" and ok["line"]
    assert links[f"{web['http'].base}/gone"]["status"] == 404
    assert "Traceback" not in result.output


def test_check_links_prints_problems_at_their_lines(
    project: Path, web: dict[str, LinkServer], run_cli: Cli
) -> None:
    result = run_cli(project, "check", "378", "--links")
    assert result.returncode == 1
    line = line_of(project / "issues" / "378.yaml", "/gone)")
    assert (
        f"issues/378.yaml:{line}: items[links-to-check].body: link {web['http'].base}/gone answered 404"
        in (result.stderr)
    )
    assert "Links: " in result.stdout and "Traceback" not in result.stderr + result.stdout
    refresh_alone = run_cli(project, "check", "--refresh")
    assert refresh_alone.returncode == 1 and "--refresh goes with --links" in refresh_alone.stderr


@pytest.fixture
def sendable(project: Path) -> Path:
    """The project with only good links in its latest issue, so that a send may go."""
    issue = project / "issues" / "378.yaml"
    text = issue.read_text()
    start, end = text.index("    body: |"), text.index("    action:")
    issue.write_text(text[:start] + "    body: Only good links.\n" + text[end:])
    settings = yaml.safe_load((project / "composer.yaml").read_text())
    settings["navigation"].pop()
    (project / "composer.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return project


def send(project: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        ["send", "--yes", "--transport", "outbox", *args, "--project", str(project)],
        env={"COMPOSER_SECRET": SECRET},
    )
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_send_stops_on_a_dead_link_and_says_which(sendable: Path, web: dict[str, LinkServer]) -> None:
    issue = sendable / "issues" / "378.yaml"
    dead = f"{web['https'].base}/gone?from=tool"
    issue.write_text(issue.read_text().replace(f"{web['https'].base}/ok-tool", dead))
    code, output = send(sendable, "--dry-run")
    assert code == 1 and dead in output and "the send would stop" in output
    code, output = send(sendable)
    assert code == 1 and f"tools[0].url: link {dead} answered 404" in output
    assert not (sendable / "outbox").exists()
    code, output = send(sendable, "--no-link-check")
    assert code == 0, output
    assert len(list((sendable / "outbox" / "378").glob("*.eml"))) > 0


def test_send_shows_link_warnings_and_sends(sendable: Path, web: dict[str, LinkServer]) -> None:
    issue = sendable / "issues" / "378.yaml"
    issue.write_text(issue.read_text().replace("/ok-tool", "/members-only"))
    code, output = send(sendable)
    assert code == 0, output
    assert "may need a login" in output
    assert web["https"].asked("/members-only") >= 1


def test_the_preview_checks_links_on_a_post_and_shows_them(project: Path, web: dict[str, LinkServer]) -> None:
    from composer.web.preview.app import Preview

    preview = Preview(project)
    page = preview.respond("/issue/378/").body.decode()
    assert 'action="/issue/378/links' in page and "Check links" in page
    response = preview.post("/issue/378/links?edition=full&width=phone", {"refresh": "1"})
    assert response.status == 303 and response.location == "/issue/378/?edition=full&width=phone"
    page = preview.respond(response.location).body.decode()
    assert f"{web['http'].base}/gone answered 404" in page
    assert 'id="links"' in page
    assert preview.post("/issue/999/links", {}).status == 404


def test_the_preview_server_takes_the_form_from_its_own_pages_only(
    project: Path, web: dict[str, LinkServer]
) -> None:
    import http.client

    from composer.web.preview.server import open_preview

    def get_page(server, path: str) -> str:  # type: ignore[no-untyped-def]
        with urllib.request.urlopen(f"{server.url.rstrip('/')}{path}", timeout=60) as response:
            return str(response.read().decode())

    server = open_preview(project, port=0).start()
    try:

        def post(origin: str, token: str) -> http.client.HTTPResponse:
            connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
            connection.request(
                "POST",
                "/issue/378/links",
                body=f"refresh=1&token={token}",
                headers={"Origin": origin, "Content-Type": "application/x-www-form-urlencoded"},
            )
            return connection.getresponse()

        own, token = f"http://127.0.0.1:{server.server_port}", server.app.edit_token or ""
        assert token and f'name="token" value="{token}"' in get_page(server, "/issue/378/")
        web["http"].log.clear()
        assert post("https://elsewhere.example", token).status == 403
        assert post(own, "not-the-token").status == 403  # the page's token, not just its Origin
        assert not web["http"].log  # nothing was asked on a foreign page's behalf
        answer = post(own, token)
        assert answer.status == 303 and answer.getheader("Location") == "/issue/378/"
        assert web["http"].asked("/ok") == 1
    finally:
        server.close()


@pytest.mark.server  # sixteen local servers of its own
def test_at_most_two_requests_at_once_per_origin_and_sixteen_in_all() -> None:
    shared = Gauge()
    servers = [LinkServer(delay=0.15, gauge=shared).start() for _ in range(12)]
    try:
        urls = [(f"{servers[n % 12].base}/ok-{n}", False) for n in range(60)]
        asker = Asker(LinkCheck(), agent="composer test", language="en-GB")
        answers = asyncio.run(asker.ask_all(urls))
    finally:
        for server in servers:
            server.stop()
    assert all(answer.status == 200 for answer in answers.values())
    assert max(server.gauge.most for server in servers) == 2
    assert 2 < shared.most <= 16

"""The preview server over real HTTP: routes, editions, live rebuilds, broken files, no traversal."""

from __future__ import annotations

import csv
import html
import http.client
import inspect
import json
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import icalendar
import pytest
from conftest import Cli, copy_example

from composer import workspace as workspace_module
from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.email.check import CheckReport, check_issue
from composer.email.editions import FULL, edition_key, edition_name, receives
from composer.email.placeholders import PLACEHOLDERS, fill_placeholders, reader_values
from composer.email.render import Renderer
from composer.web.preview import builds
from composer.web.preview.app import Preview
from composer.web.preview.server import PreviewServer, host_allowed, open_preview, serve

pytestmark = pytest.mark.server  # the preview, in this process or over HTTP


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PreviewServer, Path]]:
    """One server for the tests that only read: rendering an issue's editions takes a second."""
    project = copy_example(tmp_path_factory.mktemp("preview") / "project")
    running = open_preview(project, port=0, interval=0.05, settle=0.1).start()
    yield running, project
    running.close()


@pytest.fixture
def server(shared: tuple[PreviewServer, Path]) -> PreviewServer:
    return shared[0]


@pytest.fixture
def project_root(shared: tuple[PreviewServer, Path]) -> Path:
    return shared[1]


@pytest.fixture
def own_server(example: Path) -> Iterator[PreviewServer]:
    """A server of its own, for a test that edits the project's files."""
    running = open_preview(example, port=0, interval=0.05, settle=0.1).start()
    yield running
    running.close()


def get(server: PreviewServer, target: str) -> tuple[int, str, str]:
    """A raw GET: the path goes out exactly as written (no client-side normalising)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
    connection.request("GET", target)
    response = connection.getresponse()
    body = response.read().decode("utf-8")
    connection.close()
    return response.status, response.getheader("Content-Type", ""), body


def text_of(body: str) -> str:
    return html.unescape(body)


def page_when(server: PreviewServer, target: str, wanted: Callable[[str], bool], timeout: float = 10) -> str:
    """The page at `target` once the watcher has rebuilt it into what `wanted` accepts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = get(server, target)[2]
        if wanted(body):
            return body
        time.sleep(0.05)
    raise AssertionError(f"{target} never showed what was wanted")


def test_the_command_listens_on_loopback_by_default(example: Path, run_cli: Cli) -> None:
    process = run_cli.start(example, "preview", "--port", "0")
    try:
        line = process.stdout.readline() if process.stdout else ""
        url = re.search(r"http://\S+/", line)
        assert url, line
        assert urlsplit(url[0]).hostname == "127.0.0.1"
        with urllib.request.urlopen(url[0], timeout=30) as response:
            assert response.status == 200
    finally:
        process.terminate()
        process.communicate()


def test_the_server_listens_on_loopback_unless_told(example: Path) -> None:
    """open_preview and serve, called without a host, bind the loopback address and nothing wider."""
    for function in (open_preview, serve):
        assert inspect.signature(function).parameters["host"].default == "127.0.0.1"
    running = open_preview(example, port=0)
    try:
        assert running.server_address[0] == "127.0.0.1"
    finally:
        running.server_close()


def test_index_lists_issues_newest_first_with_date_items_and_status(
    server: PreviewServer, project_root: Path
) -> None:
    status, content_type, body = get(server, "/")
    assert status == 200 and content_type.startswith("text/html")
    project = load_project(project_root)
    links = [f'href="/issue/{s.number}/"' for s in reversed(project.issues)]
    positions = [body.index(link) for link in links]
    assert positions == sorted(positions) and len(positions) >= 2
    latest = project.issues[-1]
    row = text_of(body[body.index(links[0]) :].split("</tr>")[0])
    assert f"{latest.issue.date.day} {latest.issue.date:%B %Y}" in row
    assert f"<td>{len(plan_for(project, latest.number).items)}</td>" in row  # as `check` counts them


def test_issue_page_shows_plan_sizes_and_an_iframe(server: PreviewServer, project_root: Path) -> None:
    project = load_project(project_root)
    latest = project.issues[-1].number
    status, _, body = get(server, f"/issue/{latest}/")
    assert status == 200
    assert f'src="/issue/{latest}/email/full.html"' in body
    plan = plan_for(project, latest)
    assert f"Reminders from previous weeks ({len(plan.reminders)})" in body
    for reminder in plan.reminders:
        assert reminder.item.title in text_of(body)
    assert "at which Gmail clips" in body


def test_network_edition_shows_its_items_only(server: PreviewServer, project_root: Path) -> None:
    project = load_project(project_root)
    latest = project.issues[-1]
    network = next(n for item in latest.issue.items for n in item.networks)
    key = edition_key([network])
    status, content_type, body = get(server, f"/issue/{latest.number}/email/{edition_name(key)}.html")
    assert status == 200 and content_type.startswith("text/html")
    shown = [item for item in latest.issue.items if receives(item, key)]
    hidden = [item for item in latest.issue.items if not receives(item, key)]
    assert shown and hidden
    for item in shown:
        assert item.title in text_of(body)
    for item in hidden:
        assert item.title not in text_of(body)


def test_email_is_exactly_the_rendered_edition_without_the_reload_script(
    server: PreviewServer, project_root: Path
) -> None:
    project = load_project(project_root)
    latest = project.issues[-1].number
    edition = Renderer(project).edition(plan_for(project, latest), FULL)
    _, _, body = get(server, f"/issue/{latest}/email/full.html")
    assert body == fill_placeholders(
        edition.html,
        reader_values(
            project.settings, unsubscribe_url=str(project.settings.sending.unsubscribe_url), html=True
        ),
    )
    assert "livereload" not in body
    assert "livereload" in get(server, f"/issue/{latest}/")[2]
    assert "livereload" in get(server, "/")[2]


def test_plain_text_and_source_views(server: PreviewServer, project_root: Path) -> None:
    latest = load_project(project_root).issues[-1].number
    status, content_type, text = get(server, f"/issue/{latest}/email/full.txt")
    assert status == 200 and content_type.startswith("text/plain")
    assert f"UPDATE NO {latest}" in text and "<" not in text.split("\n")[0]
    status, content_type, source = get(server, f"/issue/{latest}/email/full.html.txt")
    assert content_type.startswith("text/plain") and source.lower().startswith("<!doctype html>")
    page = get(server, f"/issue/{latest}/?view=text&width=phone")[2]
    assert f'src="/issue/{latest}/email/full.txt"' in page and 'width="375"' in page


def test_member_edition_is_personalised(server: PreviewServer, project_root: Path) -> None:
    from composer.lists.recipients import read_lists

    project = load_project(project_root)
    recipient = next(r for r in read_lists(project).recipients() if len(r.networks) > 1)
    latest = project.issues[-1].number
    page = get(server, f"/issue/{latest}/?edition=member:{recipient.person.email}")[2]
    src = f"/issue/{latest}/email/{edition_name(recipient.edition)}.html?member="
    assert src in page
    body = get(server, src + recipient.person.email)[2]
    first_name = recipient.person.first_name
    greeting = f"Dear {first_name}," if first_name else "Dear colleague,"  # composer.yaml's greeting
    assert f">{html.escape(greeting)}<" in body
    assert not any(token in body for token in PLACEHOLDERS.values())
    for network in recipient.networks:
        assert html.escape(project.networks[network].name) in body
    assert get(server, f"/issue/{latest}/email/full.html?member=nobody@example.org")[0] == 404


def test_the_member_picker_is_a_search_box(server: PreviewServer, project_root: Path) -> None:
    from composer.lists.recipients import read_lists

    project = load_project(project_root)
    recipients = list(read_lists(project).recipients())
    latest = project.issues[-1].number
    page = get(server, f"/issue/{latest}/")[2]
    assert 'type="search" name="find"' in page
    assert not any(r.person.email in page for r in recipients)  # no list of every member
    wanted = recipients[3].person
    page = get(server, f"/issue/{latest}/?find={wanted.name.split()[-1].upper()}&width=phone")[2]
    found = re.findall(r'href="\?edition=member%3A([^&"]+)&amp;width=phone&amp;view=html"', page)
    assert wanted.email in [unquote(value) for value in found]
    surname = wanted.name.split()[-1].casefold()
    expected = [
        r.person.email for r in recipients if surname in r.person.name.casefold() + r.person.email.casefold()
    ]
    assert [unquote(value) for value in found] == expected[: builds.FOUND_MEMBERS]
    chosen = get(server, f"/issue/{latest}/?edition=member:{wanted.email}")[2]
    assert f'value="member:{wanted.email}" selected' in chosen  # the chosen member stays in the picker
    nobody = get(server, f"/issue/{latest}/?find=no-such-member-anywhere")[2]
    assert "No member’s name or address holds “no-such-member-anywhere”" in text_of(nobody).replace("'", "’")


def test_an_issue_page_answers_with_its_edition_then_checks_the_rest(example: Path) -> None:
    app = Preview(example)
    latest = app.build.project.issues[-1].number
    network = next(iter(app.build.project.networks))
    page = app.respond(f"/issue/{latest}/?edition={network}").body.decode()
    state = app.build.issues[latest]
    assert not state.complete and [e.name for e in state.view.checked.editions] == [network]
    assert 'id="checking"' in page and "checked = 0" in page
    assert app.check_next(app.build)  # the worker's next job: the open issue, every edition
    assert app.build.issues[latest].complete and len(app.build.issues[latest].view.checked.editions) > 1
    assert app.checked(latest) == 1
    assert 'id="checking"' not in app.respond(f"/issue/{latest}/?edition={network}").body.decode()


def test_calendar_route_serves_the_events_ics(server: PreviewServer, project_root: Path) -> None:
    project = load_project(project_root)
    sourced = next(s for s in project.issues if any(item.event for item in s.issue.items))
    item = next(item for item in sourced.issue.items if item.event)
    status, content_type, body = get(server, f"/issue/{sourced.number}/calendar/{item.id}.ics")
    assert status == 200 and content_type.startswith("text/calendar")
    (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(event["summary"]) == item.title


@pytest.mark.parametrize(
    "target",
    [
        "/../composer.yaml",
        "/%2e%2e/composer.yaml",
        "/%2E%2E%2Fcomposer.yaml",
        "/composer.yaml",
        "/issues/377.yaml",
        "/issue/377/../../composer.yaml",
        "/issue/377/email/..%2f..%2f..%2fcomposer.yaml",
        "/issue/377/email/full.yaml",
        "/issue/377/calendar/..%2fcomposer.ics",
        "/templates/preview/base.html.j2",
        "//etc/passwd",
        "/issue/999/",
        "/issue/377/email/no-such-network.html",
    ],
)
def test_anything_else_is_404(server: PreviewServer, target: str) -> None:
    status, _, body = get(server, target)
    assert status == 404
    assert "programme:" not in body and "root:" not in body


def test_live_rebuild_broken_file_and_recovery(own_server: PreviewServer, example: Path) -> None:
    project = load_project(example)
    latest = project.issues[-1]
    path, title = latest.path, latest.issue.items[0].title
    original = path.read_text(encoding="utf-8")
    first = own_server.app.build.id

    path.write_text(original.replace(title, "A title changed on disk"), encoding="utf-8")
    assert own_server.app.wait_for_build(first, timeout=10) != first
    assert "A title changed on disk" in text_of(get(own_server, f"/issue/{latest.number}/email/full.html")[2])

    path.write_text(original.replace("items:", "items: [", 1), encoding="utf-8")
    page = page_when(own_server, f"/issue/{latest.number}/", lambda body: "issue-errors" in body)
    assert f"{project.rel(path)}:" in page and "YAML syntax error" in page
    assert 'id="email"' in page  # the last good version stays on screen
    index = get(own_server, "/")[2]
    assert "Not ready" in index

    path.write_text(original, encoding="utf-8")
    page_when(own_server, f"/issue/{latest.number}/", lambda body: "issue-errors" not in body)
    assert title in text_of(get(own_server, f"/issue/{latest.number}/email/full.html")[2])


def test_broken_settings_keep_the_last_build(own_server: PreviewServer, example: Path) -> None:
    settings = example / "composer.yaml"
    original = settings.read_text(encoding="utf-8")
    first = own_server.app.build.id
    settings.write_text(original.replace("archive_url:", "archive_ur:"), encoding="utf-8")
    assert own_server.app.wait_for_build(first, timeout=10) != first
    page = get(own_server, "/")[2]
    assert "build-errors" in page and "composer.yaml:" in page and "unknown field" in page
    assert 'href="/issue/' in page  # the last project that loaded is still listed


def test_long_poll_returns_the_current_build(server: PreviewServer) -> None:
    status, content_type, body = get(server, "/livereload?since=0")
    assert status == 200 and content_type == "application/json"
    assert json.loads(body)["build"] == server.app.build.id


def test_port_in_use_is_a_clear_error(example: Path, run_cli: Cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli(example, "preview", "--port", str(port), timeout=60)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def request(server: PreviewServer, host: str | None) -> tuple[int, str]:
    """A GET of the index with the Host header given (None: none at all)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
    connection.putrequest("GET", "/", skip_host=True)
    if host is not None:
        connection.putheader("Host", host)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read().decode("utf-8")
    connection.close()
    return response.status, body


@pytest.mark.parametrize(
    "host",
    ["attacker.example", "attacker.example:{port}", "127.0.0.1.attacker.example:{port}", "localhost:1", None],
)
def test_other_host_names_are_refused(server: PreviewServer, host: str | None) -> None:
    """DNS rebinding: a page elsewhere that points its own name at 127.0.0.1 reads nothing."""
    status, body = request(server, host and host.format(port=server.server_port))
    assert status == 421
    assert "@" not in body and "/issue/" not in body


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}", "[::1]:{port}"])
def test_loopback_names_are_served(server: PreviewServer, host: str) -> None:
    assert request(server, host.format(port=server.server_port))[0] == 200


def test_the_host_given_is_served_and_on_every_address_any_ip() -> None:
    assert host_allowed("192.0.2.7:8000", host="192.0.2.7", port=8000)
    assert host_allowed("preview.lan:8000", host="preview.lan", port=8000)
    assert host_allowed("192.0.2.7:8000", host="0.0.0.0", port=8000)
    assert not host_allowed("attacker.example:8000", host="0.0.0.0", port=8000)
    assert not host_allowed("192.0.2.7:8000", host="127.0.0.1", port=8000)


def test_an_unexpected_error_shows_in_the_page_and_watching_goes_on(
    own_server: PreviewServer, example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = workspace_module.load_project
    failures = [csv.Error("line contains NUL")]

    def flaky(root: Path, **options: object) -> object:
        if failures:
            raise failures.pop()
        return real(root, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(workspace_module, "load_project", flaky)
    latest = load_project(example).issues[-1]
    original = latest.path.read_text(encoding="utf-8")
    first = own_server.app.build.id
    latest.path.write_text(original + "\n", encoding="utf-8")
    second = own_server.app.wait_for_build(first, timeout=10)
    assert second != first
    page = get(own_server, "/")[2]
    assert "build-errors" in page and "Error: line contains NUL" in page and "Traceback" not in page

    title = latest.issue.items[0].title
    latest.path.write_text(original.replace(title, "Fixed and saved"), encoding="utf-8")
    assert own_server.app.wait_for_build(second, timeout=10) != second
    assert "build-errors" not in get(own_server, "/")[2]
    assert "Fixed and saved" in text_of(get(own_server, f"/issue/{latest.number}/email/full.html")[2])


def plural(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def verdict(report: CheckReport) -> str:
    """The words `composer check`'s report must show as on the preview's pages."""
    errors, warnings = plural(len(report.errors), "error"), plural(len(report.warnings), "warning")
    if report.errors:
        return f"✗ Not ready — {errors}" + (f", {warnings}" if report.warnings else "")
    return f"✓ Ready to send — {errors}, {warnings}"


def test_index_check_column_is_composer_checks_verdict(example: Path) -> None:
    """An email-check error (a link readers cannot follow) shows on the index, as in `check`."""
    path = example / "issues" / "376.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("(https://secip.example.org/networks/data-benchmarking)", "(/data)"))
    project = load_project(example)
    assert not any(p.severity == "error" for p in project.problems_for(377))
    running = open_preview(example, port=0, interval=0.05, settle=0.1).start()
    try:
        index = page_when(running, "/", lambda body: "checking…" not in body, timeout=60)
    finally:
        running.close()
    for number in (376, 377):
        row = index[index.index(f'href="/issue/{number}/"') :].split("</tr>")[0]
        cell = " ".join(text_of(re.sub(r"<[^>]+>", "", row.split('class="check">')[1])).split())
        assert cell == verdict(check_issue(project, str(number))), number
    row = index[index.index('href="/issue/376/"') :].split("</tr>")[0]
    assert "Not ready — 1 error" in text_of(re.sub(r"<[^>]+>", "", row))


def test_a_late_check_of_an_older_build_keeps_the_newer_last_good_view(example: Path) -> None:
    app = Preview(example)
    latest = load_project(example).issues[-1]
    original = latest.path.read_text(encoding="utf-8")
    older = app.build
    latest.path.write_text(original.replace(latest.issue.items[0].title, "Newer title"), encoding="utf-8")
    app.rebuild()
    app.issue(app.build, latest.number)
    app.issue(older, latest.number)  # a request that began before the rebuild ends after it
    latest.path.write_text(original.replace("items:", "items: [", 1), encoding="utf-8")
    app.rebuild()
    state = app.issue(app.build, latest.number)
    assert state.broken and state.view is not None
    assert state.view.checked.plan.issue.items[0].title == "Newer title"


def test_only_the_newest_issues_are_checked_unasked(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long archive is not re-checked on every save: older issues are checked when opened."""
    monkeypatch.setattr(builds, "BACKGROUND_CHECKS", 2)
    app = Preview(example)
    numbers = sorted((s.number for s in app.build.project.issues), reverse=True)
    while app.check_next(app.build):
        pass
    assert set(app.build.issues) == set(numbers[:2])
    rows = {row.number: row.status for row in builds.index_rows(app.build)}
    assert [rows[n] for n in numbers] == ["checked", "checked"] + ["on demand"] * (len(numbers) - 2)
    quick = app.issue(app.build, numbers[-1])  # opened: the edition it shows first, then the rest
    assert not quick.complete and len(quick.view.checked.editions) == 1
    assert {row.number: row.status for row in builds.index_rows(app.build)}[numbers[-1]] == "checking"
    assert app.check_next(app.build) and not app.check_next(app.build)
    assert {row.number: row.status for row in builds.index_rows(app.build)}[numbers[-1]] == "checked"
    assert app.build.issues[numbers[-1]].complete


def test_the_worker_drops_the_check_of_a_build_a_save_replaced(example: Path) -> None:
    app = Preview(example)
    older = app.build
    app.rebuild()
    assert app.check_next(older)  # started on the older build: given up at its first edition
    assert not older.issues
    assert app.check_next(app.build) and all(state.complete for state in app.build.issues.values())


def test_pages_and_saves_at_once_all_answer_and_the_last_save_shows(
    own_server: PreviewServer, example: Path
) -> None:
    """Page loads of several editions while the issue is saved again and again: every request
    answers, none waits on another's rendering forever, and the page ends with the last save."""
    latest = load_project(example).issues[-1]
    text = latest.path.read_text(encoding="utf-8")
    targets = [f"/issue/{latest.number}/?edition={name}" for name in ("full", "send", "dcs", "everyone")]
    targets += [f"/issue/{latest.number}/email/full.html", f"/livereload?since={own_server.app.build.id}"]
    statuses: list[int] = []

    def load(target: str) -> None:
        for _ in range(3):
            statuses.append(get(own_server, target)[0])

    readers = [threading.Thread(target=load, args=(target,)) for target in targets]
    for reader in readers:
        reader.start()
    for n in range(5):
        latest.path.write_text(text.replace('    title: "', f'    title: "Save {n} – ', 1), encoding="utf-8")
        own_server.app.wait_for_build(own_server.app.build.id, timeout=10)
    for reader in readers:
        reader.join(60)
        assert not reader.is_alive()
    assert statuses and all(status == 200 for status in statuses), statuses
    page_when(own_server, f"/issue/{latest.number}/", lambda body: "Save 4 –" in html.unescape(body))


def test_a_long_render_keeps_no_waiting_page_from_its_news(own_server: PreviewServer) -> None:
    """The rendering lock is not the lock pages wait on: while a render holds it, a long poll
    still hears of a check that finished."""
    app = own_server.app
    with app.render_lock:  # a render in progress
        waiting = threading.Thread(target=lambda: app.wait_for_build(app.build.id, timeout=30))
        waiting.start()
        with app._changed:
            app._changed.notify_all()
        statuses = [get(own_server, "/livereload?since=0")[0] for _ in range(2)]
    waiting.join(1)
    assert statuses == [200, 200]

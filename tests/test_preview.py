"""The preview server over real HTTP: routes, editions, live rebuilds, broken files, no traversal."""

from __future__ import annotations

import html
import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import icalendar
import pytest
from conftest import copy_example

from composer.editions import FULL, edition_key, edition_name, receives
from composer.preview import PreviewServer, open_preview
from composer.project import load_project
from composer.render import PLACEHOLDERS, Renderer, fill_placeholders, reader_values


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


def test_binds_to_loopback_by_default(example: Path) -> None:
    server = open_preview(example, port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


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
    assert f"<td>{len(latest.issue.items)}</td>" in row


def test_issue_page_shows_plan_sizes_and_an_iframe(server: PreviewServer, project_root: Path) -> None:
    project = load_project(project_root)
    latest = project.issues[-1].number
    status, _, body = get(server, f"/issue/{latest}/")
    assert status == 200
    assert f'src="/issue/{latest}/email/full.html"' in body
    plan = project.plan(latest)
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
    edition = Renderer(project).edition(project.plan(latest), FULL)
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
    from composer.recipients import read_lists

    project = load_project(project_root)
    recipient = next(r for r in read_lists(project).recipients() if len(r.networks) > 1)
    latest = project.issues[-1].number
    page = get(server, f"/issue/{latest}/?edition=member:{recipient.person.email}")[2]
    src = f"/issue/{latest}/email/{edition_name(recipient.edition)}.html?member="
    assert src in page
    body = get(server, src + recipient.person.email)[2]
    assert html.escape(recipient.person.name) in body
    assert not any(token in body for token in PLACEHOLDERS.values())
    for network in recipient.networks:
        assert html.escape(project.networks[network].name) in body
    assert get(server, f"/issue/{latest}/email/full.html?member=nobody@example.org")[0] == 404


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
    assert "error(s)" in index

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


def test_port_in_use_is_a_clear_error(example: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "composer", "preview", "--port", str(port), "--project", str(example)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr

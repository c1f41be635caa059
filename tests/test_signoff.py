"""Sign-off (issue 24): the verdict first, the editions people get, and review from another desk.

HTTP-level tests here; what only a browser can show (the first screen, scroll, focus) is in
test_signoff_browser.py.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Cli
from test_preview import get, page_when

from composer.content.carry import long_date, plan_for
from composer.content.loading import load_project
from composer.email.check import check_issue
from composer.web.preview.app import Preview
from composer.web.preview.server import PreviewServer, open_preview

pytestmark = pytest.mark.server  # the preview's sign-off pages

ERROR_LINK = ("the Longley Room at", "[the Longley Room](/rooms) at")  # readers cannot follow it
HTTP_LINK = ("short walk from Crawley", "short [walk](http://crawley.example/) from Crawley")


@pytest.fixture
def running(example: Path) -> Iterator[PreviewServer]:
    server = open_preview(example, port=0, interval=0.05, settle=0.1).start()
    yield server
    server.close()


def words(fragment: str) -> str:
    """The text of some HTML as a reader reads it: tags dropped, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def section(page: str, element_id: str) -> str:
    """The element with this id, up to its closing tag (sections here do not nest their own kind)."""
    start = page.index(f'id="{element_id}"')
    tag = page[page.rindex("<", 0, start) + 1 :].split()[0]
    return page[page.index(">", start) + 1 : page.index(f"</{tag}>", start)]


def checked_page(server: PreviewServer, target: str) -> str:
    """The page once every edition is checked (the verdict is final)."""
    return page_when(server, target, lambda body: 'id="checking"' not in body, timeout=60)


def edit(path: Path, *changes: tuple[str, str]) -> None:
    text = path.read_text(encoding="utf-8")
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def test_the_verdict_is_first_in_words_with_counts_linked_to_their_lists(
    running: PreviewServer, example: Path
) -> None:
    latest = load_project(example).issues[-1]
    target = f"/issue/{latest.number}/"
    page = checked_page(running, target)
    main = page[page.index("<main>") :]
    assert main.index('id="verdict"') < main.index("<form")  # before anything else but the title
    assert words(section(page, "verdict")).startswith("✓ Ready to send — 0 errors, 0 warnings")
    assert "Errors block composer send until they are fixed; warnings do not." in words(page)

    edit(latest.path, ERROR_LINK, HTTP_LINK)
    page = page_when(running, target, lambda body: "Not ready" in body and 'id="checking"' not in body, 60)
    verdict = section(page, "verdict")
    assert words(verdict).startswith("✗ Not ready — 1 error, 1 warning")
    assert re.search(r'<a href="#errors">1 error</a>', verdict)
    assert re.search(r'<a href="#warnings">1 warning</a>', verdict)
    assert "/rooms" in words(section(page, "errors")) and "composer send will not send it" in words(page)
    assert "http://crawley.example/" in words(section(page, "warnings"))
    assert "they do not block composer send" in words(section(page, "warnings"))

    edit(latest.path, (ERROR_LINK[1], ERROR_LINK[0]))
    ready = "<strong>Ready to send</strong>"
    page = page_when(running, target, lambda body: ready in body and 'id="checking"' not in body, 60)
    assert words(section(page, "verdict")).startswith("✓ Ready to send — 0 errors, 1 warning")
    assert 'href="#errors"' not in section(page, "verdict")  # nothing to list: no link to nowhere


def test_an_items_problems_show_beside_it_in_the_outline(running: PreviewServer, example: Path) -> None:
    latest = load_project(example).issues[-1]
    edit(latest.path, HTTP_LINK)
    page = page_when(running, f"/issue/{latest.number}/", lambda body: "http://crawley.example/" in body, 60)
    outline = section(page, "outline")
    entries = re.findall(r"<li[^>]*>(.*?)</li>\s*(?=<li|$)", outline, flags=re.S)
    flagged = [words(entry) for entry in entries if "http://crawley.example/" in entry]
    assert len(flagged) == 1 and flagged[0].startswith(latest.issue.items[0].title)
    assert "Warning:" in flagged[0]


def test_the_index_shows_each_issues_verdict_linked_to_its_lists(
    running: PreviewServer, example: Path
) -> None:
    latest = load_project(example).issues[-1]
    edit(latest.path, ERROR_LINK)
    index = page_when(running, "/", lambda body: "Not ready" in body and "checking…" not in body, 60)
    row = index[index.index(f'href="/issue/{latest.number}/"') :].split("</tr>")[0]
    assert "✗ Not ready — 1 error" in words(row)
    assert f'<a href="/issue/{latest.number}/#errors">1 error</a>' in row
    others = index.split("</tr>")[2:-1]
    assert others and all("Ready to send — 0 errors" in words(row) for row in others)


def test_the_calendar_box_lists_every_session_with_its_times_and_place(
    running: PreviewServer, example: Path
) -> None:
    project = load_project(example)
    latest = project.issues[-1]
    plan = plan_for(project, latest.number)
    events = [item for item in [*plan.items, *(r.item for r in plan.reminders)] if item.event]
    assert any(len(item.event.sessions) > 1 for item in events if item.event)
    page = get(running, f"/issue/{latest.number}/")[2]
    box = page[page.index('id="events"') : page.index("</section>", page.index('id="events"'))]
    entries = box.split("<strong>")[1:]
    assert len(entries) == len(events)
    for item, entry in zip(events, entries, strict=True):
        assert item.event is not None
        text = words(entry)
        assert text.startswith(html.unescape(item.title))
        for session in item.event.sessions:
            when = long_date(session.date) + (
                f" to {long_date(session.end_date)}" if session.end_date else ""
            )
            if session.start:
                when += f", {session.start:%H:%M}" + (f"–{session.end:%H:%M}" if session.end else "")
            assert f"{when}, {session.place or item.event.place}" in text, (item.id, when)
        link = re.findall(r'href="(/issue/\d+/calendar/[a-z0-9-]+\.ics)">Add to calendar', entry)
        assert len(link) == 1
        status, _, ics = get(running, link[0])
        assert status == 200 and ics.count("BEGIN:VEVENT") == len(item.event.sessions)


def test_a_broken_issue_does_not_make_its_contacts_look_uncited_elsewhere(example: Path) -> None:
    latest = load_project(example).issues[-1]
    cited = {contact for item in latest.issue.items for contact in item.contacts}
    only_latest = [
        contact
        for contact in cited
        if not any(
            contact in item.contacts for s in load_project(example).issues[:-1] for item in s.issue.items
        )
    ]
    assert only_latest  # a contact that only the latest issue cites
    edit(latest.path, ("items:", "items: ["))
    project = load_project(example)
    assert project.broken
    report = check_issue(project, str(project.issues[-1].number))
    assert not [p for p in report.problems if "cites contact" in p.message]


MISSPELT = [  # (what is changed in the latest issue, the message `check` and the preview give)
    (('    title: "Education Data', '    titel: "Education Data'), "unknown field: did you mean 'title'?"),
    (("contacts: [siobhan-doyle]", "contacts: [siobhan-doyel]"), "did you mean 'siobhan-doyle'?"),
    (("networks: [ad-education, data", "networks: [ad-educaton, data"), "did you mean 'ad-education'?"),
    (("    ucl-care-records: 2019", "    ucl-care-record: 2019"), "did you mean 'ucl-care-records'?"),
]


@pytest.mark.parametrize(("change", "hint"), MISSPELT, ids=["key", "contact", "network", "reminder"])
def test_a_misspelt_key_or_id_gets_a_did_you_mean_in_check_and_the_preview(
    example: Path,
    change: tuple[str, str],
    hint: str,
    run_cli: Cli,
) -> None:
    latest = load_project(example).issues[-1]
    edit(latest.path, change)
    result = run_cli(example, "check")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = next(row for row in result.stderr.splitlines() if hint in row)
    assert line.startswith(f"issues/{latest.number}.yaml:")
    page = Preview(example).respond(f"/issue/{latest.number}/").body.decode()
    assert html.escape(line, quote=False) in page or line in html.unescape(page)


def test_an_unknown_field_with_nothing_close_lists_the_fields_allowed_there(
    example: Path, run_cli: Cli
) -> None:
    latest = load_project(example).issues[-1]
    edit(latest.path, ('    title: "Education Data', '    sumary: x\n    title: "Education Data'))
    result = run_cli(example, "check")
    assert "sumary: unknown field: the fields here are id, title, networks, body, action" in result.stderr

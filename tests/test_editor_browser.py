"""The editor in a real headless Chromium, through its labels alone: what a programme manager does."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import test_browser
from conftest import Cli, copy_example
from playwright.sync_api import Browser, Locator, Page, expect
from test_browser import TIMEOUT

from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.email.editions import FULL
from composer.email.render import Renderer
from composer.web.preview.server import PreviewServer, open_preview

pytestmark = [test_browser.pytestmark, pytest.mark.server]

TITLE = "Regional SEND leads meeting"
STOPPED = "Frontline blueprint for children's social care"
KEPT = "Kinship care advice line for practitioners"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[PreviewServer, Path]]:
    project = copy_example(tmp_path / "project")
    server = open_preview(project, port=0, interval=0.05, settle=0.1).start()
    yield server, project
    server.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT)
    # the email's images are on the programme's (reserved, unresolvable) domain: nothing leaves this machine
    context.route(re.compile(r"^(?!http://127\.0\.0\.1:)[a-z]+://"), lambda route: route.abort())
    yield context.new_page()
    context.close()


def item(page: Page, number: int) -> Locator:
    return page.get_by_role("group", name=f"Item {number}", exact=True)


def reminder(page: Page, title: str) -> Locator:
    return page.get_by_role("group", name=title, exact=True)


def added_and_removed(before: str, after: str) -> tuple[list[str], list[str]]:
    lines = before.splitlines(), after.splitlines()
    added: list[str] = []
    removed: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, *lines, autojunk=False).get_opcodes():
        if tag != "equal":
            removed += lines[0][i1:i2]
            added += lines[1][j1:j2]
    return added, removed


def test_a_new_issue_composed_in_the_form_is_the_file_a_person_would_write(
    running: tuple[PreviewServer, Path], page: Page, run_cli: Cli
) -> None:
    server, project = running
    page.goto(server.url)
    page.get_by_role("button", name="New issue").click()
    expect(page).to_have_url(f"{server.url}issue/378/edit")
    path = project / "issues" / "378.yaml"
    scaffold = path.read_text(encoding="utf-8")

    page.get_by_role("button", name="Add item").click()
    first = item(page, 1)
    expect(first.get_by_label("Title", exact=True)).to_be_focused()
    page.keyboard.type(TITLE)
    expect(first.get_by_label("Id", exact=True)).to_have_value("regional-send-leads-meeting")
    networks = first.get_by_role("group", name="Networks")
    networks.get_by_label("SEND Network").check()
    networks.get_by_label("AD Education Network").check()
    first.get_by_label("Body", exact=True).fill(
        "The SEND leads of the 19 authorities meet twice in December.\n\n"
        "The papers are [on the website](https://www.example.org/send-leads).\n"
    )
    action = "Please tell Priya Raman (details below) who will come.\n"
    first.get_by_label("Action required", exact=True).fill(action)
    first.get_by_role("group", name="Contacts").get_by_label("Priya Raman").check()
    shown = first.get_by_role("region", name="Body as the email shows it")
    expect(shown.get_by_role("link", name="on the website")).to_have_attribute(
        "href", "https://www.example.org/send-leads"
    )
    event = first.get_by_role("group", name="Event")
    event.get_by_role("button", name="Add session").click()
    session = event.get_by_role("group", name="Session 1")
    session.get_by_label("Date", exact=True).fill("2019-12-02")
    session.get_by_label("Start", exact=True).fill("10:00")
    session.get_by_label("End", exact=True).fill("12:00")
    event.get_by_role("button", name="Add session").click()
    session = event.get_by_role("group", name="Session 2")
    session.get_by_label("Date", exact=True).fill("2019-12-09")
    session.get_by_label("Start", exact=True).fill("14:00")
    session.get_by_label("End", exact=True).fill("16:00")
    session.get_by_label("Place", exact=True).fill("Crawley Library")

    reminder(page, STOPPED).get_by_role("button", name="Stop reminding").click()
    reminder(page, KEPT).get_by_role("button", name="Keep until…").click()
    expect(reminder(page, KEPT).get_by_label("Keep until")).to_be_focused()
    reminder(page, KEPT).get_by_label("Keep until").fill("2019-12-20")

    # the email beside shows the draft before it is saved
    expect(page.frame_locator("#live-email").get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.locator("#problems")).to_contain_text("No problems: composer check passes.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-status")).to_have_text("Saved issues/378.yaml.")

    result = run_cli(project, "check", "378")
    assert result.returncode == 0, result.stdout + result.stderr
    loaded = load_project(project)
    plan = plan_for(loaded, 378)
    html = Renderer(loaded).edition(plan, FULL).html
    assert TITLE in html and "https://www.example.org/send-leads" in html
    reminded = {r.item.id: r for r in plan.reminders}
    assert "frontline-blueprint" not in reminded
    assert str(reminded["kinship-advice-line"].until) == "2019-12-20"
    assert STOPPED not in html and KEPT in html

    added, removed = added_and_removed(scaffold, path.read_text(encoding="utf-8"))
    assert removed == []
    assert added == [
        "  - id: regional-send-leads-meeting",
        f"    title: {TITLE}",
        "    networks: [ad-education, send]",
        "    body: |",
        "      The SEND leads of the 19 authorities meet twice in December.",
        "",
        "      The papers are [on the website](https://www.example.org/send-leads).",
        "    action: |",
        "      Please tell Priya Raman (details below) who will come.",
        "    contacts: [priya-raman]",
        "    event:",
        "      sessions:",
        "        - {date: 2019-12-02, start: 10:00, end: 12:00}",
        "        - {date: 2019-12-09, start: 14:00, end: 16:00, place: Crawley Library}",
        "reminders:",
        "  drop: [frontline-blueprint]",
        "  keep:",
        "    kinship-advice-line: 2019-12-20",
    ]


def refused_save(running: tuple[PreviewServer, Path], page: Page, label: str, value: str) -> tuple[Path, str]:
    """Issue 377's form with one field typed, the file changed in a text editor meanwhile, then
    Save: refused. The file and its text as the text editor left it."""
    server, project = running
    path = project / "issues" / "377.yaml"
    page.goto(f"{server.url}issue/377/edit")
    page.get_by_label(label, exact=True).fill(value)
    theirs = path.read_text(encoding="utf-8").replace("number: 377", "number: 377  # from a text editor")
    path.write_text(theirs, encoding="utf-8")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-status")).to_contain_text("changed on disk")
    return path, theirs


def test_a_save_over_a_changed_file_is_refused_and_the_draft_survives_a_reload(
    running: tuple[PreviewServer, Path], page: Page
) -> None:
    path, theirs = refused_save(running, page, "Subject", "Update No 377: the Crawley meeting")
    expect(page.locator("#conflict")).to_contain_text("+number: 377  # from a text editor")
    expect(page.locator("#conflict")).to_contain_text("+subject: 'Update No 377: the Crawley meeting'")
    assert path.read_text(encoding="utf-8") == theirs

    page.reload()
    expect(page.get_by_label("Subject", exact=True)).to_have_value("Update No 377: the Crawley meeting")
    expect(page.locator("#draft-note")).to_contain_text("unsaved draft")
    page.get_by_role("button", name="Discard draft").click()
    expect(page.get_by_label("Subject", exact=True)).to_have_value("")


def test_save_mine_over_it_keeps_the_other_change_and_adds_mine(
    running: tuple[PreviewServer, Path], page: Page
) -> None:
    path, theirs = refused_save(running, page, "Preheader", "Two meetings and three reports")
    page.get_by_role("button", name="Save mine over it").click()
    expect(page.locator("#save-status")).to_have_text("Saved issues/377.yaml.")
    added, removed = added_and_removed(theirs, path.read_text(encoding="utf-8"))
    assert (added, removed) == (["preheader: Two meetings and three reports"], [])


def test_problems_show_at_their_field_as_you_type(running: tuple[PreviewServer, Path], page: Page) -> None:
    server, _ = running
    page.goto(f"{server.url}issue/377/edit")
    first = item(page, 1)
    first.get_by_role("group", name="Contacts").get_by_label("Siobhán Doyle").uncheck()
    first.get_by_label("Title", exact=True).fill("")
    expect(first.locator("[data-field$='.title'] .field-problems")).to_contain_text("Error")
    expect(first.get_by_label("Title", exact=True)).to_have_attribute("aria-invalid", "true")


def test_the_keyboard_alone_adds_an_item_and_saves(running: tuple[PreviewServer, Path], page: Page) -> None:
    server, project = running
    page.goto(f"{server.url}issue/377/edit")
    expect(page.locator("#problems")).to_contain_text("composer check passes")
    page.get_by_role("button", name="Add item").focus()
    page.keyboard.press("Enter")
    expect(item(page, 8).get_by_label("Title", exact=True)).to_be_focused()
    page.keyboard.type("Typed with the keyboard alone")
    page.keyboard.press("Tab")
    expect(item(page, 8).get_by_label("Id", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the first network
    expect(item(page, 8).get_by_role("group", name="Networks").get_by_role("checkbox").first).to_be_checked()
    page.get_by_role("button", name="Save").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#save-status")).to_contain_text("Saved issues/377.yaml")
    text = (project / "issues" / "377.yaml").read_text(encoding="utf-8")
    assert "  - id: typed-with-the-keyboard-alone\n    title: Typed with the keyboard alone\n" in text


def test_update_this_reminder_copies_it_into_this_week_marked_update(
    running: tuple[PreviewServer, Path], page: Page
) -> None:
    server, project = running
    page.goto(f"{server.url}issue/377/edit")
    title = "In-house fostering project"
    reminder(page, title).get_by_role("button", name="Update this reminder").click()
    copied = item(page, 8)
    expect(copied.get_by_label("Title", exact=True)).to_be_focused()
    expect(copied.get_by_label("Title", exact=True)).to_have_value(title)
    expect(copied.get_by_label("Id", exact=True)).to_have_value("in-house-fostering-project")
    copied.get_by_label("Title", exact=True).fill(f"{title} – NEW DATE")
    expect(copied.get_by_label("Id", exact=True)).to_have_value("in-house-fostering-project")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-status")).to_have_text("Saved issues/377.yaml.")
    loaded = load_project(project)
    assert loaded.problems_for(377) == []
    updated = {r.item.id: r for r in plan_for(loaded, 377).reminders}["in-house-fostering-project"]
    assert updated.updated and updated.item.title == f"{title} – NEW DATE"


def test_the_toolbar_formats_the_selection_and_the_text_shows_as_the_email_will(
    running: tuple[PreviewServer, Path], page: Page
) -> None:
    server, _ = running
    page.goto(f"{server.url}issue/377/edit")
    intro = page.get_by_label("Intro", exact=True)
    intro.fill("A short week")
    intro.select_text()
    page.get_by_role("toolbar", name="Intro formatting").get_by_role("button", name="Bold").click()
    expect(intro).to_have_value("**A short week**")
    expect(intro).to_be_focused()
    shown = page.get_by_role("region", name="Intro as the email shows it")
    expect(shown.locator("strong")).to_have_text("A short week")
    page.get_by_role("toolbar", name="Intro formatting").get_by_role("button", name="List").click()
    expect(intro).to_have_value("- **A short week**")

"""Sign-off (issue 24) in a real headless Chromium: what is on the first screen, what a save keeps,
what the keyboard and a phone meet."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
import test_browser
from conftest import run_composer
from playwright.sync_api import Browser, Page, expect
from test_browser import TIMEOUT

from composer.content.carry import plan_for
from composer.content.project import load_project
from composer.content.recipients import read_lists
from composer.email.editions import audiences
from composer.web.preview.server import PreviewServer

# the same skip when chromium is missing, and the same project and server (edits are undone)
pytestmark = test_browser.pytestmark
project, server = test_browser.project, test_browser.server

SCREENS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def screen(browser: Browser, name: str) -> Page:
    context = browser.new_context(viewport=SCREENS[name])
    context.set_default_timeout(TIMEOUT)
    return context.new_page()


@pytest.mark.parametrize("name", SCREENS)
def test_the_verdict_is_on_the_first_screen_of_every_issue_page(
    browser: Browser, server: PreviewServer, project: Path, name: str
) -> None:
    page = screen(browser, name)
    try:
        for sourced in load_project(project).issues:
            page.goto(f"{server.url}issue/{sourced.number}/")
            headline = page.locator("#verdict .headline")
            expect(headline).to_contain_text("Ready to send — 0 errors")
            box = headline.bounding_box()
            assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= SCREENS[name]["height"]
            assert page.evaluate("() => window.scrollY") == 0  # the first screen, as the page opens
    finally:
        page.context.close()


def test_the_edition_menu_is_what_send_sends_with_its_counts(
    browser: Browser, server: PreviewServer, project: Path
) -> None:
    result = run_composer(project, "send", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    dry_run = json.loads(result.stdout)
    loaded = load_project(project)
    names = {n.id: n.name for n in loaded.networks.values()}
    page = screen(browser, "desktop")
    try:
        page.goto(f"{server.url}issue/{dry_run['issue']}/")
        options = page.locator("select[name=edition] option")
        expect(options.first).to_be_attached()
        shown = [(option.get_attribute("value"), option.inner_text()) for option in options.all()]
    finally:
        page.context.close()
    expected = []
    for edition in dry_run["editions"]:
        people = edition["recipients"]
        sets = "; ".join(" + ".join(names[n] for n in sorted(key.split("+"))) for key in edition["serves"])
        expected.append(
            (
                edition["edition"],
                f"{edition['edition']}: {people} {'person' if people == 1 else 'people'} — {sets}",
            )
        )
    assert shown[: len(expected)] == expected  # every edition sent, in send's order, and nothing else
    assert shown[len(expected) :] == [("full", "Full edition: every item (the archive's)")]
    assert len(expected) > len(loaded.networks)  # one per set of networks, not one per network


def test_the_member_view_names_their_networks_and_edition(
    browser: Browser, server: PreviewServer, project: Path
) -> None:
    loaded = load_project(project)
    recipient = next(r for r in read_lists(loaded).recipients() if len(r.networks) > 1)
    names = ", ".join(loaded.networks[n].name for n in sorted(recipient.networks))
    sent = audiences(
        plan_for(loaded, loaded.issues[-1].number), (r.edition for r in read_lists(loaded).recipients())
    )
    edition = next(a for a in sent if recipient.edition in a.serves)
    page = screen(browser, "desktop")
    try:
        page.goto(
            f"{server.url}issue/{loaded.issues[-1].number}/?edition=member:{quote(recipient.person.email)}"
        )
        expect(page.locator("#member")).to_have_text(
            f"{recipient.person.name} is in {names} and gets the edition {edition.name}, "
            f"sent to {edition.recipients} people."
        )
    finally:
        page.context.close()


FRAME_LOADS = """() => { window.frameLoads = 0; document.addEventListener("load", (event) => {
  if (event.target.id === "email") { window.frameLoads += 1; } }, true); }"""


def test_a_save_keeps_the_frames_scroll_and_the_focus_and_reloads_the_frame_once(
    browser: Browser, server: PreviewServer, project: Path
) -> None:
    latest = load_project(project).issues[-1]
    title = latest.issue.items[0].title
    original = latest.path.read_text(encoding="utf-8")
    page = screen(browser, "desktop")
    try:
        page.goto(f"{server.url}issue/{latest.number}/")
        email = page.frame_locator("#email")
        expect(email.get_by_role("heading", name=title, exact=True)).to_be_visible()
        expect(page.locator("#checking")).to_have_count(0)
        frame = page.frame(url=re.compile(r"/email/"))
        assert frame is not None
        frame.evaluate("() => window.scrollTo(0, 1500)")
        assert frame.evaluate("() => window.scrollY") == 1500
        page.focus("select[name=width]")
        page.evaluate(FRAME_LOADS)
        latest.path.write_text(original.replace(title, "Saved while scrolled"), encoding="utf-8")
        expect(email.get_by_role("heading", name="Saved while scrolled", exact=True)).to_be_attached()
        expect(page.locator("#checking")).to_have_count(0)
        frame = page.frame(url=re.compile(r"/email/"))
        assert frame is not None and frame.evaluate("() => window.scrollY") == 1500
        assert page.evaluate("() => document.activeElement.name") == "width"
        assert page.evaluate("() => window.frameLoads") == 1
    finally:
        latest.path.write_text(original, encoding="utf-8")
        page.context.close()


def test_links_in_the_email_open_a_new_tab_and_unpublished_archive_links_the_preview(
    browser: Browser, server: PreviewServer, project: Path
) -> None:
    latest = load_project(project).issues[-1]
    item = latest.issue.items[0]
    page = screen(browser, "desktop")
    try:
        page.goto(f"{server.url}issue/{latest.number}/")
        email = page.frame_locator("#email")
        contents = email.locator(f'a[href="/issue/{latest.number}/#item-{item.id}"]').first
        expect(contents).to_have_attribute("target", "_blank")
        with page.context.expect_page() as opened:
            contents.click()
        assert opened.value.url == f"{server.url}issue/{latest.number}/#item-{item.id}"
        expect(opened.value.locator(f"#item-{item.id}")).to_contain_text(item.title)
        frame = page.frame(url=re.compile(r"/email/"))
        assert frame is not None and frame.url.endswith(f"/issue/{latest.number}/email/full.html")
        targets = frame.evaluate("() => [...document.querySelectorAll('a[href]')].map((a) => a.target)")
        assert targets and set(targets) == {"_blank"}
    finally:
        page.context.close()

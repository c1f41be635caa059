"""Sign-off (issue 24) in a real headless Chromium: what is on the first screen, what a save keeps,
what the keyboard and a phone meet."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
import test_browser
from conftest import Cli
from playwright.sync_api import Browser, Page, expect
from test_browser import TIMEOUT

from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.email.editions import audiences
from composer.lists.recipients import read_lists
from composer.web.preview.builds import FOUND_MEMBERS
from composer.web.preview.server import PreviewServer, ShareServer

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
    browser: Browser,
    server: PreviewServer,
    project: Path,
    run_cli: Cli,
) -> None:
    result = run_cli(project, "send", "--dry-run", "--json")
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


def no_sideways_scroll(page: Page) -> bool:
    return bool(
        page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    )


def test_a_phone_never_scrolls_sideways_and_the_width_labels_are_true(
    browser: Browser, server: PreviewServer, project: Path
) -> None:
    loaded = load_project(project)
    member = max(read_lists(loaded).recipients(), key=lambda r: len(r.person.name + r.person.email)).person
    page = screen(browser, "phone")
    try:
        base = f"{server.url}issue/{loaded.issues[-1].number}/?edition=member:{quote(member.email)}"
        for width, pixels in (("phone", 375), ("desktop", 800)):
            page.goto(f"{base}&width={width}&find={quote(member.name)}")
            expect(page.locator("#member")).to_contain_text(member.name)
            assert no_sideways_scroll(page), width
            label = page.locator("select[name=width] option:checked").inner_text()
            assert f"{pixels} px" in label
            frame = page.locator("#email")
            assert frame.evaluate("(frame) => frame.contentDocument.documentElement.clientWidth") == pixels
        page.goto(f"{base}&width=phone")
        box = page.locator("#email").bounding_box()  # the phone's width fits a phone's screen whole
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= SCREENS["phone"]["width"]
    finally:
        page.context.close()


def test_menus_change_on_commit_not_on_an_arrow_key(browser: Browser, server: PreviewServer) -> None:
    page = screen(browser, "desktop")
    try:
        page.goto(f"{server.url}issue/{load_project(server.app.root).issues[-1].number}/")
        url = page.url
        page.evaluate("() => { window.notReloaded = true; }")
        menu = page.get_by_label("Width")
        menu.focus()
        page.keyboard.press("ArrowDown")
        expect(menu).to_have_value("phone")
        assert page.url == url and page.evaluate("() => window.notReloaded") is True
        assert page.evaluate("() => document.activeElement.name") == "width"
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"width=phone"))
        expect(page.locator("#email")).to_have_attribute("width", "375")
    finally:
        page.context.close()


def test_a_skip_link_leads_to_the_checks_and_every_control_has_a_label(
    browser: Browser, server: PreviewServer
) -> None:
    page = screen(browser, "desktop")
    try:
        page.goto(f"{server.url}issue/{load_project(server.app.root).issues[-1].number}/")
        page.keyboard.press("Tab")
        skip = page.locator(":focus")
        expect(skip).to_have_text("Skip to the checks")
        assert skip.bounding_box() is not None  # shown when focused, not only to screen readers
        page.keyboard.press("Enter")
        expect(page.locator(":focus")).to_have_id("warnings")
        for name in ("Edition", "Width", "View", "Member"):
            expect(page.get_by_label(name, exact=True)).to_have_count(1)
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll("select, input:not([type=hidden]), button")]
                 .filter((control) => !control.labels.length && !control.textContent.trim())
                 .map((control) => control.outerHTML)"""
        )
        assert unlabelled == []
    finally:
        page.context.close()


def test_a_search_says_how_many_in_a_live_region_and_how_many_more(
    browser: Browser, server: PreviewServer
) -> None:
    loaded = load_project(server.app.root)
    people = [recipient.person for recipient in read_lists(loaded).recipients()]
    wanted = max(
        "abcdefghijklmnopqrstuvwxyz",
        key=lambda c: sum(c in p.name.casefold() + p.email.casefold() for p in people),
    )
    total = sum(wanted in p.name.casefold() + p.email.casefold() for p in people)
    assert total > FOUND_MEMBERS  # a search whose results are cut
    page = screen(browser, "desktop")
    try:
        page.goto(f"{server.url}issue/{loaded.issues[-1].number}/")
        page.evaluate("() => { window.notReloaded = true; }")
        region = page.locator("#members")
        expect(region).to_have_attribute("aria-live", "polite")
        expect(region).to_have_attribute("role", "status")
        page.get_by_label("Member", exact=True).fill(wanted)
        page.keyboard.press("Enter")
        expect(region).to_contain_text(f"{total} members")
        expect(region).to_contain_text(f"{total - FOUND_MEMBERS} more")
        expect(region.locator("li")).to_have_count(FOUND_MEMBERS)
        assert page.evaluate("() => window.notReloaded") is True  # the region changed, so it is announced
    finally:
        page.context.close()


def test_a_comment_from_the_review_address_shows_on_the_managers_page(
    browser: Browser, server: PreviewServer, project: Path
) -> None:
    share = ShareServer(server.app, "127.0.0.1", 0).start()
    number = load_project(project).issues[-1].number
    manager, colleague = screen(browser, "desktop"), screen(browser, "phone")
    try:
        manager.goto(f"{server.url}issue/{number}/")
        manager.evaluate("() => { window.notReloaded = true; }")
        colleague.goto(f"{share.urls[-1]}issue/{number}/")
        expect(colleague.locator("#verdict .headline")).to_contain_text("Ready to send")
        colleague.get_by_label("Your name").fill("Ruth Reviewer")
        colleague.get_by_label("Comment").fill("The second item's date looks wrong.")
        colleague.get_by_role("button", name="Send comment").click()
        expect(colleague.locator("#reviews")).to_contain_text("The second item's date looks wrong.")
        colleague.get_by_label("Your name").fill("Omar")
        colleague.get_by_role("button", name="Approve").click()
        reviews = manager.locator("#reviews")  # beside the verdict, by itself
        expect(reviews).to_contain_text("Ruth Reviewer")
        expect(reviews).to_contain_text("The second item's date looks wrong.")
        expect(reviews).to_contain_text("Approved by Omar")
        assert manager.evaluate("() => window.notReloaded") is True
        manager.get_by_role("button", name="Mark resolved").click()
        expect(manager.locator("#reviews")).to_contain_text("1 comment, 0 not resolved")
    finally:
        manager.context.close()
        colleague.context.close()
        share.close()
        for path in (project / ".composer" / "reviews").glob("*.jsonl"):
            path.unlink()

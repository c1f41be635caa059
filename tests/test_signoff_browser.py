"""Sign-off (issue 24) in a real headless Chromium: what is on the first screen, what a save keeps,
what the keyboard and a phone meet."""

from __future__ import annotations

from pathlib import Path

import pytest
import test_browser
from playwright.sync_api import Browser, Page, expect
from test_browser import TIMEOUT

from composer.content.project import load_project
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

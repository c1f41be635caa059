"""The email itself in a real headless Chromium: its length on a phone, and dark mode."""

from __future__ import annotations

import re

import pytest
from conftest import BROWSER_REQUIRED, CHROMIUM, copy_example, largest_issue
from playwright.sync_api import Browser, Page

from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.content.project import Project
from composer.email.colours import CONTRAST_MIN, contrast
from composer.email.editions import FULL, EditionKey, edition_key
from composer.email.placeholders import fill_placeholders, reader_values
from composer.email.render import Renderer
from composer.lists.recipients import read_lists

PHONE = {"width": 375, "height": 740}
MEMBER = "grace.whitmore@bracknell-forest.example"  # the first row of recipients/members.csv
# Heights in CSS pixels at 375 px of issue 377 (the largest example) before the compact layout:
# measured by running this file's test on commit 0bccfcb (`pytest tests/test_email_browser.py -s`
# in a checkout of it: the same `phone_height`, images blocked, Debian's chromium 156), for the
# full edition and MEMBER's edition with their placeholders filled. Text was drawn in Liberation
# Sans, the Arial-metric font of Debian's fonts-liberation (installed by `make test`): a height is
# only comparable in the same font, so the test first checks that the email is drawn in it.
BEFORE = {"full": 19_810, MEMBER: 13_384}
MEASURED_IN = "Liberation Sans"
SHORTER = 0.40

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not BROWSER_REQUIRED,
    reason="Debian's chromium is not installed at /usr/bin/chromium",
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return load_project(copy_example(tmp_path_factory.mktemp("email") / "project"))


def reader_html(
    project: Project, number: int, key: EditionKey, name: str = "", networks: frozenset[str] = frozenset()
) -> str:
    """The edition as this reader sees it: placeholders filled."""
    edition = Renderer(project).edition(plan_for(project, number), key)
    values = reader_values(
        project.settings,
        html=True,
        unsubscribe_url=str(project.settings.sending.unsubscribe_url),
        name=name,
        networks=[project.networks[n].name for n in networks],
    )
    return fill_placeholders(edition.html, values)


def open_page(browser: Browser, html: str, *, dark: bool = False) -> Page:
    """The email at phone width with images blocked (nothing reaches the network)."""
    context = browser.new_context(viewport=PHONE, color_scheme="dark" if dark else "light")
    page = context.new_page()
    page.route("**/*", lambda route: route.abort())
    page.set_content(html, wait_until="load")
    return page


def drawn_in(page: Page, selector: str) -> set[str]:
    """The fonts Chromium really drew an element's text with (not the CSS it was asked for)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {font["familyName"] for font in fonts}


def phone_height(browser: Browser, html: str) -> int:
    page = open_page(browser, html)
    try:
        fonts = drawn_in(page, "td.c p")
        assert fonts == {MEASURED_IN}, (
            f"the email is drawn in {sorted(fonts)} here; BEFORE was measured in {MEASURED_IN}: "
            "install Debian's fonts-liberation (`make test` does)"
        )
        return int(page.evaluate("() => document.documentElement.scrollHeight"))
    finally:
        page.context.close()


def test_phone_height_is_at_least_40_percent_shorter(browser: Browser, project: Project) -> None:
    number = largest_issue(project)
    assert number == 377  # the issue BEFORE was measured on
    (member,) = [r for r in read_lists(project).recipients() if r.person.email == MEMBER]
    heights = {
        "full": phone_height(browser, reader_html(project, number, FULL)),
        MEMBER: phone_height(
            browser,
            reader_html(project, number, edition_key(member.networks), member.person.name, member.networks),
        ),
    }
    for name, height in heights.items():
        print(f"{name}: {height} px at 375 px, before {BEFORE[name]} px ({height / BEFORE[name]:.0%})")
        assert height <= BEFORE[name] * (1 - SHORTER), (name, height)


COLOURS = """(selector) => [...document.querySelectorAll(selector)].map(element => {
  let back = element;
  const bg = e => getComputedStyle(e).backgroundColor;
  while (back && (bg(back) === 'rgba(0, 0, 0, 0)' || bg(back) === 'transparent')) back = back.parentElement;
  return [getComputedStyle(element).color, back ? bg(back) : 'rgb(255, 255, 255)'];
})"""


def hex_colour(css: str) -> str:
    red, green, blue = (int(n) for n in re.findall(r"\d+", css)[:3])
    return f"#{red:02x}{green:02x}{blue:02x}"


def test_dark_mode_keeps_text_readable(browser: Browser, project: Project) -> None:
    page = open_page(browser, reader_html(project, largest_issue(project), FULL), dark=True)
    try:
        for selector in ("h2", "h3", "td.c p", "td.ab p", "p.ah", "td.ab a", "p.l", "p.r", "p.fp"):
            pairs = page.evaluate(COLOURS, selector)
            assert pairs, selector
            for text, background in pairs:
                text, background = hex_colour(text), hex_colour(background)
                assert contrast(background, "#000000") < 2, (selector, background)  # a dark background
                ratio = contrast(text, background)
                assert ratio >= CONTRAST_MIN, f"{selector}: {text} on {background} is {ratio:.1f}:1"
    finally:
        page.context.close()

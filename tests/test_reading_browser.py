"""Every example edition in a real headless Chromium at 375 px with images off: where the reader's
first item starts, how big the diary's tap targets are, and what the hero shows."""

from __future__ import annotations

import pytest
from conftest import BROWSER_REQUIRED, CHROMIUM, copy_example
from playwright.sync_api import Browser, Page

from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.content.project import Project
from composer.email.check import edition_keys
from composer.email.placeholders import fill_placeholders, reader_values
from composer.email.render import Edition, render_editions
from composer.lists.recipients import read_lists

PHONE = {"width": 375, "height": 740}
FIRST_ITEM_WITHIN = 1200  # CSS pixels from the top
TAP_HEIGHT = 44  # CSS pixels: the smallest comfortable tap target on a phone

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not BROWSER_REQUIRED,
    reason="Debian's chromium is not installed at /usr/bin/chromium",
)


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, list[tuple[int, Edition]]]:
    project = load_project(copy_example(tmp_path_factory.mktemp("reading") / "project"))
    keys = edition_keys(project, read_lists(project))
    return project, [
        (sourced.number, edition)
        for sourced in project.issues
        for edition in render_editions(project, plan_for(project, sourced.number), keys)
    ]


@pytest.fixture(scope="module")
def page(browser: Browser) -> Page:
    """A phone-sized page with images blocked (nothing reaches the network)."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.route("**/*", lambda route: route.abort())
    return page


def show(page: Page, project: Project, edition: Edition) -> None:
    networks = [project.networks[n].name for n in edition.key or ()]
    values = reader_values(
        project.settings,
        html=True,
        unsubscribe_url="https://updates.secip.example.org/unsubscribe",
        name="Alexandra Fitzwilliam-Smythe",
        first_name="Alexandra",
        networks=networks,
    )
    page.set_content(fill_placeholders(edition.html, values, edition.key or ()), wait_until="load")


FIRST_ITEM = """() => { const d = document.querySelector('div[id^="item-"]');
  return [d.id, d.getBoundingClientRect().top + window.scrollY]; }"""


def test_the_first_item_is_the_readers_own_and_starts_on_the_first_screens(
    page: Page, editions: tuple[Project, list[tuple[int, Edition]]]
) -> None:
    project, found = editions
    offsets = {}
    for number, edition in found:
        show(page, project, edition)
        item_id, top = page.evaluate(FIRST_ITEM)
        offsets[(number, edition.name)] = round(top)
        items = edition.selection.items
        if items:
            assert item_id == f"item-{items[0].id}"
            if edition.key and any(not item.for_everyone for item in items):
                assert not items[0].for_everyone, (number, edition.name)
        assert top <= FIRST_ITEM_WITHIN, (number, edition.name, top)
    print("first item at (px):", offsets)


DIARY_LINKS = """() => [...document.querySelectorAll('table.dt a')]
  .map(a => a.getBoundingClientRect().height)"""


def test_every_diary_link_is_tall_enough_to_tap(
    page: Page, editions: tuple[Project, list[tuple[int, Edition]]]
) -> None:
    project, found = editions
    heights: list[float] = []
    for _, edition in found:
        show(page, project, edition)
        heights += page.evaluate(DIARY_LINKS)
    print(f"{len(heights)} diary links, {min(heights):.0f}–{max(heights):.0f} px high")
    assert heights and min(heights) >= TAP_HEIGHT

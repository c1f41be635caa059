"""The preview and the archive in a real headless Chromium: what staff and readers actually see."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import BROWSER_REQUIRED, CHROMIUM, copy_example
from playwright.sync_api import Browser, Frame, FrameLocator, Locator, Page, expect
from playwright.sync_api import Error as PlaywrightError

from composer.commands.archive import archive
from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.content.project import SourcedIssue
from composer.email.editions import audiences, parse_edition_name, receives
from composer.lists.recipients import read_lists
from composer.web.preview.server import PreviewServer, open_preview

TIMEOUT = 15_000  # ms: a rebuild renders every edition of the issue, about a second
expect.set_options(timeout=TIMEOUT)  # its own default (5 s) is too short on a loaded machine

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not BROWSER_REQUIRED,
    reason="Debian's chromium is not installed at /usr/bin/chromium",
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("browser") / "project")


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[PreviewServer]:
    running = open_preview(project, port=0, interval=0.05, settle=0.1).start()
    yield running
    running.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT)
    yield context.new_page()
    context.close()


def latest(project: Path) -> SourcedIssue:
    return load_project(project).issues[-1]


def two_editions(project: Path) -> tuple[str, str]:
    """Two editions that `send` sends, each with an item of the latest issue that the other lacks."""
    loaded = load_project(project)
    issue = loaded.issues[-1]
    sent = audiences(plan_for(loaded, issue.number), (r.edition for r in read_lists(loaded).recipients()))
    receiving = {a.name: {i.id for i in issue.issue.items if receives(i, a.key)} for a in sent}
    for first in receiving:
        for second in receiving:
            if receiving[first] - receiving[second] and receiving[second] - receiving[first]:
                return first, second
    raise AssertionError(f"issue {issue.number} has no two editions with items of their own")


def heading(frame: Page | FrameLocator, text: str) -> Locator:
    """An item title (or the masthead) as the reader sees it: a heading, not the hidden preheader."""
    return frame.get_by_role("heading", name=text, exact=True)


def no_horizontal_scroll(frame: Page | Frame) -> bool:
    root = "document.documentElement"
    return bool(frame.evaluate(f"() => {root}.scrollWidth <= {root}.clientWidth"))


def in_email(page: Page, check: Callable[[Frame], object]) -> object:
    """`check` run in the email's frame; the preview reloads that frame when its background
    checks finish, so a frame that goes away meanwhile is looked up again (a few times)."""
    for attempt in range(5):
        frame = page.frame(url=re.compile(r"/email/"))
        try:
            if frame is not None:
                return check(frame)
        except PlaywrightError:
            if attempt == 4:
                raise
        page.wait_for_timeout(500)
    raise AssertionError("the email frame never settled")


def test_index_editions_phone_width_and_plain_text(page: Page, server: PreviewServer, project: Path) -> None:
    issue = latest(project)
    page.goto(server.url)
    expect(page.locator("#issues tbody tr")).to_have_count(len(load_project(project).issues))
    # the index swaps itself in as background checks finish: click once it has settled, so the
    # click lands on the link that stays, not on one being replaced
    expect(page.get_by_text("checking…")).to_have_count(0)
    page.get_by_role("link", name=f"No {issue.number}").click()
    expect(page.locator("h1")).to_contain_text(f"Update No {issue.number}")
    email = page.frame_locator("#email")
    for item in issue.issue.items:
        expect(heading(email, item.title)).to_be_visible()

    first, second = two_editions(project)
    for name in (first, second):  # the second's own items appear, the first's own vanish
        page.select_option("select[name=edition]", name)
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(re.compile(f"edition={re.escape(quote(name))}"))
        key = parse_edition_name(name)
        for item in issue.issue.items:
            title = heading(email, item.title)
            expect(title).to_be_visible() if receives(item, key) else expect(title).to_have_count(0)

    page.select_option("select[name=width]", "phone")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#email")).to_have_attribute("width", "375")
    expect(heading(email, f"UPDATE NO {issue.number}")).to_be_visible()
    assert in_email(page, lambda frame: frame.evaluate("() => document.documentElement.clientWidth")) <= 375
    assert in_email(page, no_horizontal_scroll)

    page.select_option("select[name=view]", "text")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#email")).to_have_attribute("src", re.compile(r"\.txt$"))
    expect(email.locator("body")).to_contain_text(f"UPDATE NO {issue.number}")
    expect(email.locator("body")).not_to_contain_text("<mj-")


def test_live_reload_and_broken_yaml(page: Page, server: PreviewServer, project: Path) -> None:
    issue = latest(project)
    path, title = issue.path, issue.issue.items[0].title
    original = path.read_text(encoding="utf-8")
    page.goto(f"{server.url}issue/{issue.number}/")
    email = page.frame_locator("#email")
    expect(heading(email, title)).to_be_visible()
    page.evaluate("() => { window.notReloaded = true; }")
    try:
        path.write_text(original.replace(title, "Saved a moment ago"), encoding="utf-8")
        expect(heading(email, "Saved a moment ago")).to_be_visible()

        broken = original.replace("items:", "items: [", 1)
        path.write_text(broken, encoding="utf-8")
        errors = page.locator("#issue-errors")
        expect(errors).to_contain_text(re.compile(rf"issues/{issue.number}\.yaml:\d+"))
        expect(errors).to_contain_text("YAML syntax error")
        expect(page.locator("#email")).to_be_visible()  # the last good version stays beside the error
    finally:
        path.write_text(original, encoding="utf-8")
    expect(page.locator("#issue-errors")).to_have_count(0)
    expect(heading(email, title)).to_be_visible()
    assert page.evaluate("() => window.notReloaded") is True  # the page's own script did it all


def test_index_shows_new_check_results_by_itself(page: Page, server: PreviewServer, project: Path) -> None:
    issue = latest(project)
    original = issue.path.read_text(encoding="utf-8")
    page.goto(server.url)
    row = page.locator("#issues tr", has=page.get_by_role("link", name=f"No {issue.number}"))
    check = row.locator(".check")
    expect(check).to_have_text(re.compile(r"Ready to send — 0 errors, 0 warnings"))
    page.evaluate("() => { window.notReloaded = true; }")
    try:  # a link readers cannot follow: an email check fails, the files stay valid
        issue.path.write_text(original.replace("the Longley Room at", "[the Longley Room](/rooms) at"))
        expect(check).to_have_text(re.compile(r"Not ready — 1 error\s*$"))
    finally:
        issue.path.write_text(original, encoding="utf-8")
    expect(check).to_have_text(re.compile(r"Ready to send — 0 errors, 0 warnings"))
    assert page.evaluate("() => window.notReloaded") is True


def test_archive_works_from_disk_and_fits_a_phone(browser: Browser, project: Path, tmp_path: Path) -> None:
    result = archive(project, out=tmp_path / "site")
    context = browser.new_context(viewport={"width": 375, "height": 740})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    try:
        page.goto((result.out / "index.html").as_uri())
        assert no_horizontal_scroll(page)
        issue = latest(project)
        page.get_by_role("link", name=re.compile(f"Update No {issue.number}")).click()
        expect(page).to_have_url(re.compile(rf"/{issue.number}/index\.html$"))
        expect(heading(page, issue.issue.items[0].title)).to_be_visible()
        assert no_horizontal_scroll(page)
        page.get_by_role("link", name="All Updates").click()
        expect(page).to_have_url(re.compile(r"/site/index\.html$"))
    finally:
        context.close()

"""The README's pictures of the example's email: the latest issue as the first member on the
lists receives it, on a phone (375 px) and on a desktop, in Debian's headless chromium; and the
editor of `composer preview` beside the same email.

Images are blocked (nothing is fetched), as Outlook shows an email by default: what a reader sees
is the text, the navigation links and the images' alt text. The editor is shown on a copy of the
example in a temporary folder, served on 127.0.0.1, so the example is never written. Run by
`make screenshots`.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.email.editions import edition_key
from composer.email.placeholders import fill_placeholders, reader_values
from composer.email.render import Renderer
from composer.lists.recipients import read_lists
from composer.web.preview.server import open_preview

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SHOTS = {"email-phone.png": (375, 1100), "email-desktop.png": (1024, 900)}  # file: width, height
EDITOR_SHOT = ("editor.png", 1280, 860)
PROGRAMME = ["composer.yaml", "contacts.yaml", "issues", "recipients"]


def main() -> None:
    project = load_project(ROOT)
    number = project.issues[-1].number
    reader = next(iter(read_lists(project).recipients()))
    edition = Renderer(project).edition(plan_for(project, number), edition_key(reader.networks))
    values = reader_values(
        project.settings,
        html=True,
        unsubscribe_url=str(project.settings.sending.unsubscribe_url),
        name=reader.person.name,
        networks=[project.networks[n].name for n in reader.networks],
    )
    html = fill_placeholders(edition.html, values)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        for name, (width, height) in SHOTS.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            page.route("**/*", lambda route: route.abort())
            page.set_content(html, wait_until="load")
            page.screenshot(path=str(ROOT / "docs" / name))
            page.close()
            print(f"docs/{name}: issue {number}, {reader.person.name}'s edition, {width}×{height}")
        editor(browser, number)
        browser.close()


def editor(browser: Browser, number: int) -> None:
    """The form of the latest issue, with its first item's title focused, beside its email."""
    name, width, height = EDITOR_SHOT
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder)
        for part in PROGRAMME:
            source = ROOT / part
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, copy / part)
        server = open_preview(copy, port=0).start()
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, locale="en-GB")
            page.route(re.compile(r"^(?!http://127\.0\.0\.1:)[a-z]+://"), lambda route: route.abort())
            page.goto(f"{server.url}issue/{number}/edit")
            page.get_by_text("No problems").or_(page.get_by_text("error")).first.wait_for()
            page.frame_locator("#live-email").get_by_role("heading").first.wait_for()
            page.get_by_role("group", name="Item 1", exact=True).get_by_label("Title", exact=True).focus()
            page.screenshot(path=str(ROOT / "docs" / name))
            page.close()
        finally:
            server.close()
    print(f"docs/{name}: the editor of issue {number}, {width}×{height}")


if __name__ == "__main__":
    main()

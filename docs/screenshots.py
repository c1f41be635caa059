"""The README's pictures of the example's email: the latest issue as the first member on the
lists receives it, on a phone (375 px) and on a desktop, in Debian's headless chromium.

Images are blocked (nothing is fetched), as Outlook shows an email by default: what a reader sees
is the text, the navigation links and the images' alt text. Run by `make screenshots`.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

from composer.content.carry import plan_for
from composer.content.project import load_project
from composer.content.recipients import read_lists
from composer.email.editions import edition_key
from composer.email.render import Renderer, fill_placeholders, reader_values

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SHOTS = {"email-phone.png": (375, 1100), "email-desktop.png": (1024, 900)}  # file: width, height


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
        browser.close()


if __name__ == "__main__":
    main()

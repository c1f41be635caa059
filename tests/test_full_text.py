"""Nothing the office publishes is lost: every reminder's link leads to its full, current text.

The example is sent to the outbox and published with `composer archive`; every archive link of
every message (HTML and plain text) is followed into the site, where the item it names must be
shown whole: its body and its action, in the text of the Update that link was sent in.
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path

import lxml.html
import pytest
from conftest import SECRET, copy_example

from composer.commands.archive import archive
from composer.commands.send import send
from composer.content.carry import Plan, plan_for
from composer.content.loading import load_project
from composer.content.model import Item
from composer.content.project import Project
from composer.email.editions import FULL, select
from composer.email.markdown import to_html
from composer.email.render import Renderer

pytestmark = pytest.mark.slow  # sends every example issue and builds the archive


def flat(text: str) -> str:
    return " ".join(text.split())


def squeezed(text: str) -> str:
    """Text without any whitespace: paragraphs run together in an element's text content."""
    return "".join(text.split())


def words(markdown: str) -> str:
    """The plain words of a Markdown text, as a page shows them."""
    return flat(lxml.html.fragment_fromstring(str(to_html(markdown)), create_parent="div").text_content())


def shown(plan: Plan, item_id: str) -> Item:
    """The text of an item as issue `plan` shows it: this week's item or a reminder."""
    items = {item.id: item for item in plan.items} | {r.item.id: r.item for r in plan.reminders}
    return items[item_id]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, Path, dict[int, list[Path]]]:
    """The example with its three latest issues sent to the outbox, and its archive."""
    root = copy_example(tmp_path_factory.mktemp("full-text") / "project")
    sent: dict[int, list[Path]] = {}
    for number in (375, 376, 377):
        send(root, str(number), env={"COMPOSER_SECRET": SECRET})
        sent[number] = sorted((root / "outbox" / str(number)).glob("*.eml"))
    archive(root)
    return load_project(root), root / "site", sent


def test_every_archive_link_of_every_sent_message_leads_to_the_full_current_text(
    published: tuple[Project, Path, dict[int, list[Path]]],
) -> None:
    project, site, sent = published
    base = str(project.settings.archive_url).rstrip("/")
    link = re.compile(re.escape(base) + r"/(\d+)/([a-z0-9+-]+\.html)?#item-([a-z0-9-]+)")
    checked: set[tuple[int, str]] = set()
    kinds = {"updated": 0, "carried": 0}
    for number, files in sent.items():
        plan = plan_for(project, number)
        updated = {r.item.id for r in plan.reminders if r.updated}
        carried = {item.id for s in project.issues for item in s.issue.carried_items}
        for eml in files:
            message = message_from_bytes(eml.read_bytes(), policy=policy.default)
            parts = [p.get_content() for p in message.walk() if p.get_content_type().startswith("text/")]
            found = {match.groups() for part in parts for match in link.finditer(part)}
            assert found, eml
            for page_number, page_name, item_id in found:
                assert int(page_number) == number  # the page of the Update it was sent in
                page = site / page_number / (page_name or "index.html")
                (element,) = lxml.html.parse(str(page)).getroot().xpath(f"//*[@id='item-{item_id}']")
                text = squeezed(element.text_content())
                item = shown(plan, item_id)
                assert squeezed(words(item.body)) in text, (eml.name, item_id)
                assert squeezed(words(item.action)) in text, (eml.name, item_id)
                checked.add((number, item_id))
                kinds["updated"] += item_id in updated
                kinds["carried"] += item_id in carried
    assert kinds["carried"], kinds
    assert len(checked) > 20
    for number in sent:  # an updated reminder has no link: it is shown whole, in the email and here
        plan = plan_for(project, number)
        for reminder in (r for r in plan.reminders if r.updated):
            page = lxml.html.parse(str(site / str(number) / "index.html")).getroot()
            (element,) = page.xpath(f"//*[@id='item-{reminder.item.id}']")
            assert squeezed(words(reminder.item.body)) in squeezed(element.text_content())
            kinds["updated"] += 1
    assert kinds["updated"] >= 2


def test_view_in_your_browser_opens_the_readers_own_edition(
    published: tuple[Project, Path, dict[int, list[Path]]],
) -> None:
    project, site, sent = published
    base = str(project.settings.archive_url).rstrip("/")
    for eml in sent[377]:
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        html = message.get_body(("html",)).get_content()
        (view,) = {a.get("href") for a in lxml.html.fromstring(html).xpath("//a[.='View in your browser']")}
        assert view.startswith(f"{base}/377/") and view.endswith(".html"), view
        page = lxml.html.parse(str(site / view.removeprefix(f"{base}/"))).getroot()
        titles = {flat(h.text_content()) for h in page.xpath("//h3")}
        mine = {flat(h.text_content()) for h in lxml.html.fromstring(html).xpath("//h3")}
        assert titles == mine, eml.name  # the same items and reminders as the reader's own email


def test_full_layout_shows_every_reminder_whole_in_both_parts(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "project")
    settings = root / "composer.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("reminders:\n", "reminders:\n  layout: full\n", 1), encoding="utf-8")
    project = load_project(root)
    plan = plan_for(project, 377)
    assert project.settings.reminders.layout == "full"
    edition = Renderer(project).edition(plan, FULL)
    doc = lxml.html.fromstring(edition.html)
    plain = flat(edition.text.replace("*", ""))  # *strong* and _em_ as plain text writes them
    for reminder in plan.reminders:
        (element,) = doc.xpath(f"//*[@id='item-{reminder.item.id}']")
        for part in (reminder.item.body, reminder.item.action):
            assert words(part)[:30] in flat(element.text_content()), reminder.item.id
            assert words(part)[:30] in plain, reminder.item.id


def test_compact_layout_shows_updated_reminders_whole(tmp_path: Path) -> None:
    project = load_project(copy_example(tmp_path / "project"))
    assert project.settings.reminders.layout == "compact"
    for number in (376, 377):
        plan = plan_for(project, number)
        selection = select(plan, FULL)
        updated = [r for r in selection.reminders if r.updated]
        assert updated
        edition = Renderer(project).edition(plan, FULL)
        doc = lxml.html.fromstring(edition.html)
        for reminder in updated:
            (element,) = doc.xpath(f"//*[@id='item-{reminder.item.id}']")
            content = flat(element.text_content())
            assert f"Updated in No {number}" in content and words(reminder.item.body)[:70] in content
            assert words(reminder.item.body)[:70] in flat(edition.text.replace("*", ""))

"""Rendering editions: what each reader sees, parsed as HTML and read as text."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import lxml.html
import pytest
from conftest import REPO, copy_example, largest_issue

from composer.content.carry import plan_for
from composer.content.loading import issue_files, load_project
from composer.content.project import Project
from composer.email.check import edition_keys
from composer.email.editions import FULL, edition_key, select
from composer.email.inliner import inline_css
from composer.email.placeholders import PLACEHOLDERS, fill_placeholders, reader_values
from composer.email.render import Edition, Renderer, render_editions
from composer.email.sections import keep_sections
from composer.email.urls import archive_page_url, calendar_url
from composer.errors import ComposerError
from composer.lists.recipients import read_lists

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = "COMPOSER_REGENERATE_GOLDEN"


@dataclass
class Rendered:
    project: Project
    number: int
    editions: list[Edition]

    @property
    def full(self) -> Edition:
        return next(e for e in self.editions if e.key is FULL)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return load_project(copy_example(tmp_path_factory.mktemp("render") / "project"))


@pytest.fixture(scope="module")
def largest(project: Project) -> Rendered:
    """Every edition of the example issue whose full edition is the largest."""
    number = largest_issue(project)
    return Rendered(
        project,
        number,
        render_editions(project, plan_for(project, number), edition_keys(project, read_lists(project))),
    )


def parse(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def flat(text: str) -> str:
    """Text with its wrapping undone, to look for a phrase that may span lines."""
    return " ".join(text.split())


def test_one_edition_per_distinct_content_serving_every_set_of_networks(largest: Rendered) -> None:
    from composer.lists.recipients import read_lists

    expected = {r.edition for r in read_lists(largest.project).recipients()}
    served = [key for e in largest.editions for key in e.serves]
    assert served[0] is FULL and set(served[1:]) == expected and len(served) == len(expected) + 1
    plan = plan_for(largest.project, largest.number)
    # as many editions as distinct contents (test_scale.py shows sets sharing one)
    assert len(largest.editions) == len({select(plan, key).identity for key in served})
    contents = [select(plan, e.key).identity for e in largest.editions]
    assert len(set(contents)) == len(contents)
    for edition, content in zip(largest.editions, contents, strict=True):
        assert edition.serves[0] == edition.key
        assert all(select(plan, key).identity == content for key in edition.serves)


def test_every_item_of_the_edition_and_no_other(largest: Rendered) -> None:
    plan = plan_for(largest.project, largest.number)
    every_title = {item.title for item in plan.issue.items} | {r.item.title for r in plan.reminders}
    for edition in largest.editions:
        wanted = [i.id for i in edition.selection.items] + [r.item.id for r in edition.selection.reminders]
        doc = parse(edition.html)
        shown = [div.get("id").removeprefix("item-") for div in doc.xpath("//div[starts-with(@id, 'item-')]")]
        assert shown == wanted, edition.name
        titles = {h.text_content() for h in doc.xpath("//h3")}
        expected = {i.title for i in edition.selection.items}
        expected |= {r.item.title for r in edition.selection.reminders}
        assert titles == expected
        text = flat(edition.text)
        for title in every_title:  # a reminder's title may be cut to fit its one line of text
            assert (flat(title)[:40] in text) == (title in expected), (edition.name, title)


def test_network_editions_hold_the_items_for_everyone_and_their_networks(largest: Rendered) -> None:
    plan = plan_for(largest.project, largest.number)
    for edition in largest.editions[1:]:
        for item in plan.items:
            wanted = not item.networks or bool(edition.key & set(item.networks))
            assert (item in edition.selection.items) == wanted


def test_action_required_is_boxed_and_contacts_are_mailto_links(largest: Rendered) -> None:
    doc = parse(largest.full.html)
    contacts = largest.project.contacts
    for item in largest.full.selection.items:
        (div,) = doc.xpath(f"//div[@id='item-{item.id}']")
        if item.action.strip():
            (box,) = div.xpath(".//td[@class='ab']")
            assert "Action required" in box.text_content()
            assert "border-left" in box.get("style")
            first_words = " ".join(item.action.split()[:3]).strip("*_")
            assert first_words.split("*")[0] in flat(box.text_content())
        links = [a.get("href") for a in div.xpath(".//p[starts-with(., 'Contact:')]/a")]
        assert links == [f"mailto:{contacts[c].email}" for c in item.contacts if contacts[c].email]
    assert not doc.xpath("//@id[starts-with(., 'contact-')]")
    cards = doc.xpath("//p[@class='k']")
    assert cards
    for card in cards:
        (contact,) = [c for c in contacts.values() if c.name == card.xpath(".//strong")[0].text_content()]
        if contact.email:
            assert card.xpath(".//a")[0].get("href") == f"mailto:{contact.email}"
        if contact.phone:
            (tel,) = card.xpath(".//a[starts-with(@href, 'tel:')]")
            assert tel.text_content() == contact.phone.replace(" ", "\u00a0")  # never wraps
            assert tel.get("href") == "tel:" + contact.phone.replace(" ", "")


def test_network_label_and_event_calendar_link(largest: Rendered) -> None:
    doc = parse(largest.full.html)
    settings = largest.project.settings
    plan_items = largest.full.selection.items
    whole = [*plan_items, *(r.item for r in largest.full.selection.reminders if r.updated)]
    shown = [*plan_items, *(r.item for r in largest.full.selection.reminders)]
    assert any(item.event for item in shown) and any(item.networks for item in shown)
    for reminder_or_item in shown:
        (div,) = doc.xpath(f"//div[@id='item-{reminder_or_item.id}']")
        labels = div.xpath(".//p[@class='l' or @class='r' and not(starts-with(., 'From Update'))]")
        names = " · ".join(largest.project.networks[n].name for n in reminder_or_item.networks)
        if reminder_or_item.networks:
            assert names in labels[0].text_content()
        else:
            assert not labels or " · " not in labels[0].text_content()
        calendar = [a.get("href") for a in div.xpath(".//a[text()='Add to calendar']")]
        assert len(calendar) == (1 if reminder_or_item.event and reminder_or_item in whole else 0)
    item = next(i for i in largest.full.selection.items if i.event)
    url = calendar_url(lambda number: archive_page_url(settings, number), largest.number, item.id)
    assert url == f"{archive_page_url(settings, largest.number)}{item.id}.ics"
    assert url in largest.full.text and url in largest.full.html


def test_email_structure_for_mail_clients(largest: Rendered) -> None:
    for edition in largest.editions:
        doc = parse(edition.html)
        assert edition.html.startswith("<!doctype html>")
        assert doc.get("lang") == largest.project.settings.programme.language
        assert "<!--[if mso | IE]>" in edition.html  # Outlook's conditional tables kept
        assert not doc.xpath("//script") and not doc.xpath("//link")
        assert not re.search(r"@import|fonts\.googleapis", edition.html)
        images = doc.xpath("//img")
        assert images and all(img.get("alt", "").strip() for img in images)
        assert all(img.get("src").startswith("https://") for img in images)
        for a in doc.xpath("//a[@href]"):
            assert re.match(r"https://|mailto:|tel:|%%COMPOSER_", a.get("href")), a.get("href")
        style = sum(len(s.text_content().encode()) for s in doc.xpath("//style"))
        assert style < 16 * 1024
        assert doc.xpath("//title")[0].text_content() == edition.subject
        assert edition.preheader and edition.preheader in doc.text_content()


def test_full_edition_of_the_largest_issue_is_under_60_kb(largest: Rendered) -> None:
    size = len(largest.full.html.encode())
    assert size < 60 * 1024, f"issue {largest.number}: {size} bytes"
    assert max(len(e.html.encode()) for e in largest.editions) == size


def test_text_part_carries_every_link_of_the_html(largest: Rendered) -> None:
    for edition in largest.editions:
        doc = parse(edition.html)
        for a in doc.xpath("//a[@href]"):
            href = a.get("href")
            if href.startswith("tel:"):
                assert href.removeprefix("tel:") in edition.text.replace(" ", ""), (edition.name, href)
            else:
                assert href.removeprefix("mailto:") in edition.text, (edition.name, href)


MARKUP = re.compile(r"</?[a-z][^>]*>|&(#x?[0-9a-f]+|[a-z]+);", re.I)


def test_text_is_wrapped_and_free_of_markup(largest: Rendered) -> None:
    assert all(MARKUP.search(leftover) for leftover in ("<b>", "</P>", "&amp;", "&#39;", "&#x27;", "&#X2F;"))
    for edition in largest.editions:
        for line in keep_sections(edition.text, edition.key or ()).splitlines():  # as its readers get it
            assert len(line) <= 78 or " " not in line.strip(), line
        assert not MARKUP.search(edition.text)
    text = largest.full.text
    assert "THIS WEEK" in text and "ACTION REQUIRED:" in text and "CONTACT DETAILS" in text
    assert re.search(r"^- \S", text, re.M) and re.search(r"^1\. \S", text, re.M)
    references = re.findall(r"^\[(\d+)\] (https?://\S+)$", text, re.M)
    assert [int(n) for n, _ in references] == list(range(1, len(references) + 1))
    for number, _ in references:  # after a word, or first on a wrapped line of a list
        assert re.search(rf"(\S |^ +)\[{number}\]", text, re.M)


def test_placeholders_survive_and_fill(largest: Rendered) -> None:
    values = {
        "greeting": "Dear Zoë,",
        "unsubscribe_url": "https://u.example/t?x=1",
        "networks": "SEND",
        "token": "t.k",
    }
    for edition in largest.editions:
        network_edition = bool(edition.key)
        for part in (edition.html, edition.text):
            assert PLACEHOLDERS["greeting"] in part and PLACEHOLDERS["unsubscribe_url"] in part
            assert (PLACEHOLDERS["networks"] in part) == network_edition
            filled = fill_placeholders(part, values)
            assert "%%COMPOSER_" not in filled and "Dear Zoë," in filled
        assert parse(edition.html).xpath(f"//a[@href='{PLACEHOLDERS['unsubscribe_url']}']")
    assert "full edition" in largest.full.text and "for programme staff" in flat(largest.full.text)
    # the text's network names go on lines of their own, wrapped as they are filled in
    edition = max(largest.editions[1:], key=lambda e: len(e.key or ()))
    names = [largest.project.networks[n].name for n in edition.key or ()]
    reader = reader_values(
        largest.project.settings, unsubscribe_url="https://u.example/", html=False, networks=names
    )
    filled = fill_placeholders(edition.text, reader)
    ordered = sorted(names)
    assert flat(f"member of: {', '.join(ordered[:-1])} and {ordered[-1]}") in flat(filled)
    assert all(len(line) <= 78 for line in reader["networks"].split("\n"))
    with pytest.raises(KeyError):
        fill_placeholders("x", {"nmae": "typo"})


def test_view_in_browser_points_at_the_archive_page(largest: Rendered) -> None:
    url = archive_page_url(largest.project.settings, largest.number)
    assert url == f"{str(largest.project.settings.archive_url).rstrip('/')}/{largest.number}/"
    assert parse(largest.full.html).xpath(f"//a[@href='{url}']") and url in largest.full.text
    custom = Renderer(largest.project, archive_page_url=lambda n: f"http://127.0.0.1:8000/issue/{n}/")
    edition = custom.edition(plan_for(largest.project, largest.number), FULL)
    assert f"http://127.0.0.1:8000/issue/{largest.number}/" in edition.html


def test_reminders_are_compact_and_link_to_the_archive(largest: Rendered) -> None:
    reminders = largest.full.selection.reminders
    assert any(r.updated for r in reminders) and any(not r.updated for r in reminders)
    doc = parse(largest.full.html)
    section = largest.full.text.split("REMINDERS FROM PREVIOUS WEEKS")[1].split("TOOLS & TEMPLATES")[0]
    for reminder in reminders:
        item = reminder.item
        (div,) = doc.xpath(f"//div[@id='item-{item.id}']")
        if reminder.updated:  # shown whole, badged: its new text is why it is there
            assert f"Updated in No {reminder.version_issue}" in div.text_content()
            assert flat(first_words(item.body)) in flat(div.text_content())
            assert f"[UPDATED IN NO {reminder.version_issue}]" in section
            continue
        # the link goes to its full text on this issue's archive page
        back = f"{archive_page_url(largest.project.settings, largest.number)}#item-{item.id}"
        (title,) = div.xpath(".//h3/a")
        assert title.get("href") == back and title.text_content() == item.title
        assert back in largest.full.text
        assert not div.xpath(".//table") and "Action required" not in div.text_content()
        lines = div.xpath("./p")
        assert 1 <= len(lines) <= 2 and not lines[-1].text_content().endswith("…")
        assert flat(item.title) in flat(section)


def first_words(markdown: str) -> str:
    """The first words of a Markdown text, before any markup."""
    return re.split(r"[*_\[]", markdown, maxsplit=1)[0][:60].rsplit(" ", 1)[0]


def test_in_this_issue_lists_exactly_the_new_items(largest: Rendered) -> None:
    settings = largest.project.settings
    for edition in largest.editions:
        doc = parse(edition.html)
        (heading,) = doc.xpath("//h2[text()='In this issue']")
        (listing,) = heading.xpath("following-sibling::ul[1]")
        links = [(a.text_content(), a.get("href")) for a in listing.xpath(".//a")]
        page = archive_page_url(settings, largest.number)
        assert links == [(item.title, f"{page}#item-{item.id}") for item in edition.selection.items]
        assert edition.selection.reminders  # worded without a count: one document serves every edition
        assert flat(listing.getnext().text_content()) == "Also below: reminders from previous weeks."
        listing_text = edition.text.split("IN THIS ISSUE")[1].split("THIS WEEK")[0]
        assert all(flat(i.title) in flat(listing_text) for i in edition.selection.items)


def test_headings_are_larger_than_network_labels(largest: Rendered) -> None:
    def size(element: lxml.html.HtmlElement) -> int:
        return int(re.search(r"font-size:(\d+)px", element.get("style"))[1])

    doc = parse(largest.full.html)
    labels = {size(p) for p in doc.xpath("//p[@class='l']")}
    sections = {size(h) for h in doc.xpath("//h2")}
    titles = {size(h) for h in doc.xpath("//h3")}
    assert labels and sections and titles
    assert min(sections) > max(titles) > max(labels) and min(titles) > max(labels)


def test_preheader_is_hidden_without_a_colour(largest: Rendered) -> None:
    for edition in largest.editions:
        (hidden,) = parse(edition.html).xpath("//body//div[contains(@style, 'display:none')]")
        style = hidden.get("style")
        assert "color" not in style and "mso-hide:all" in style and "max-height:0" in style
        assert hidden.text_content().startswith(edition.preheader)
        assert hidden.text_content()[len(edition.preheader) :].strip("\u200c\u00a0 ") == ""


def test_dark_mode_is_declared(largest: Rendered) -> None:
    doc = parse(largest.full.html)
    assert doc.xpath("//meta[@name='color-scheme']/@content") == ["light dark"]
    assert doc.xpath("//meta[@name='supported-color-schemes']/@content") == ["light dark"]
    assert "@media (prefers-color-scheme:dark)" in largest.full.html


ATTACK = '"><img src=x onerror=alert(1)> {{ 7*7 }} <script>alert(2)</script> {% if 1 %}if{% endif %}'


def test_injection_is_inert_in_html_and_literal_in_text(example: Path, write) -> None:  # type: ignore[no-untyped-def]
    quoted = ATTACK.replace("'", "''")
    write(
        "issues/378.yaml",
        f"""
        number: 378
        date: 2019-11-15
        subject: 'Update {{number}} {quoted}'
        items:
          - id: attack
            title: '{quoted}'
            body: |
              Body {ATTACK}

              [bad](javascript:alert(3)) and <a href="https://evil.example/">raw link</a>
            action: |
              Act {ATTACK}
        """,
    )
    project = load_project(example)
    edition = Renderer(project).edition(plan_for(project, 378), FULL)
    doc = parse(edition.html)
    assert not doc.xpath("//script")
    assert not doc.xpath("//*[@onerror]") and not doc.xpath("//img[@src='x']")
    assert not doc.xpath("//a[starts-with(@href, 'javascript')]")
    assert not doc.xpath("//a[@href='https://evil.example/']")
    (title,) = doc.xpath("//div[@id='item-attack']/h3")
    attack = ATTACK
    assert title.text_content() == attack
    body = doc.xpath("//div[@id='item-attack']")[0].text_content()
    assert "Body " + attack in body and "Act " + attack in body and "49" not in body
    assert doc.xpath("//title")[0].text_content() == f"Update 378 {attack}"
    text = edition.text
    assert flat(f"Body {attack}") in flat(text) and flat(f"Act {attack}") in flat(text)
    assert flat(attack) in flat(text) and "[bad](javascript:alert(3))" in text
    assert '<a href="https://evil.example/">raw link</a>' in flat(text)


def test_build_opens_no_socket(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from composer.email.build import build_issue

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access: {args}")

    project = load_project(example)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    result = build_issue(project, None, out=example / "out")
    assert result.editions and not result.report.errors
    css = "@import url('http://127.0.0.1:9/x.css'); @import 'https://fonts.example/y.css'; .c p{color:red}"
    html = (
        "<html><head><style>@import url(http://127.0.0.1:9/z.css);</style></head>"
        "<body class='c'><p>x</p></body></html>"
    )
    assert 'style="color:red"' in inline_css(html, css)


def test_a_broken_template_is_named_with_its_line(example: Path) -> None:
    (example / "templates" / "_item.mjml.j2").write_text("<div>\n{% if %}\n</div>\n", encoding="utf-8")
    project = load_project(example)
    with pytest.raises(ComposerError, match=r"templates/_item\.mjml\.j2:2"):
        Renderer(project).edition(plan_for(project, 374), FULL)
    (example / "templates" / "email.txt.j2").write_text('{% include "_nowhere.txt.j2" %}\n', encoding="utf-8")
    with pytest.raises(ComposerError, match=r"templates/_nowhere\.txt\.j2: no such template"):
        Renderer(project).text({})


def test_items_for_everyone_only_edition(project: Project) -> None:
    plan = plan_for(project, project.issues[-1].number)
    edition = Renderer(project).edition(plan, edition_key([]))
    assert edition.name == "everyone"
    assert [i.id for i in edition.selection.items] == [i.id for i in plan.issue.items if not i.networks]
    assert PLACEHOLDERS["networks"] not in edition.html and "contact of" in edition.text


def golden_cases() -> Iterator[tuple[int, str]]:
    first = issue_files(REPO)[0]
    yield int(first.stem), "full"


@pytest.mark.parametrize(("number", "name"), list(golden_cases()))
def test_plain_text_matches_the_golden_file(project: Project, number: int, name: str) -> None:
    """The plain text of the first example issue, as reviewed. COMPOSER_REGENERATE_GOLDEN=1 rewrites
    the file and fails, so that no run both writes the expected text and passes against it."""
    edition = Renderer(project).edition(plan_for(project, number), FULL)
    golden = GOLDEN / f"{number}-{name}.txt"
    if os.environ.get(REGENERATE):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(edition.text, encoding="utf-8")
        pytest.fail(f"{golden} rewritten: review `git diff {golden}`, then run again without {REGENERATE}")
    assert golden.exists(), f"no golden file: run with {REGENERATE}=1 and review {golden}"
    assert edition.text == golden.read_text(encoding="utf-8")


def test_navigation_works_with_images_off(largest: Rendered) -> None:
    settings = largest.project.settings
    assert settings.navigation
    for edition in largest.editions:
        doc = parse(edition.html)
        (nav,) = doc.xpath("//p[@class='nav']")
        assert [(a.text_content(), a.get("href")) for a in nav.xpath(".//a")] == [
            (link.label, str(link.url)) for link in settings.navigation
        ]
        (logo,) = doc.xpath("//img[@class='logo']")
        assert logo.get("alt") == settings.branding.logo.alt and re.search(r"color:#fff\b", logo.get("style"))
        assert "icon" not in doc.text_content()
        assert all(str(link.url) in edition.text for link in settings.navigation)


def tools_section(edition: Edition) -> tuple[str, str]:
    """The Tools & Templates section of both parts, as flat text."""
    page = parse(edition.html).text_content()
    html_part = page.split("Tools & Templates", 1)[1].split("Contact details", 1)[0]
    text_part = edition.text.split("TOOLS & TEMPLATES", 1)[1].split("CONTACT DETAILS", 1)[0]
    return flat(html_part), flat(text_part)


def test_tools_note_standing_or_the_issues_own(example: Path) -> None:
    project = load_project(example)
    standing = "All our tools and templates are on the SECIP website"
    own = "Every tool we have listed is kept on the SECIP website"
    renderer = Renderer(project)
    sections = {n: tools_section(renderer.edition(plan_for(project, n), FULL)) for n in (376, 377)}
    assert all(standing in part and own not in part for part in sections[376])
    assert all(own in part and standing not in part for part in sections[377])
    assert "https://secip.example.org/tools" in renderer.edition(plan_for(project, 377), FULL).html
    # an empty note in the issue: no note this week, the list alone
    issue = example / "issues" / "377.yaml"
    source = issue.read_text(encoding="utf-8")
    issue.write_text(re.sub(r"tools_note: \|\n(  .*\n)+", 'tools_note: ""\n', source), encoding="utf-8")
    project = load_project(example)
    assert not project.problems, project.problems
    html_part, text_part = tools_section(Renderer(project).edition(plan_for(project, 377), FULL))
    assert standing not in html_part + text_part and own not in html_part + text_part
    assert "Further education pathways" in html_part and "Further education pathways" in flat(text_part)


def test_greeting_from_first_name_or_the_fallback(example: Path) -> None:
    settings = example / "composer.yaml"
    text = settings.read_text(encoding="utf-8")
    start, end = text.index("greeting:"), text.index("plan:")
    settings.write_text(
        text[:start] + 'greeting: {text: "Hello {first_name} ({name}),", fallback: "Hello,"}\n' + text[end:],
        encoding="utf-8",
    )
    project = load_project(example)

    def greeting(html: bool, **reader: str) -> str:
        return reader_values(project.settings, html=html, unsubscribe_url="", **reader)["greeting"]

    assert greeting(False, name="Ann <Lee>", first_name="Ann & co") == "Hello Ann & co (Ann <Lee>),"
    assert greeting(True, name="Ann <Lee>", first_name="Ann & co") == "Hello Ann &amp; co (Ann &lt;Lee&gt;),"
    assert greeting(False, name="Ann Lee", first_name=" ") == "Hello,"  # a field it uses is empty
    assert greeting(False) == "Hello,"  # a reader nobody knows: the preview's editions, the archive

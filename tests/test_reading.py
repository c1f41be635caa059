"""What a reader meets first and how it reads: their own news first, the diary, the reminders' details."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest
from conftest import copy_example

from composer.commands.archive import archive
from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.content.project import Project
from composer.email.check import edition_keys
from composer.email.editions import FULL, select
from composer.email.render import Renderer, render_editions
from composer.email.templatecontext import default_preheader
from composer.lists.recipients import read_lists


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return load_project(copy_example(tmp_path_factory.mktemp("reading") / "project"))


def test_the_readers_own_items_come_first_in_every_network_edition(project: Project) -> None:
    keys = edition_keys(project, read_lists(project))
    seen_reordered = False
    for sourced in project.issues:
        plan = plan_for(project, sourced.number)
        for key in keys:
            selection = select(plan, key)
            own = [item for item in selection.items if not item.for_everyone]
            if key is FULL:
                assert list(selection.items) == list(plan.items), "the full edition keeps the file's order"
                continue
            assert list(selection.items[: len(own)]) == own, (sourced.number, selection.name)
            in_file_order = [item for item in plan.items if item in selection.items]
            seen_reordered |= list(selection.items) != in_file_order
    assert seen_reordered, "the example has an edition whose own items the file lists after others"


def test_in_this_issue_and_the_preheader_follow_the_editions_order(project: Project) -> None:
    plan = plan_for(project, 377)
    editions = render_editions(project, plan, edition_keys(project, read_lists(project)))
    (lead,) = [e for e in editions if e.name == "lead-members"]
    assert lead.selection.items[0].id == "lead-members-autumn-briefing"
    toc = lxml.html.fromstring(lead.html).xpath("//ul[@class='toc']/li")
    assert [li.text_content() for li in toc] == [item.title for item in lead.selection.items]
    assert lead.preheader.startswith("This week: Lead Members Group – autumn briefing")
    assert lead.preheader == default_preheader(lead.selection.view)


def test_items_order_file_keeps_the_issue_files_order(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "project")
    settings = root / "composer.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + "items_order: file\n", encoding="utf-8")
    project = load_project(root)
    plan = plan_for(project, 377)
    selection = select(plan, frozenset({"lead-members"}))
    assert [i.id for i in selection.items] == [i.id for i in plan.items if i in selection.items]
    assert selection.items[-1].id == "lead-members-autumn-briefing"
    assert "lead-members-autumn-briefing" in Renderer(project).edition(plan, selection.key).html


def test_labelled_sessions_in_the_when_line_the_diary_the_calendar_and_contact_details(
    project: Project, tmp_path: Path
) -> None:
    meeting = "Quality Assurance Network meeting"
    new = Renderer(project).edition(plan_for(project, 375), frozenset({"send"}))
    (div,) = lxml.html.fromstring(new.html).xpath("//div[@id='item-network-meetings-autumn']")
    when = " ".join(div.xpath(".//p[strong='When:']")[0].text_content().split())
    assert f"{meeting} – Monday 4 November 2019, 14:00–16:00 (contact: Ruth Adeyemi)" in when
    assert "SEND Network meeting – Wednesday 6 November 2019, 13:30–15:30, Shaw House" in when
    assert f"When: {meeting} – Monday 4 November 2019, 14:00–16:00" in new.text
    cards = [p.text_content() for p in lxml.html.fromstring(new.html).xpath("//p[@class='k']")]
    assert any("Priya Raman" in card for card in cards), "a session's contact is in Contact Details"
    reminded = Renderer(project).edition(plan_for(project, 376), frozenset({"quality-assurance"}))
    rows = [
        " ".join(row.text_content().split())
        for row in lxml.html.fromstring(reminded.html).xpath("//table[@class='dt']//tr")
    ]
    assert f"Mon 4 November 2019, 14:00–16:00 – {meeting}Add to calendar" in rows
    assert f"- Mon 4 November 2019, 14:00–16:00 – {meeting}" in reminded.text
    archive(project.root, out=tmp_path / "site")
    ics = (tmp_path / "site" / "375" / "network-meetings-autumn.ics").read_text(encoding="utf-8")
    assert f"SUMMARY:{meeting}" in ics and "SUMMARY:SEND Network meeting" in ics


def test_no_diary_line_says_its_date_twice(project: Project) -> None:
    keys = edition_keys(project, read_lists(project))
    lines = 0
    for sourced in project.issues:
        for edition in render_editions(project, plan_for(project, sourced.number), keys):
            for row in lxml.html.fromstring(edition.html).xpath("//table[@class='dt']//tr"):
                text = row.xpath(".//a")[0].text_content()
                days = re.findall(
                    r"\b(\d{1,2}) (January|February|March|April|May|June|July|August|"
                    r"September|October|November|December)\b",
                    text,
                )
                assert len(days) == len(set(days)) >= 1, text
                assert len(row.xpath(".//a")) == 2, "one link to the item, one to its calendar file"
                lines += 1
    assert lines


def test_a_tool_with_two_links_and_one_with_a_closing_date(project: Project) -> None:
    edition = Renderer(project).edition(plan_for(project, 374), FULL)
    doc = lxml.html.fromstring(edition.html)
    (entry,) = [li for li in doc.xpath("//ul[@class='tt']/li") if "Digital capabilities" in li.text_content()]
    assert [a.text_content() for a in entry.xpath(".//a")] == ["Guide", "Self-assessment"]
    (carried,) = [li for li in doc.xpath("//ul[@class='tt']/li") if "workforce census" in li.text_content()]
    assert "(closes 31 October 2019)" in carried.text_content()
    text = " ".join(edition.text.split())
    assert "14 October 2019: Guide [" in text and "], Self-assessment [" in text
    assert "(closes 31 October 2019)" in text


def style_colour(element: lxml.html.HtmlElement) -> str:
    """The inlined text colour, as #rrggbb (premailer writes #222222 as #222)."""
    found = re.findall(r"(?:^|[;\s])color:\s*(#[0-9a-f]{3,6})", element.get("style") or "")
    colour = found[-1]
    return colour if len(colour) == 7 else "#" + "".join(c * 2 for c in colour[1:])


def test_titles_are_headings_and_action_required_has_its_own_colour(project: Project) -> None:
    from composer.email.brandingchecks import ACTION_BACKGROUND
    from composer.email.colours import CONTRAST_MIN, contrast

    branding = project.settings.branding
    doc = lxml.html.fromstring(Renderer(project).edition(plan_for(project, 377), FULL).html)
    titles = doc.xpath("//div[starts-with(@id, 'item-')]/h3[not(a)]")
    assert titles and {style_colour(h) for h in titles} == {branding.text_colour}
    assert doc.xpath("//h3/a"), "a compact reminder's title is a link, coloured as links are"
    actions = {style_colour(p) for p in doc.xpath("//p[@class='ah']")}
    labels = {style_colour(p) for p in doc.xpath("//p[@class='l']")}
    assert actions == {branding.action_colour} and not actions & labels
    assert contrast(branding.action_colour, ACTION_BACKGROUND) >= CONTRAST_MIN


def test_a_reminder_with_no_date_and_no_network_says_which_update_it_is_from(project: Project) -> None:
    plan = plan_for(project, 377)
    edition = Renderer(project).edition(plan, FULL)
    doc = lxml.html.fromstring(edition.html)
    bare = [r for r in plan.reminders if not r.updated and not r.next_date and not r.item.networks]
    assert bare
    for reminder in bare:
        (div,) = doc.xpath(f"//div[@id='item-{reminder.item.id}']")
        assert div.xpath("./p[@class='r']")[0].text_content() == f"From Update No {reminder.first_issue}"
        assert f"  From Update No {reminder.first_issue}" in edition.text


def test_the_hero_is_on_the_archive_page_not_in_the_email(project: Project, tmp_path: Path) -> None:
    hero = project.settings.branding.hero
    assert hero is not None
    keys = edition_keys(project, read_lists(project))
    for edition in render_editions(project, plan_for(project, 377), keys):
        assert str(hero.url) not in edition.html
    archive(project.root, out=tmp_path / "site")
    assert str(hero.url) in (tmp_path / "site" / "377" / "index.html").read_text(encoding="utf-8")
    settings = project.settings.model_copy(
        update={"branding": project.settings.branding.model_copy(update={"hero_in_email": True})}
    )
    shown = Project.__new__(Project)
    shown.__dict__.update({**project.__dict__, "settings": settings})
    assert str(hero.url) in Renderer(shown).edition(plan_for(shown, 377), FULL).html


def test_an_event_appears_at_most_twice_in_an_edition(project: Project) -> None:
    """In its item or reminder, and at most once per session in the diary, which leaves out what
    this week's text (its items, the reminders it updates) shows whole just above or below."""
    keys = edition_keys(project, read_lists(project))
    for sourced in project.issues:
        for edition in render_editions(project, plan_for(project, sourced.number), keys):
            doc = lxml.html.fromstring(edition.html)
            whole = {item.id for item in edition.selection.items}
            whole |= {r.item.id for r in edition.selection.reminders if r.updated}
            rows = [
                (row.xpath(".//a/@href")[0].rsplit("#item-", 1)[1], row.xpath(".//a")[0].text_content())
                for row in doc.xpath("//table[@class='dt']//tr")
            ]
            assert len(rows) == len(set(rows)), edition.name
            assert not whole & {item_id for item_id, _ in rows}, edition.name
            for item_id in whole | {r.item.id for r in edition.selection.reminders}:
                assert len(doc.xpath(f"//div[@id='item-{item_id}']")) == 1

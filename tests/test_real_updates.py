"""The example's latest issue (377) uses every feature of real Updates: each is checked where a
reader or an editor sees it: the HTML, the text part, the `check --json` plan and the .ics files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import lxml.html
import pytest
import yaml
from conftest import Cli, copy_example

from composer.commands.archive import archive
from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.email.editions import FULL
from composer.email.render import Edition, Renderer

LONDON = ZoneInfo("Europe/London")
NUMBER = 377


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("real") / "project")


@pytest.fixture(scope="module")
def full(project_dir: Path) -> Edition:
    project = load_project(project_dir)
    return Renderer(project).edition(plan_for(project, NUMBER), FULL)


@pytest.fixture(scope="module")
def plan(project_dir: Path, run_cli: Cli) -> dict:  # type: ignore[type-arg]
    result = run_cli(project_dir, "check", str(NUMBER), "--json", "--strict")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["plan"]


def item_div(full: Edition, item_id: str) -> lxml.html.HtmlElement:
    (div,) = lxml.html.fromstring(full.html).xpath(f"//div[@id='item-{item_id}']")
    return div


def text_block(full: Edition, title_start: str) -> str:
    """An item's block of the text part: from its underlined title to the next item's title."""
    start = full.text.index("\n" + title_start) + 1
    end = full.text.find("\n-----", full.text.index("\n-----", start) + 1)
    return full.text[start : end if end > 0 else None]


def reminder_block(full: Edition, title_start: str) -> str:
    """A compact reminder of the text part: its title line and the indented lines under it."""
    start = full.text.index("\n* " + title_start) + 1
    lines = full.text[start:].splitlines()
    block = [lines[0]]
    for line in lines[1:]:
        if not line.startswith("  "):
            break
        block.append(line)
    return "\n".join(block)


def test_two_session_event_with_times(full: Edition) -> None:
    # an updated reminder now, so shown whole: its "When" line with both sessions
    div = " ".join(item_div(full, "complex-lac-hold-the-date").text_content().split())
    assert "Friday 17 January 2020, 09:30–13:30 and 14:00–17:00" in div
    assert "When: Friday 17 January 2020, 09:30–13:30" in full.text
    three = " ".join(item_div(full, "asglb-data-workshops").text_content().split())
    assert "Wednesday 18 December 2019, 10:00–15:30; Friday 31 January 2020, 10:00–15:30; Friday 14" in three


def test_past_booking_deadline_is_hidden_but_the_event_stays(full: Edition, plan: dict) -> None:  # type: ignore[type-arg]
    (reminder,) = [r for r in plan["reminders"] if r["id"] == "ad-education-next-meeting"]
    assert reminder["deadline"] is None
    assert reminder["sessions"] == [{"date": "2019-12-13", "time": "10:30–13:30"}]
    div = " ".join(item_div(full, "ad-education-next-meeting").text_content().split())
    assert "Friday 13 December 2019, 10:30–13:30" in div and "Deadline" not in div
    block = reminder_block(full, "AD Education Network – next meeting Friday 13 December")
    assert "Friday 13 December 2019, 10:30–13:30" in block and "Deadline" not in block
    (conference,) = [r for r in plan["reminders"] if r["id"] == "send-conference-december"]
    assert conference["deadline"] == "2019-11-22", "a deadline still to come shows"
    assert "Deadline Friday 22 November 2019" in reminder_block(full, "South East SEND conference")


def test_updated_reminder_stays_under_reminders_marked_updated(full: Edition, plan: dict) -> None:  # type: ignore[type-arg]
    (reminder,) = [r for r in plan["reminders"] if r["id"] == "complex-lac-hold-the-date"]
    assert reminder["updated"] is True
    assert (reminder["first_issue"], reminder["version_issue"]) == (376, 377)
    assert "complex-lac-hold-the-date" not in plan["items"]
    doc = lxml.html.fromstring(full.html)
    (div,) = doc.xpath("//div[@id='item-complex-lac-hold-the-date']")
    (reminders_heading,) = doc.xpath("//h2[normalize-space()='Reminders from previous weeks']")
    order = list(doc.iter())
    assert order.index(div) > order.index(reminders_heading), "shown after the Reminders heading"
    (badge,) = div.xpath(".//*[@class='u']")
    assert badge.text_content() == "Updated in No 377"
    text = " ".join(div.text_content().split())
    assert "opposite Euston station" in text, "shown whole: its new text is why it is there"
    assert not div.xpath(".//h3/a")
    reminders = full.text[full.text.index("REMINDERS FROM PREVIOUS WEEKS") :]
    assert "[UPDATED IN NO 377]\nComplex LAC project" in reminders
    this_week = full.text[full.text.index("THIS WEEK") : full.text.index("DATES FOR YOUR DIARY")]
    assert "venue confirmed" not in this_week


def test_check_shows_why_each_reminder_is_there(project_dir: Path, run_cli: Cli) -> None:
    result = run_cli(project_dir, "check", str(NUMBER))
    assert result.returncode == 0, result.stderr
    assert "from issue 376, updated in No 377" in result.stdout
    assert "kinship-advice-line" in result.stdout and "until an issue drops it" in result.stdout


def test_open_notice_stays_until_dropped(plan: dict) -> None:  # type: ignore[type-arg]
    (reminder,) = [r for r in plan["reminders"] if r["id"] == "kinship-advice-line"]
    assert (reminder["basis"], reminder["until"]) == ("open", None)


def test_reminders_are_ordered_by_next_date(plan: dict) -> None:  # type: ignore[type-arg]
    dates = [r["next_date"] for r in plan["reminders"]]
    dated = [d for d in dates if d]
    assert dated and dates[: len(dated)] == sorted(dated) and not any(dates[len(dated) :])


def test_dates_for_your_diary(full: Edition) -> None:
    doc = lxml.html.fromstring(full.html)
    (heading,) = doc.xpath("//h2[@id='diary']")
    rows = heading.getnext().xpath(".//tr")
    lines = [" ".join(row.xpath(".//a")[0].text_content().split()) for row in rows]
    # the reminders' sessions only: this week's items (and the reminder this week updates) show
    # their own "When" line and calendar link just above
    assert not any("Education Data sub-group" in line or "ASGLB" in line for line in lines)
    assert not any("Complex LAC" in line for line in lines)
    assert lines[0] == "09:30–16:00: South East SEND conference, 5–6 December – booking open"
    assert "10:30–13:30: AD Education Network – next meeting Friday 13 December" in lines[1]
    links = [row.xpath(".//a/@href") for row in rows]
    assert links[1] == [
        "https://updates.secip.example.org/377/#item-ad-education-next-meeting",
        "https://updates.secip.example.org/375/ad-education-next-meeting.ics",
    ]
    diary = full.text[full.text.index("DATES FOR YOUR DIARY") : full.text.index("REMINDERS FROM")]
    assert "- 09:30–16:00: South East SEND conference, 5–6 December – booking open" in diary
    assert diary.index("5–6 December") < diary.index("Friday 13 December")


def test_contact_details_list_cited_and_standing_contacts_only(project_dir: Path, full: Edition) -> None:
    project = load_project(project_dir)
    doc = lxml.html.fromstring(full.html)
    by_name = {contact.name: contact_id for contact_id, contact in project.contacts.items()}
    cards = {by_name[p.xpath(".//strong")[0].text_content()]: p for p in doc.xpath("//p[@class='k']")}
    listed = list(cards)
    plan = plan_for(project, NUMBER)
    cited = [c for item in [*plan.items, *(r.item for r in plan.reminders)] for c in item.contacts]
    assert listed == list(dict.fromkeys([*cited, "amira-khan"]))
    assert "kinship-advice-line" in listed, "a phone-only contact"
    card = cards["kinship-advice-line"]
    assert "07700\u00a0900112" in card.text_content() and "mailto:" not in lxml.html.tostring(card).decode()
    assert "Kinship Care Advice Line" in full.text and "07700 900112" in full.text


def test_calendar_files_have_one_vevent_per_session(project_dir: Path, tmp_path: Path) -> None:
    result = archive(project_dir, out=tmp_path / "site")
    path = tmp_path / "site" / "377" / "complex-lac-hold-the-date.ics"
    assert path in result.calendars
    data = path.read_bytes()
    events = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert [(e.decoded("dtstart"), e.decoded("dtend")) for e in events] == [
        (dt.datetime(2020, 1, 17, 9, 30, tzinfo=LONDON), dt.datetime(2020, 1, 17, 13, 30, tzinfo=LONDON)),
        (dt.datetime(2020, 1, 17, 14, 0, tzinfo=LONDON), dt.datetime(2020, 1, 17, 17, 0, tzinfo=LONDON)),
    ]
    assert b"DTSTART;TZID=Europe/London:20200117T093000" in data
    page = " ".join((tmp_path / "site" / "377" / "index.html").read_text().split())
    assert "Deadline" not in page.split('id="item-ad-education-next-meeting"')[1].split("</div>")[0]
    assert ">Updated in No 377<" in page


def edit(path: Path, change: dict[str, object]) -> None:
    data = yaml.safe_load(path.read_text())
    data.update(change)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def test_update_of_an_unknown_id_is_an_error_at_its_line(tmp_path: Path, run_cli: Cli) -> None:
    project = copy_example(tmp_path / "project")
    path = project / "issues" / "377.yaml"
    path.write_text(
        path.read_text().replace("- id: complex-lac-hold-the-date", "- id: complex-lac-hold-the-dat")
    )
    result = run_cli(project, "check", "377")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "update: true" in text)
    assert f"issues/377.yaml:{line}: items[complex-lac-hold-the-dat].update: no earlier item" in result.stderr


def test_an_old_open_notice_is_a_warning(tmp_path: Path, run_cli: Cli) -> None:
    project = copy_example(tmp_path / "project")
    settings = project / "composer.yaml"
    settings.write_text(
        settings.read_text().replace("  default_weeks: 3", "  default_weeks: 3\n  open_warn_weeks: 1")
    )
    (project / "issues" / "378.yaml").write_text("number: 378\ndate: 2019-11-15\npreheader: Nothing new\n")
    result = run_cli(project, "check", "378", "--strict")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = next(
        n
        for n, text in enumerate((project / "issues" / "376.yaml").read_text().splitlines(), 1)
        if "remind: open" in text
    )
    assert f"issues/376.yaml:{line}: warning: items[kinship-advice-line].remind" in result.stderr
    assert "open notice shown since 2019-11-01" in result.stderr


def test_contacts_need_an_email_or_a_phone_and_a_citation(tmp_path: Path, run_cli: Cli) -> None:
    project = copy_example(tmp_path / "project")
    contacts = project / "contacts.yaml"
    contacts.write_text(
        contacts.read_text() + "\n- id: nobody-cites\n  name: N\n  role: R\n  organisation: O\n  phone: '1'\n"
    )
    result = run_cli(project, "check", "--strict")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        "contacts.yaml:" in result.stderr
        and "no item or network cites contact 'nobody-cites'" in result.stderr
    )
    contacts.write_text(contacts.read_text().replace("  phone: '1'\n", ""))
    result = run_cli(project, "check")
    assert result.returncode == 1 and "give an email or a phone number" in result.stderr

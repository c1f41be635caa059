"""`composer archive`: static pages per issue and an index, links that work, a .ics per event."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import icalendar
import pytest
from click.testing import CliRunner
from conftest import Cli

from composer.cli import main
from composer.commands.archive import archive
from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.email.editions import select
from composer.email.placeholders import PLACEHOLDERS
from composer.errors import ValidationFailed

pytestmark = pytest.mark.slow  # every edition's page of every issue


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value for name, value in attrs if name == "href" and value]
        self.ids.update(value for name, value in attrs if name == "id" and value)


def parse(page: Path) -> Links:
    parser = Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def hrefs(page: Path) -> list[str]:
    return parse(page).hrefs


def assert_leads_somewhere(page: Path, href: str) -> None:
    """A relative link names an existing file and, if it has a #fragment, an id in that file."""
    path, _, fragment = href.partition("#")
    target = (page.parent / path).resolve() if path else page
    assert target.is_file(), f"{page}: {href} leads nowhere"
    if fragment and target.suffix == ".html":
        assert fragment in parse(target).ids, f"{page}: {href} names no element of {target}"


def local(href: str) -> bool:
    return not urlsplit(href).scheme and not href.startswith("#")


def test_index_and_one_page_per_issue_with_working_links(example: Path, tmp_path: Path) -> None:
    project = load_project(example)
    result = archive(example, out=tmp_path / "site")
    site = result.out
    numbers = [s.number for s in project.issues]
    pages = {p.relative_to(site).as_posix() for p in result.pages}
    assert {"index.html", *(f"{n}/index.html" for n in numbers)} <= pages
    lead = select(plan_for(project, numbers[-1]), frozenset({"lead-members"}))
    assert f"{numbers[-1]}/{lead.page}" in pages  # a page per edition, where its readers' link goes
    index_links = [h for h in hrefs(site / "index.html") if local(h)]
    assert index_links == [f"{n}/index.html" for n in reversed(numbers)]
    for page in result.pages:
        text = page.read_text(encoding="utf-8")
        assert not any(token in text for token in PLACEHOLDERS.values())
        for href in filter(local, hrefs(page)):
            assert_leads_somewhere(page, href)
    settings_url = str(project.settings.archive_url).rstrip("/")
    for number in numbers:
        page = site / str(number) / "index.html"
        assert "../index.html" in hrefs(page)
        assert not any(href.startswith(f"{settings_url}/{n}/") for n in numbers for href in hrefs(page))
    first, last = (site / str(n) / "index.html" for n in (numbers[0], numbers[-1]))
    assert f"../{numbers[1]}/index.html" in hrefs(first) and f"../{numbers[-2]}/index.html" in hrefs(last)


def test_every_event_gets_an_ics_with_title_date_and_place(example: Path, tmp_path: Path) -> None:
    project = load_project(example)
    result = archive(example, out=tmp_path / "site")
    expected = {
        (s.number, item.id): item for s in project.issues for item in s.issue.items if item.event is not None
    }
    found = {(int(p.parent.name), p.stem): p for p in result.calendars}
    assert found.keys() == expected.keys() and expected
    for key, item in expected.items():
        assert item.event is not None
        events = icalendar.Calendar.from_ical(found[key].read_bytes()).walk("VEVENT")
        assert len(events) == len(item.event.sessions), "one VEVENT per session"
        for event, session in zip(events, item.event.sessions, strict=True):
            assert str(event["summary"]) == (session.label or item.title)  # a meeting's own name
            start = event.decoded("dtstart")
            assert (start.date() if hasattr(start, "date") else start) == session.date
            assert str(event["location"]) == (session.place or item.event.place)


def test_every_add_to_calendar_link_has_its_file(example: Path, tmp_path: Path) -> None:
    result = archive(example, out=tmp_path / "site")
    calendar_links = [(page, href) for page in result.pages for href in hrefs(page) if href.endswith(".ics")]
    assert calendar_links
    for page, href in calendar_links:
        assert (page.parent / href).resolve() in {p.resolve() for p in result.calendars}


def test_rebuilding_changes_nothing(example: Path, tmp_path: Path) -> None:
    first = archive(example, out=tmp_path / "one")
    second = archive(example, out=tmp_path / "two")
    for path in first.pages + first.calendars:
        twin = second.out / path.relative_to(first.out)
        assert path.read_bytes() == twin.read_bytes(), path


def test_broken_issue_writes_nothing(example: Path, tmp_path: Path) -> None:
    issue = sorted((example / "issues").glob("*.yaml"))[0]
    issue.write_text(issue.read_text(encoding="utf-8").replace("title:", "titel:", 1), encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        archive(example, out=tmp_path / "site")
    assert any(p.file == f"issues/{issue.name}" and p.line for p in caught.value.problems)
    assert not (tmp_path / "site").exists()


def test_cli(example: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(main, ["archive", "--project", str(example), "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    issues = len(load_project(example).issues)
    pages = len(list((tmp_path / "out").glob("*/*.html"))) + 1
    assert pages > issues + 1 and f"{pages} page(s)" in done.output
    assert (tmp_path / "out" / "index.html").is_file()
    assert runner.invoke(main, ["archive", "--project", str(example)]).exit_code == 0
    assert (example / "site" / "index.html").is_file()  # the default folder is the project's site/


def test_cli_broken_settings_is_a_message_not_a_traceback(example: Path, run_cli: Cli) -> None:
    (example / "contacts.yaml").write_text("- id: x\n  name: [\n", encoding="utf-8")
    broken = run_cli(example, "archive")
    assert broken.returncode == 1 and "contacts.yaml:" in broken.stderr and "Traceback" not in broken.stderr
    assert not (example / "site").exists()


def test_a_second_run_writes_only_what_changed(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    first = archive(example, out=out)
    assert set(first.rendered) == set(first.pages[1:] + first.calendars)
    assert archive(example, out=out).rendered == []
    latest = load_project(example).issues[-1]
    previous = load_project(example).issues[-2]
    latest.path.write_text(
        latest.path.read_text(encoding="utf-8").replace("title: ", "title: Changed ", 1), encoding="utf-8"
    )
    (out / str(previous.number) / "index.html").unlink()
    changed = archive(example, out=out)
    pages = {path.parent.name for path in changed.rendered if path.name == "index.html"}
    assert pages == {str(latest.number), str(previous.number)}  # the edited one, the deleted one
    assert "Changed " in (out / str(latest.number) / "index.html").read_text(encoding="utf-8")
    fresh = archive(example, out=tmp_path / "fresh")
    for path in fresh.pages + fresh.calendars:
        assert path.read_bytes() == (out / path.relative_to(fresh.out)).read_bytes(), path


def test_a_template_change_renders_every_page_again(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    first = archive(example, out=out)
    template = example / "templates" / "email.css.j2"
    css = template.read_text(encoding="utf-8")
    template.write_text(css + "\n.extra { color: #000000; }\n", encoding="utf-8")
    again = archive(example, out=out)
    assert {p for p in again.rendered if p.suffix == ".html"} == set(first.pages[1:])
    assert not any(p.suffix == ".ics" for p in again.rendered)  # calendars do not use the templates

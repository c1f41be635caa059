"""The pre-send email checks that `composer check` runs on every edition."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner
from conftest import REPO

from composer.cli import main
from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.delivery.messages import encode_edition
from composer.email.brandingchecks import ACTION_BACKGROUND, FOOTER_TEXT
from composer.email.check import check_issue
from composer.email.colours import contrast
from composer.email.emailchecks import HTML_LIMIT, HTML_WARNING, check_editions
from composer.email.placeholders import PLACEHOLDERS
from composer.email.render import Renderer
from composer.errors import SendingError

NEXT = """\
number: 378
date: 2019-11-15
subject: "{programme} No {number}: {numbr}"
preheader: "%s"
items:
  - id: links
    title: Links of every kind
    networks: [send]
    body: |
      An [old site](http://old.example/page), a [relative one](/local/page) and a picture:

      ![](https://img.example/chart.png)

      Dear {{ name }}, hello.
    action: Reply to [us](mailto:someone@secip.example.org).
"""


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def messages(problems: list) -> list[tuple[str, str, int | None, str]]:  # type: ignore[type-arg]
    return [(p.severity, p.field, p.line, p.message) for p in problems]


def test_content_problems_point_at_the_item_line(example: Path) -> None:
    path = example / "issues" / "378.yaml"
    path.write_text(NEXT % ("x" * 200), encoding="utf-8")
    report = check_issue(load_project(example), "378")
    found = messages(report.problems)
    body = line_of(path, "body: |")
    assert (
        "warning",
        "items[links].body",
        body,
        "link http://old.example/page is not https: use https:// if the site supports it",
    ) in found
    assert any(
        s == "error" and f == "items[links].body" and line == body and "/local/page is not an absolute" in m
        for s, f, line, m in found
    )
    assert any(s == "error" and "chart.png has no alt text" in m and line == body for s, _, line, m in found)
    preheader = line_of(path, "preheader:")
    assert any(
        s == "warning" and f == "preheader" and line == preheader and "200 characters" in m
        for s, f, line, m in found
    )
    assert any(s == "warning" and f == "subject" and "{numbr}" in m for s, f, _, m in found)
    assert any(s == "warning" and "{{ name }} is shown literally" in m for s, _, _, m in found)
    # each problem once, although the item is in several editions
    assert len(found) == len(set(found))
    assert all(p.file == "issues/378.yaml" for p in report.problems)

    result = CliRunner().invoke(main, ["check", "378", "--project", str(example)])
    assert result.exit_code == 1
    assert f"issues/378.yaml:{body}: items[links].body: link /local/page" in result.output


def big_issue(example: Path, body_bytes: int) -> None:
    paragraph = "Words of a long report that somebody pasted in whole. " * 8
    body = "\n\n".join([paragraph] * (body_bytes // len(paragraph) + 1))
    indented = "\n".join("      " + line for line in body.splitlines())
    (example / "issues" / "378.yaml").write_text(
        f"number: 378\ndate: 2019-11-15\nitems:\n  - id: long\n    title: Long\n    networks: [send]\n"
        f"    action: Read it.\n    body: |\n{indented}\n",
        encoding="utf-8",
    )


def full_size(example: Path) -> int:
    project = load_project(example)
    return len(Renderer(project).edition(plan_for(project, 378), None).html.encode())


@pytest.mark.parametrize(
    ("target", "severity"), [(HTML_WARNING + 8 * 1024, "warning"), (HTML_LIMIT + 4 * 1024, "error")]
)
def test_size_against_gmail_clipping(example: Path, target: int, severity: str) -> None:
    big_issue(example, 0)
    base = full_size(example)
    big_issue(example, target - base)
    assert HTML_WARNING < full_size(example) if severity == "warning" else full_size(example) >= HTML_LIMIT
    report = check_issue(load_project(example), "378")
    sized = {p.field: p.severity for p in report.problems if "Gmail clips" in p.message}
    assert sized["edition full"] == severity and "every edition" not in sized
    # the long item is for one network: only its editions grow
    grown = {e.name for e in report.editions if len(e.html.encode()) > HTML_WARNING}
    assert all("send" in name.split("+") for name in grown - {"full"})


def test_style_block_over_16_kb_and_unknown_placeholder(example: Path) -> None:
    template = example / "templates" / "email.mjml.j2"
    rules = "".join(f".unused-rule-{n} a:hover{{color:#123456}}\n" for n in range(600))
    source = template.read_text(encoding="utf-8")
    source = source.replace("</mj-head>", f"<mj-style>{rules}</mj-style>\n</mj-head>")
    source = source.replace("{{ placeholders.greeting }}", "Dear %%COMPOSER_FIRSTNAME%%")
    template.write_text(source, encoding="utf-8")
    project = load_project(example)
    plan = plan_for(project, 374)
    edition = Renderer(project).edition(plan, None)
    found = check_editions([edition], project=project, sourced=project.find("374"), plan=plan)
    assert any("<style> blocks hold" in p.message and p.severity == "error" for p in found)
    assert any("unknown placeholder %%COMPOSER_FIRSTNAME%% in the HTML part" in p.message for p in found)
    assert PLACEHOLDERS["greeting"] not in edition.html


def test_pale_branding_colours_are_flagged(example: Path) -> None:
    settings = example / "composer.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(
        text.replace('accent_colour: "#c8102e"', 'accent_colour: "#ff9999"'), encoding="utf-8"
    )
    report = check_issue(load_project(example), "374")
    (problem,) = report.problems
    assert (problem.file, problem.field, problem.severity) == (
        "composer.yaml",
        "branding.accent_colour",
        "warning",
    )
    assert "#ff9999 on #ffffff has a contrast of 2.0:1" in problem.message
    lines = settings.read_text(encoding="utf-8").splitlines()
    assert "accent_colour:" in lines[problem.line - 1]
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48 and contrast("#000000", "#ffffff") == 21


def test_tool_reminder_and_settings_links_are_located_once(example: Path) -> None:
    """A link written in an earlier issue or in composer.yaml is reported once, at its line."""
    earlier = example / "issues" / "376.yaml"
    text = earlier.read_text(encoding="utf-8")
    text = text.replace(
        "https://www.example.org/dfe/characteristics-of-children-in-need-2019", "http://tools.example/cin"
    )
    earlier.write_text(text, encoding="utf-8")
    settings = example / "composer.yaml"
    text = settings.read_text(encoding="utf-8").replace(
        "url: https://secip.example.org/plan", "url: http://secip.example.org/plan"
    )
    settings.write_text(text.replace("archive_url: https://", "archive_url: http://"), encoding="utf-8")
    report = check_issue(load_project(example), "377")
    assert len(report.editions) > 3
    archive = [p for p in report.problems if "http://updates.secip.example.org/" in p.message]
    assert [(p.file, p.line, p.field) for p in archive] == [
        ("composer.yaml", line_of(settings, "archive_url:"), "archive_url")
    ]
    tool = [p for p in report.problems if "http://tools.example/cin" in p.message]
    assert [(p.file, p.line, p.field, p.severity) for p in tool] == [
        ("issues/376.yaml", line_of(earlier, "http://tools.example/cin"), "tools[0].url", "warning")
    ]
    plan = [p for p in report.problems if "http://secip.example.org/plan" in p.message]
    assert [(p.file, p.line, p.field) for p in plan] == [
        ("composer.yaml", line_of(settings, "http://secip.example.org/plan"), "plan.url")
    ]


def test_problems_of_many_editions_are_reported_once(example: Path) -> None:
    template = example / "templates" / "email.mjml.j2"
    source = template.read_text(encoding="utf-8")
    template.write_text(source.replace("{{ placeholders.greeting }}", "Dear %%COMPOSER_FIRSTNAME%%"))
    report = check_issue(load_project(example), "374")
    assert len(report.editions) > 3
    (unknown,) = [p for p in report.problems if "%%COMPOSER_FIRSTNAME%%" in p.message]
    assert unknown.field == "every edition"


def test_dark_background_and_action_box_contrast_are_flagged(example: Path) -> None:
    settings = example / "composer.yaml"
    text = settings.read_text(encoding="utf-8")
    text = text.replace('background_colour: "#f2f4f6"', 'background_colour: "#3a3f44"')
    settings.write_text(text.replace('text_colour: "#222222"', 'text_colour: "#8a8a8a"'), encoding="utf-8")
    report = check_issue(load_project(example), "374")
    by_field = {p.field: p for p in report.problems}
    assert set(by_field) == {"branding.background_colour", "branding.text_colour"}
    background = by_field["branding.background_colour"]
    assert f"footer text in {FOOTER_TEXT} on #3a3f44" in background.message
    assert "lighter" in background.message
    lines = settings.read_text(encoding="utf-8").splitlines()
    assert "background_colour:" in lines[background.line - 1]
    # #8a8a8a passes nowhere: on white (3.4:1) nor in the Action Required box
    assert f"on {ACTION_BACKGROUND}" in by_field["branding.text_colour"].message


def test_contrast_pairs_match_the_template(example: Path) -> None:
    project = load_project(example)
    html = Renderer(project).edition(plan_for(project, 377), None).html
    doc = lxml.html.document_fromstring(html)
    body = doc.xpath("//body/@style")[0]
    assert f"background-color:{project.settings.branding.background_colour}" in body
    footer = doc.xpath("//p[@class='fp']/@style")
    assert footer and all(f"color:{FOOTER_TEXT}" in style for style in footer)
    boxes = doc.xpath("//td[@class='ab']/@style")
    assert boxes and all(f"background-color:{ACTION_BACKGROUND}" in style for style in boxes)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_template_problems_point_at_their_template_line(example: Path) -> None:
    """What the mail clients and spam filters of the issue found, each at the line that causes it."""
    templates = example / "templates"
    mjml, css, item, text = (
        templates / n for n in ("email.mjml.j2", "email.css.j2", "_item.mjml.j2", "email.txt.j2")
    )
    preheader = next(line for line in mjml.read_text().splitlines() if "display:none" in line)
    edit(mjml, preheader, "")
    edit(mjml, "<mj-attributes>", "<mj-preview>{{ preheader }}</mj-preview>\n<mj-attributes>")
    edit(css, ".k{", ".c .m{color:#333333}\npre{white-space:pre-wrap}\n.x{text-transform:uppercase}\n.k{")
    edit(item, '<a href="mailto:{{ contact.email }}">', '<a href="#contact-{{ contact.id }}">')
    edit(text, "member of:\n{{ placeholders.networks }}", "member of {{ placeholders.networks }}.")
    settings = example / "composer.yaml"
    edit(settings, 'subject: "{short_name}', 'subject: "{programme}')
    edit(example / "issues" / "377.yaml", "the Longley Room at", "[the Longley Room](#room) at")

    report = check_issue(load_project(example), "377")
    found = {(p.file, p.line, p.severity): p.message for p in report.problems}

    def at(file: str, line: int) -> str:
        return found[(file, line, "warning")]

    assert "HTML_FONT_LOW_CONTRAST" in at("templates/email.mjml.j2", line_of(mjml, "<mj-preview>"))
    assert "`.c .m` chains or nests classes" in at("templates/email.css.j2", line_of(css, ".c .m{"))
    assert "white-space rule on `pre`" in at("templates/email.css.j2", line_of(css, "pre{white-space"))
    assert "write the capitals in the text" in at("templates/email.css.j2", line_of(css, "text-transform"))
    assert "jumps within the email" in at("templates/_item.mjml.j2", line_of(item, 'href="#contact-'))
    assert "#room jumps within the email" in at(
        "issues/377.yaml", line_of(example / "issues" / "377.yaml", "body: |")
    )
    assert "the subject has 75 characters" in at("composer.yaml", line_of(settings, "subject:"))
    spliced = at("templates/email.txt.j2", line_of(text, "placeholders.networks"))
    assert "personalised text line runs to" in spliced and "over 78" in spliced
    assert not report.errors


def test_the_example_templates_pass_their_own_checks(example: Path) -> None:
    for number in ("374", "377"):
        report = check_issue(load_project(example), number)
        assert not report.problems, [str(p) for p in report.problems]


def test_a_network_section_left_open_is_refused(example: Path) -> None:
    """A template whose section never closes would cut the rest of a reader's message: `check`
    says so, and the encoding refuses it before anyone is sent it."""
    template = example / "templates" / "_unsubscribe.txt.j2"
    template.parent.mkdir(exist_ok=True)
    source = (REPO / "templates" / "_unsubscribe.txt.j2").read_text(encoding="utf-8")
    template.write_text(source.replace("{{ end_if }}", ""), encoding="utf-8")
    report = check_issue(load_project(example), "377")
    assert any("network sections do not open and close in turn" in p.message for p in report.errors)
    edition = next(e for e in report.editions if e.key)
    with pytest.raises(SendingError, match="network section"):
        encode_edition(edition, settings=load_project(example).settings, placeholders=PLACEHOLDERS)

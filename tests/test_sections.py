"""One render serves every reader: each message cut from the issue's sectioned document is the
edition rendered for that reader's networks alone, and holds nothing of another network's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes, policy
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import SECRET, copy_example
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.delivery.context import SendContext
from composer.delivery.messages import Personal, encode_edition
from composer.delivery.tokens import make_token, secret, unsubscribe_link
from composer.email.editions import receives
from composer.email.placeholders import fill_placeholders, reader_values
from composer.email.render import TEXT_TEMPLATE, Renderer, normal_whitespace
from composer.email.sections import SECTION_END, SECTION_START, keep_sections

ENV = {"COMPOSER_SECRET": SECRET}
EMAIL, NAME, FIRST = "zoe.o'brien@kent.example", "Zoë O'Brien & Co", "Zoë"


@pytest.fixture(scope="module")
def contexts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, SendContext]]:
    """A send's context for each example issue (the example programme, copied once)."""
    root = copy_example(tmp_path_factory.mktemp("sections") / "project")
    project = load_project(root)
    yield {
        issue.number: SendContext(
            project, str(issue.number), networks=(), transport="outbox", rate=None, env=ENV
        )
        for issue in project.issues
    }


NETWORKS = sorted(load_project(Path(__file__).resolve().parent.parent).networks)


normal = normal_whitespace


def message(context: SendContext, networks: frozenset[str]) -> tuple[str, str]:
    """The text and HTML of a member's message, as `composer send` makes it."""
    outgoing = context.message(
        EMAIL, NAME, networks, first_name=FIRST, edition=networks, signing_key=secret(ENV), dot_stuffed=False
    )
    parsed = message_from_bytes(outgoing.data, policy=policy.default)
    assert not parsed.defects and not any(part.defects for part in parsed.iter_parts())
    assert all(len(line) <= 76 for line in outgoing.data.split(b"\r\n\r\n", 1)[1].split(b"\r\n"))
    text, html = (part.get_content() for part in parsed.iter_parts())
    return text, html


def alone(context: SendContext, networks: frozenset[str]) -> tuple[str, str]:
    """The same member's message from the edition rendered for their networks alone."""
    edition = Renderer(context.project).edition(context.plan, networks)
    token = make_token(EMAIL, signing_key=secret(ENV))
    link = unsubscribe_link(str(context.settings.sending.unsubscribe_url), token)
    names = [context.project.networks[n].name for n in networks]
    values = {"unsubscribe_url": link, "name": NAME, "first_name": FIRST, "networks": names, "token": token}
    return (
        fill_placeholders(edition.text, reader_values(context.settings, html=False, **values), networks),
        fill_placeholders(edition.html, reader_values(context.settings, html=True, **values), networks),
    )


@pytest.mark.slow  # 40 sets of networks x 4 issues, each also rendered alone: `make test`, not test-fast
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(networks=st.frozensets(st.sampled_from(NETWORKS)))
def test_a_message_cut_from_sections_is_the_edition_rendered_alone(
    contexts: dict[int, SendContext], networks: frozenset[str]
) -> None:
    for context in contexts.values():
        sections = context.editions.sections
        assert sections is not None and sections.text is not None  # both parts are cut from it
        text, html = message(context, networks)
        expected_text, expected_html = alone(context, networks)
        assert normal(text) == normal(expected_text)
        assert normal(html) == normal(expected_html)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(networks=st.frozensets(st.sampled_from(NETWORKS), max_size=3))
def test_no_section_of_another_network_survives(
    contexts: dict[int, SendContext], networks: frozenset[str]
) -> None:
    for context in contexts.values():
        text, html = message(context, networks)
        assert "%%COMPOSER" not in text + html
        shown = [*context.plan.items, *(r.item for r in context.plan.reminders)]
        for item in shown:
            anchor = re.compile(rf"item-{re.escape(item.id)}(?![a-z0-9-])")  # its id, or a link to it
            assert bool(anchor.search(html)) == receives(item, networks)
            assert receives(item, networks) or not (anchor.search(text) or f"/{item.id}.ics" in text)
        offered = set(re.findall(r">Stop receiving news of ([^<]+)</a>", html))
        assert offered <= {context.project.networks[n].name for n in networks}
        member = "You receive this Update as a member of"
        assert (member in html) == bool(networks) and (member in text) == bool(networks)


def test_each_part_is_rendered_once_an_issue_however_many_editions(
    contexts: dict[int, SendContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Premailer, and the plain-text template, run a fixed number of times for all the editions
    but the full one, not once each: each edition's parts are cut from the sectioned document's."""
    from composer.email import render

    calls: list[int] = []
    real = render.inline_css
    monkeypatch.setattr(render, "inline_css", lambda *args: calls.append(1) or real(*args))
    texts: list[str] = []
    template = Renderer.render_template
    monkeypatch.setattr(
        Renderer, "render_template", lambda self, name, c: texts.append(name) or template(self, name, c)
    )
    context = SendContext(
        load_project(next(iter(contexts.values())).project.root),
        None,
        networks=(),
        transport="outbox",
        rate=None,
        env=ENV,
    )
    calls.clear()  # the check before the send renders the full edition
    texts.clear()
    message(context, frozenset(NETWORKS[:1]))
    assert len(calls) == 3  # the sectioned document, and two editions alone to compare it with
    assert texts.count(TEXT_TEMPLATE) == 3  # the same for the plain text
    for size in range(2, 9):
        message(context, frozenset(NETWORKS[:size]))
        message(context, frozenset(NETWORKS[-size:]))
    assert len(calls) == 3 and texts.count(TEXT_TEMPLATE) == 3


def test_check_measures_every_edition_without_cutting_its_text(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check` measures each edition's HTML; cutting the plain text of every one of hundreds of
    editions would cost a third of it again, for nothing it looks at."""
    from composer.email import textsections
    from composer.email.check import check_issue

    cut: list[int] = []
    real = textsections.SectionedText.text_for
    monkeypatch.setattr(textsections.SectionedText, "text_for", lambda *a: cut.append(1) or real(*a))
    report = check_issue(load_project(example), "377")
    assert len(report.editions) > 10
    assert len(cut) <= 3  # two compared with the same rendered alone, and the one check reads whole


def test_a_text_template_without_sections_renders_each_text_alone(example: Path) -> None:
    """A programme's own plain-text template written before sections: the HTML is still cut from
    sections, and each edition's text is rendered alone, as before."""
    template = example / "templates" / "email.txt.j2"
    source = template.read_text(encoding="utf-8")
    source = source.replace("{{ line.start }}{{ t.wrap(item.title", "{{ t.wrap(item.title")
    template.write_text(source.replace('"- ") }}\n{{ line.end }}', '"- ") }}\n'), encoding="utf-8")
    project = load_project(example)
    sections = Renderer(project).sections(plan_for(project, 377))
    assert sections is not None and sections.text is None
    context = SendContext(project, None, networks=(), transport="outbox", rate=None, env=ENV)
    for networks in (frozenset(), frozenset({"send"}), frozenset({"dcs", "kinship"})):
        text, html = message(context, networks)
        expected_text, expected_html = alone(context, networks)
        assert normal(text) == normal(expected_text) and normal(html) == normal(expected_html)


def test_templates_without_sections_render_each_edition_alone(example: Path) -> None:
    """A programme's own template that shows items without their sections (written before them)
    would show every item to every reader: each edition is then rendered alone, as before."""
    template = example / "templates" / "email.mjml.j2"
    source = template.read_text(encoding="utf-8")
    source = source.replace("{{ line.start }}<li>", "<li>").replace("</li>{{ line.end }}", "</li>")
    template.write_text(source, encoding="utf-8")
    project = load_project(example)
    assert Renderer(project).sections(plan_for(project, 377)) is None
    context = SendContext(project, None, networks=(), transport="outbox", rate=None, env=ENV)
    for networks in (frozenset(), frozenset({"send"}), frozenset({"dcs", "kinship"})):
        text, html = message(context, networks)
        expected_text, expected_html = alone(context, networks)
        assert normal(text) == normal(expected_text) and normal(html) == normal(expected_html)


def test_sections_nest_and_their_conditions_combine(example: Path) -> None:
    """`a+b` keeps for readers in a or b, `!c` for readers not in c; a section inside a dropped
    one is dropped; the encoded message keeps what keep_sections keeps, in both parts."""
    start, end = (lambda spec: SECTION_START.format(spec)), SECTION_END
    text = f"one {start('send+dcs')}two {start('!kinship')}three {end}{end}{start('!send')}four{end}\n"
    expected = {
        frozenset({"send"}): "one two three \n",
        frozenset({"send", "kinship"}): "one two \n",
        frozenset({"kinship"}): "one four\n",
        frozenset(): "one four\n",
    }
    settings = load_project(example).settings
    edition = SimpleNamespace(name="x", subject="Update", html=f"<p>{text}</p>", text=text)
    encoded = encode_edition(edition, settings=settings, placeholders={})  # type: ignore[arg-type]
    for networks, kept in expected.items():
        assert keep_sections(text, networks) == kept
        personal = Personal("a@kent.example", "A", "<m@kent.example>", ("mailto:u@kent.example",), {})
        personal = replace(personal, networks=networks)
        parsed = message_from_bytes(encoded.personalise(personal), policy=policy.default)
        plain, html = (part.get_content().replace("\r\n", "\n") for part in parsed.iter_parts())
        assert plain == kept and html.strip() == f"<p>{kept}</p>"

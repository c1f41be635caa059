"""A programme's own templates that print everything they can reach: two readers in different
networks who share one edition must each be sent their own networks' names only.

Readers whose networks lead to the same items and reminders share one rendered edition, rendered
for the first of their sets of networks. A template that printed that edition's key, name or
networks would tell every reader the first set's networks; the templates are given a view of the
edition that holds only what all its readers get alike, and this proves it on the real `send`.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from conftest import SECRET, Cli, write_members

from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.email.editions import EditionView, Selection, select
from composer.email.render import Edition

# Two networks with no news in the example's latest issue: their members share its edition.
QUIET = {"heron": "Heron Valley Forum", "otter": "Otter Creek Circle"}
READERS = {"heron": "ann@example.org", "otter": "bo@example.org"}

# Every public attribute any edition-like object has (the view, a selection, a rendered edition:
# their key, name, networks...), tried on the view and on what it holds, with each network id found
# named. The sandbox keeps `__dict__` and other internals out of reach (the last test).
ATTRIBUTES = sorted(
    {name for kind in (EditionView, Selection, Edition) for name in dir(kind) if not name.startswith("_")}
)
PROBE = """\
PROBE
{% macro show(value) %}{{ value | string | truncate(100) }}{% endmacro %}
{% macro name_ids(value) %}{% if value is iterable and value is not string %}{% for id in value %}\
{% if id is string and id in networks %} {{ networks[id].name }}{% endif %}\
{% endfor %}{% endif %}{% endmacro %}
{% for attr in ATTRIBUTES %}{% set value = edition[attr] %}{% if value is defined %}
{{ attr }}: {{ show(value) }}{{ name_ids(value) }}
{% if value is iterable and value is not string %}{% for part in value %}
- {{ show(part) }}{% for n in ATTRIBUTES %}{% if part[n] is defined %} {{ n }}={{ show(part[n]) }}\
{{ name_ids(part[n]) }}{% endif %}{% endfor %}
{% if part.networks is defined %} {{ network_names(part) | join(", ") }}{% endif %}
{% if part.item is defined %} {{ network_names(part.item) | join(", ") }}{% endif %}
{% endfor %}{% endif %}
{% endif %}{% endfor %}
{% for id, network in networks.items() %}{{ id }} {{ network.name }}; {% endfor %}
{% for item in issue.items %}{{ network_names(item) | join(", ") }}; {% endfor %}
{% for n in ATTRIBUTES %}{% if readers[n] is defined %}readers.{{ n }}: {{ show(readers[n]) }}\
{{ name_ids(readers[n]) }}{% endif %}{% endfor %}
full: {{ full }} items: {{ items | length }} reminders: {{ reminders | length }} diary: {{ diary | length }}
END PROBE
""".replace("ATTRIBUTES", repr(ATTRIBUTES))


def hostile(project: Path) -> None:
    """The project's own email templates, each printing the probe after the greeting."""
    folder = project / "templates"
    (folder / "_probe.mjml.j2").write_text(PROBE, encoding="utf-8")
    for name, greeting in (
        ("email.mjml.j2", "<p>{{ placeholders.greeting }}</p>\n"),
        ("email.txt.j2", "{{ placeholders.greeting }}\n"),
    ):
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert text.count(greeting) == 1
        path.write_text(text.replace(greeting, greeting + '{% include "_probe.mjml.j2" %}\n'), "utf-8")


def parts(outbox: Path, address: str) -> tuple[str, str]:
    """The HTML and plain text a reader was sent."""
    message = message_from_bytes((outbox / f"{address}.eml").read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    html, text = message.get_body(("html",)), message.get_body(("plain",))
    assert html is not None and text is not None
    return html.get_content(), text.get_content()


def test_readers_sharing_an_edition_each_get_only_their_own_networks(example: Path, run_cli: Cli) -> None:
    with (example / "recipients" / "networks.yaml").open("a", encoding="utf-8") as networks:
        networks.write("".join(f"\n- id: {id_}\n  name: {name}\n" for id_, name in QUIET.items()))
    write_members(example, *(f"{address},Reader {id_},Org,{id_}" for id_, address in READERS.items()))
    hostile(example)
    project = load_project(example)
    plan = plan_for(project, max(s.number for s in project.issues))
    assert select(plan, frozenset({"heron"})).identity == select(plan, frozenset({"otter"})).identity

    sent = run_cli(
        example, "send", "--yes", "--transport", "outbox", "--no-link-check", env={"COMPOSER_SECRET": SECRET}
    )
    assert sent.returncode == 0, sent.stderr
    for own, address in READERS.items():
        (other,) = set(QUIET) - {own}
        for part in parts(example / "outbox" / str(plan.issue.number), address):
            assert "PROBE" in part and "END PROBE" in part  # the hostile templates were used
            assert QUIET[own] in part  # "You receive this Update as a member of …", spliced in
            assert QUIET[other] not in part and other not in part, (own, part)


def test_a_template_cannot_reach_python_internals(example: Path, run_cli: Cli) -> None:
    """A template that asks for an object's `__dict__` or a function's globals (where the key and
    everything else live) is refused by the sandbox, naming the template; nothing is sent."""
    path = example / "templates" / "email.txt.j2"
    text = path.read_text(encoding="utf-8")
    for reach in ("{{ edition.__dict__ }}", "{{ network_names.__globals__ }}"):
        path.write_text(text.replace("{{ placeholders.greeting }}", reach, 1), encoding="utf-8")
        result = run_cli(
            example,
            "send",
            "--yes",
            "--transport",
            "outbox",
            "--no-link-check",
            env={"COMPOSER_SECRET": SECRET},
        )
        assert result.returncode == 1
        assert "templates/email.txt.j2" in result.stderr and "unsafe" in result.stderr, result.stderr
        assert not (example / "outbox").exists()


def test_a_failing_template_is_named_at_its_own_file_and_line(example: Path, run_cli: Cli) -> None:
    """An error in an included template of the project's own names that file and line, not the
    top template (which the project may not even have), and never shows a traceback."""
    from composer.content.templates import packaged

    source = packaged("templates", "_item.txt.j2").read_text(encoding="utf-8")
    lines = source.splitlines()
    for bad in ("{{ item.__class__ }}", '{{ 1 + "a" }}', "{{ edition.key }}"):
        own = "\n".join([*lines[:3], bad, *lines[3:]]) + "\n"
        (example / "templates" / "_item.txt.j2").write_text(own, encoding="utf-8")
        result = run_cli(example, "check")
        assert result.returncode == 1
        assert "templates/_item.txt.j2:4: " in result.stderr, (bad, result.stderr)

"""The checks of an edition's texts: the inbox's lines (preheader, subject), its placeholders and
sections, and the plain text's lines once a reader's values are spliced in."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from composer.content.project import Project
from composer.content.settings import Settings
from composer.email.placeholders import PLACEHOLDERS, fill_placeholders, reader_values
from composer.email.render import Edition
from composer.email.sections import SECTION_END, keep_sections, sections_balanced
from composer.email.templatecontext import SUBJECT_FIELDS
from composer.email.textsources import TextSource, in_template, locate, named_source, problem_at
from composer.errors import Problem
from composer.lists.recipients import Person

PREHEADER_MAX = 150
SUBJECT_MAX = 70  # a phone's inbox shows about this many characters of a subject
TEXT_WIDTH = 78
SAMPLE_TOKEN = "x" * 43  # the length of a signed unsubscribe token

_TOKEN = re.compile(r"%%COMPOSER_[A-Z_]*%%")
_TEMPLATE_SYNTAX = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_SUBJECT_FIELD = re.compile(r"\{[^{}]*\}")
_URL_LINE = re.compile(r"^\S*(https?://|mailto:)\S+$")  # a link alone on its line may run long


def check_lines(preheader: str, subject: str, sources: list[TextSource], file: str) -> Iterator[Problem]:
    """The preheader and the subject: what the inbox shows."""
    if not preheader.strip():
        yield Problem(
            file,
            "no preheader: add `preheader:` with a line that makes people open the email",
            severity="warning",
        )
    elif len(preheader) > PREHEADER_MAX:
        yield problem_at(
            named_source(sources, "preheader"),
            file,
            f"the preheader has {len(preheader)} characters: mail clients show about {PREHEADER_MAX} at most",
            "warning",
            "preheader",
        )
    if len(subject) > SUBJECT_MAX:
        yield problem_at(
            named_source(sources, "subject"),
            file,
            f"the subject has {len(subject)} characters: a phone's inbox cuts it after about "
            f"{SUBJECT_MAX}; try {{short_name}} Update No {{number}} – {{date}}",
            "warning",
            "subject",
        )
    for leftover in _SUBJECT_FIELD.findall(subject):
        yield problem_at(
            named_source(sources, "subject"),
            file,
            f"the subject has {leftover} left in it: the fields are "
            + ", ".join(f"{{{name}}}" for name in SUBJECT_FIELDS),
            "warning",
            "subject",
        )


def check_parts(edition: Edition, sources: list[TextSource], file: str) -> Iterator[Problem]:
    """Tokens and sections of both parts, and template syntax shown literally in the text."""
    known = {*PLACEHOLDERS.values(), SECTION_END}
    for part, content in (("HTML", edition.html), ("text", edition.text)):
        for token in sorted(set(_TOKEN.findall(content)) - known):
            yield Problem(
                file,
                f"unknown placeholder {token} in the {part} part: check the templates "
                f"(known: {', '.join(sorted(known))})",
            )
        if not sections_balanced(content):
            yield Problem(
                file,
                f"the {part} part's network sections do not open and close in turn: each "
                "if_reader_in(id) needs its end_if (check the templates)",
            )
    for syntax in sorted(set(_TEMPLATE_SYNTAX.findall(edition.text))):
        yield problem_at(
            locate(sources, syntax),
            file,
            f"{syntax} is shown literally: issue files are not templates, and only "
            "sending fills in each reader's name and unsubscribe link",
            "warning",
        )


def longest_greeting(settings: Settings, people: Iterable[Person]) -> Person | None:
    """The member whose greeting is the longest: the sample reader of `check_spliced` (None: a
    reader without names, greeted with the fallback, is as long as any)."""
    greeting = settings.greeting
    fields = greeting.fields

    def filled(person: Person) -> int:  # the length of the fields in their greeting; -1: the fallback
        values = [getattr(person, field).strip() for field in fields]
        return sum(map(len, values)) if all(values) else -1

    longest = max(people, key=filled, default=None)
    if longest is None or filled(longest) < 0:
        return None
    fallback = greeting.for_reader()
    text = greeting.for_reader(name=longest.name, first_name=longest.first_name)
    return longest if len(text) > len(fallback) else None


def check_spliced(edition: Edition, project: Project, file: str, reader: Person | None) -> Iterator[Problem]:
    """Lines of the personalised text part over 78 columns, measured with a sample reader's values
    spliced in (the longest greeting on the lists), since sending splices them after wrapping."""
    settings = project.settings
    values = reader_values(
        settings,
        html=False,
        unsubscribe_url=f"{settings.sending.unsubscribe_url}?token={SAMPLE_TOKEN}",
        token=SAMPLE_TOKEN,
        name=reader.name if reader else "",
        first_name=reader.first_name if reader else "",
        networks=[project.networks[n].name for n in edition.key or () if n in project.networks],
    )
    by_token = {token: name for name, token in PLACEHOLDERS.items()}
    for raw in keep_sections(edition.text, edition.key or ()).splitlines():
        if "%%COMPOSER_" not in raw:  # only a line with a placeholder is lengthened by splicing
            continue
        line = max(fill_placeholders(raw, values).split("\n"), key=len)  # a value may run to more lines
        if len(line) <= TEXT_WIDTH or _URL_LINE.match(line.strip()):
            continue
        spliced = [by_token[token] for token in _TOKEN.findall(raw) if token in by_token]
        if spliced:
            yield in_template(
                project,
                file,
                f"placeholders.{spliced[0]}",
                f"a personalised text line runs to {len(line)} columns (over {TEXT_WIDTH}): "
                f"{line[:40]}…; put placeholders.{spliced[0]} on a line of its own",
                ".txt.j2",
            )

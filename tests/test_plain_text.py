"""The plain-text part as a reader of it meets it: greeting near the top, nothing cut, no markup."""

from __future__ import annotations

import re

import pytest
from conftest import copy_example

from composer.content.carry import plan_for
from composer.content.loading import load_project
from composer.content.project import Project
from composer.email.check import edition_keys
from composer.email.placeholders import PLACEHOLDERS
from composer.email.render import Edition, render_editions
from composer.lists.recipients import read_lists

GREETING_WITHIN = 25  # lines


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, list[tuple[int, Edition]]]:
    """Every edition of every example issue."""
    project = load_project(copy_example(tmp_path_factory.mktemp("text") / "project"))
    keys = edition_keys(project, read_lists(project))
    found = [
        (sourced.number, edition)
        for sourced in project.issues
        for edition in render_editions(project, plan_for(project, sourced.number), keys)
    ]
    return project, found


def flat(text: str) -> str:
    return " ".join(text.split())


Editions = tuple[Project, list[tuple[int, Edition]]]


def test_the_greeting_comes_within_the_first_lines(editions: Editions) -> None:
    for number, edition in editions[1]:
        lines = edition.text.splitlines()
        assert lines.index(PLACEHOLDERS["greeting"]) < GREETING_WITHIN, (number, edition.name)


def test_the_navigation_is_one_paragraph(editions: tuple[Project, list[tuple[int, Edition]]]) -> None:
    project, found = editions
    labels = [link.label for link in project.settings.navigation]
    for _, edition in found:
        paragraphs = edition.text.split("\n\n")
        (nav,) = [p for p in paragraphs if p.startswith(f"{labels[0]} [")]
        assert all(label in flat(nav) for label in labels) and len(nav.splitlines()) <= 3


def test_no_title_is_cut_and_no_action_ends_mid_sentence(
    editions: tuple[Project, list[tuple[int, Edition]]],
) -> None:
    for number, edition in editions[1]:
        text = flat(edition.text)
        long = [line for line in edition.text.splitlines() if len(line) > 78 and "%%" not in line]
        assert all(line.startswith("https://") and " " not in line for line in long), long  # a URL alone
        assert "…" not in edition.text, (number, edition.name)
        for item in edition.selection.items:
            assert flat(item.title) in text
        for reminder in edition.selection.reminders:
            assert flat(reminder.item.title) in text, (number, reminder.item.id)


def test_markdown_emphasis_is_plain_text(editions: tuple[Project, list[tuple[int, Edition]]]) -> None:
    for _, edition in editions[1]:
        assert "**" not in edition.text and not re.search(r"\]\(https?:", edition.text)

"""The pre-send checks of finished editions: what would clip, break or look wrong in mail clients.

Gmail clips a message whose HTML passes about 102 KB and drops a <style> block over 16 KB;
images need alt text for readers who block them; links must be absolute to work in a mail client.
Problems point at the line that holds the offending text: an item of the issue, a reminder or
tool in the earlier issue that wrote it, or a setting in composer.yaml.

This module runs them over editions; the checks themselves are by kind in htmlchecks (what the
HTML holds), textchecks (the inbox's lines, placeholders, the personalised text) and
brandingchecks, and textsources finds the line a problem points at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace

from composer.content.carry import Plan
from composer.content.project import Project, SourcedIssue
from composer.email.editions import EditionKey
from composer.email.htmlchecks import KB, check_scanned
from composer.email.placeholders import join_names
from composer.email.render import Edition, Editions
from composer.email.templatechecks import check_template_css
from composer.email.textchecks import check_lines, check_parts, check_spliced
from composer.email.textsources import TextSource, text_sources
from composer.errors import Problem
from composer.lists.recipients import Person

HTML_WARNING = 80 * KB
HTML_LIMIT = 102 * KB


def check_editions(
    editions: Sequence[Edition],
    *,
    project: Project,
    sourced: SourcedIssue,
    plan: Plan,
    reader: Person | None = None,
) -> list[Problem]:
    """Every problem of every edition, and of the templates' CSS, each reported once.

    A problem traced to a line (an item's link, a tool added weeks ago, a setting, a template) is
    the same in every edition that shows it; one that no line explains names the editions it was
    found in. `reader`: the member with the longest greeting (see `longest_greeting`), whose
    values are spliced into the text to measure it.
    """
    sources, file = text_sources(project, sourced, plan), project.rel(sourced.path)
    found: dict[Problem, list[str]] = {problem: [] for problem in check_template_css(project.root)}

    def add(problems: Iterable[Problem], names: Iterable[str]) -> None:
        for problem in problems:
            listed = found.setdefault(problem, [])
            listed += [name for name in names if name not in listed]

    if not isinstance(editions, Editions):
        for edition in editions:
            add(_checks(edition, sources, file, project, reader), [edition.name])
    else:  # one document serves every edition but the full one: read once, each one's HTML measured
        full = [i for i, (selection, _) in enumerate(editions.found) if selection.key is None]
        others = [i for i in range(len(editions)) if i not in full]
        # read whole: the full edition, and of the others the one with the longest network names
        # (its text's personalised lines are the longest); the rest differ in their size only
        longest = max(others, key=lambda i: _names_length(project, editions.found[i][0].key), default=None)
        subject = ""  # the issue's, the same in every edition
        for group, index in ((full, full[0] if full else None), (others, longest)):
            if index is not None:
                edition, subject = editions[index], editions[index].subject
                add(
                    _checks(edition, sources, file, project, reader, cut=False),
                    [editions.name(i) for i in group],
                )
                add(_check_cut(edition.html, edition.preheader, subject, sources, file), [edition.name])
        for index in others:
            if index != longest:
                html, preheader = editions.cut(index) or ("", "")
                add(_check_cut(html, preheader, subject, sources, file), [editions.name(index)])
    return [
        problem if problem.field else replace(problem, field=_editions(names, len(editions)))
        for problem, names in found.items()
    ]


def _names_length(project: Project, key: EditionKey) -> int:
    """How long the names of an edition's networks are, joined as its readers' footer has them."""
    return len(join_names(project.networks[n].name for n in key or () if n in project.networks))


def edition_checker(
    *, project: Project, sourced: SourcedIssue, plan: Plan, reader: Person | None = None, scan: bool = True
) -> Callable[[Edition], list[Problem]]:
    """The checks of one edition, with where its texts come from worked out once for all of them
    (a send checks each edition as it makes it ready).

    `scan`: also read its HTML for images, links and styles; an edition cut from the sectioned
    document holds nothing there that the document (and the full edition) did not show.
    """
    sources, file = text_sources(project, sourced, plan), project.rel(sourced.path)
    return lambda edition: _checks(edition, sources, file, project, reader, scan=scan)


def _editions(names: list[str], total: int) -> str:
    if len(names) == total > 1:
        return "every edition"
    if len(names) <= 3:
        return ("edition " if len(names) == 1 else "editions ") + ", ".join(names)
    return f"{len(names)} editions ({', '.join(names[:2])}, …)"


def _checks(
    edition: Edition,
    sources: list[TextSource],
    file: str,
    project: Project,
    reader: Person | None,
    *,
    scan: bool = True,
    cut: bool = True,
) -> list[Problem]:
    """Every check of one edition; `cut`: with those an edition cut from sections has of its own
    (its size, its preheader), which `check_editions` reports for that edition alone."""
    return [
        *(_check_cut(edition.html, edition.preheader, edition.subject, sources, file) if cut else ()),
        *(check_scanned(edition, sources, file, project) if scan else ()),
        *check_parts(edition, sources, file),
        *check_spliced(edition, project, file, reader),
    ]


def _check_cut(
    html: str, preheader: str, subject: str, sources: list[TextSource], file: str
) -> Iterator[Problem]:
    """What differs between editions cut from one document: the size, the preheader (and the
    subject, the same in all)."""
    size = len(html.encode())
    if size >= HTML_LIMIT:
        yield Problem(
            file,
            f"the HTML is {size / KB:.1f} KB: Gmail clips messages from 102 KB; "
            "shorten the items or move some to a later issue",
        )
    elif size > HTML_WARNING:
        yield Problem(
            file,
            f"the HTML is {size / KB:.1f} KB, close to the 102 KB at which Gmail clips messages",
            severity="warning",
        )
    yield from check_lines(preheader, subject, sources, file)

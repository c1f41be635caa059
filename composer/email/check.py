"""`composer check`: one report of everything wrong with an issue and what it will carry forward.

The report renders the full edition and the document every other edition is cut from, since
size, images and links can only be checked on the finished email, and measures each edition's
HTML; `build`, `send` and `preview` reuse those editions rather than render again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from composer.content.advice import stale_open_notices, uncited_contacts
from composer.content.carry import Plan, plan_for
from composer.content.project import Project, SourcedIssue
from composer.email.brandingchecks import check_branding
from composer.email.editions import FULL, EditionKey, edition_name
from composer.email.emailchecks import check_editions
from composer.email.links import LinkReport
from composer.email.render import Edition, Editions, Renderer, render_editions
from composer.email.textchecks import longest_greeting
from composer.errors import Findings, Problem, ValidationFailed
from composer.lists.recipients import Lists, Person, read_lists, unfilled_greeting


@dataclass(frozen=True)
class CheckReport(Findings):
    """`composer check`'s answer for one issue: the plan, every problem, the editions checked."""

    issue: SourcedIssue
    file: str
    plan: Plan
    lists: Lists
    editions: Editions
    problems: list[Problem]
    reader: Person | None = None  # the member with the longest greeting: see `longest_greeting`
    links: LinkReport | None = None  # when the links were asked (`check --links`)

    def as_dict(self) -> dict[str, object]:
        return {
            "issue": self.issue.number,
            "file": self.file,
            "ok": not self.errors,
            "problems": [p.as_dict() for p in self.problems],
            "plan": self.plan.as_dict(),
            "editions": [self.editions.name(index) for index in range(len(self.editions))],
            **({"links": self.links.as_dict()} if self.links else {}),
        }

    @property
    def full(self) -> Edition:
        """The full edition, which holds every item, reminder and tool (and so every link)."""
        return next(edition for edition in self.editions if FULL in edition.serves)


def edition_keys(project: Project, lists: Lists) -> list[EditionKey]:
    """The full edition, then one per distinct set of networks among the people it is sent to.

    Before there are members, one edition per network stands in for them.
    """
    if lists.people:
        keys = {recipient.edition for recipient in lists.recipients()}
    else:
        keys = {frozenset([network]) for network in project.networks}
    return [FULL, *sorted(keys, key=edition_name)]


def check_issue(
    project: Project,
    ref: str | None = None,
    *,
    lists: Lists | None = None,
    keys: Sequence[EditionKey] | None = None,
    renderer: Renderer | None = None,
) -> CheckReport:
    """The files' problems, then those of every edition as an email (size, images, links...).

    `lists`: the mailing lists when the caller has read them already (the preview, once a build).
    `keys`: only these editions (default: every one, see `edition_keys`). The full edition holds
    every item, reminder and tool, so every problem that a line of the files explains shows in it;
    what it cannot show is another edition's own size (smaller, holding fewer items) and wording.
    `renderer`: the caller's, to share its work (a new one by default).
    """
    sourced = project.find(ref)
    problems = project.problems_for(sourced.number)
    if any(p.severity == "error" for p in problems):
        raise ValidationFailed(problems)
    plan = plan_for(project, sourced.number)
    if lists is None:
        lists = read_lists(project)  # read once: sending uses the same lists the editions were made for
    wanted = edition_keys(project, lists) if keys is None else keys
    editions = render_editions(project, plan, wanted, renderer=renderer)
    problems = problems + check_branding(project.settings.branding, project.settings_lines)
    problems += stale_open_notices(project, plan) + uncited_contacts(project)
    problems += unfilled_greeting(project, lists.people)
    if lists.nobody:
        problems.append(lists.nobody)
    reader = longest_greeting(project.settings, lists.people)
    problems += check_editions(editions, project=project, sourced=sourced, plan=plan, reader=reader)
    return CheckReport(sourced, project.rel(sourced.path), plan, lists, editions, problems, reader)

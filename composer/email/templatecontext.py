"""What the templates are given for one edition besides the settings: the subject and preheader,
its contacts and diary, when a reminder's next date is, and who sees each part (`Shown`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping

from composer.content.carry import Plan, long_date
from composer.content.model import Contact, Item
from composer.content.schedule import DiaryDate, diary, hours, next_date, upcoming
from composer.content.settings import Settings
from composer.email.editions import EditionView
from composer.email.markdown import shorten
from composer.email.sections import EVERYONE, Condition, Section, section
from composer.email.urls import edition_url

PREHEADER_LENGTH = 140
SUBJECT_FIELDS = ("programme", "short_name", "number", "date")
_SUBJECT_FIELD = re.compile(r"\{(" + "|".join(SUBJECT_FIELDS) + r")\}")


def reminder_when(item: Item, on: dt.date) -> str:
    """What a compact reminder says of when: the next session still to come (named by its label),
    or the live deadline."""
    day = next_date(item, on)
    if day is None:
        return ""
    sessions = upcoming(item.event, on)
    if sessions and max(sessions[0].date, on) == day:  # a session first (or the same day as the deadline)
        session = sessions[0]
        text = f"{day:%A} {long_date(day)}" + (f", {hours(session)}" if session.start else "")
        return f"{session.label} – {text}" if session.label else text
    return f"Deadline {day:%A} {long_date(day)}"


def subject_line(pattern: str, *, settings: Settings, plan: Plan) -> str:
    """Fill {programme} {short_name} {number} {date}; other braces stay for the checks to flag."""
    values = {
        "programme": settings.programme.name,
        "short_name": settings.programme.short_name,
        "number": str(plan.issue.number),
        "date": long_date(plan.issue.date),
    }
    return _SUBJECT_FIELD.sub(lambda match: values[match[1]], pattern)


def default_preheader(edition: EditionView, *, limit: int = PREHEADER_LENGTH) -> str:
    """This edition's item titles, cut at a word before `limit`: what the inbox shows first."""
    titles = [item.title for item in edition.items] or [r.item.title for r in edition.reminders]
    return shorten("This week: " + "; ".join(titles), limit) if titles else ""


def cited_contacts(contacts: Mapping[str, Contact], edition: EditionView) -> dict[str, Contact]:
    """The edition's Contact Details: contacts its items (and their sessions) cite, in order of first
    mention, then standing."""
    cited = [contact_id for item in edition.shown for contact_id in item.cited_contact_ids]
    cited += [contact.id for contact in contacts.values() if contact.standing]
    return {contact_id: contacts[contact_id] for contact_id in dict.fromkeys(cited)}


def networks_of(items: Iterable[Item]) -> frozenset[str]:
    return frozenset(network for item in items for network in item.networks)


class Shown:
    """Who sees what, as the templates ask it of a list of items (for a heading, a line, a block).

    In an edition rendered for one set of networks, what it holds is shown to all its readers
    (`EVERYONE`) and what it lacks to none (None). In the document that serves every edition but
    the full one (`sectioned`: the networks of its readers), each part is a section kept by the
    readers it is shown to.
    """

    def __init__(self, *, sectioned: frozenset[str] | None = None):
        self.sectioned = sectioned is not None
        self._everyone = sectioned or frozenset()

    def of(self, items: Iterable[Item]) -> Section | None:
        """Around what readers see when they get any of `items` (None: nobody does)."""
        return self._readers(list(items), getting=True)

    def without(self, items: Iterable[Item]) -> Section | None:
        """Around what readers see when they get none of `items` (None: nobody does)."""
        return self._readers(list(items), getting=False)

    def _readers(self, items: list[Item], *, getting: bool) -> Section | None:
        if items and self.sectioned and not any(item.for_everyone for item in items):
            networks = networks_of(items)
            return section(Condition(networks) if getting else Condition(None, networks))
        return EVERYONE if bool(items) == getting else None  # every reader gets some of them, or none does

    def member(self, edition: EditionView) -> Section | None:
        """Around the footer's words for a member of some networks (None: not one)."""
        if self.sectioned and self._everyone:
            return section(Condition(self._everyone))
        return EVERYONE if edition.for_members else None

    def contact(self, edition: EditionView) -> Section | None:
        """Around the footer's words for a reader in no network (None: not one)."""
        if self.sectioned:
            return section(Condition(None, self._everyone))
        return None if edition.for_members else EVERYONE

    def contacts(
        self, contacts: Mapping[str, Contact], edition: EditionView
    ) -> list[tuple[Contact, Section]]:
        """Contact Details, each contact with who sees it there.

        A reader sees a contact where the first of their items citing it is (then the standing
        ones cited by none): in the sectioned document a contact may be listed at each item citing
        it, kept by the readers for whom that item is the first to cite it.
        """
        if not self.sectioned:
            return [(contact, EVERYONE) for contact in cited_contacts(contacts, edition).values()]
        slots: list[tuple[Contact, Section]] = []
        earlier: dict[str, list[Item]] = {}
        for item in edition.shown:
            for contact_id in item.cited_contact_ids:
                before = earlier.setdefault(contact_id, [])
                seen = networks_of(before)
                repeated = item.networks and set(item.networks) <= seen  # its readers met the contact before
                if not repeated and not any(other.for_everyone for other in before):
                    shown = None if item.for_everyone else frozenset(item.networks)
                    slots.append((contacts[contact_id], section(Condition(shown, seen))))
                before.append(item)
        for contact in contacts.values():
            before = earlier.get(contact.id, [])
            if contact.standing and not any(other.for_everyone for other in before):
                slots.append((contact, section(Condition(None, networks_of(before)))))
        return slots


def diary_dates(settings: Settings, plan: Plan, edition: EditionView) -> list[DiaryDate]:
    """ "Dates for your diary": the sessions still to come of the edition's reminders (empty when
    switched off). This week's text (its items, and the reminders it updates) is shown whole, each
    with its "When" line and calendar link: listing those sessions again would show the same
    event a third time."""
    if not settings.diary.enabled:
        return []
    entries = [(r.item, r.version_issue) for r in edition.reminders if not r.updated]
    return diary(entries, plan.issue.date, settings.diary.weeks)


def edition_values(page_url: Callable[[int], str], plan: Plan, edition: EditionView) -> dict[str, str]:
    """What differs between editions besides their sections: the preheader and the archive page."""
    return {
        "preheader": plan.issue.preheader or default_preheader(edition),
        "view_url": edition_url(page_url, plan.issue.number, edition),
    }

"""Warnings that need more than one file: open notices left too long, contacts nobody cites
(lists/recipients.py: a greeting that no member's fields can fill).

They are advice, not errors: the Update can go out, but something may have been forgotten.
"""

from __future__ import annotations

import datetime as dt

from composer.content.carry import Plan
from composer.content.layout import CONTACTS_FILE
from composer.content.project import Project
from composer.errors import Problem


def stale_open_notices(project: Project, plan: Plan) -> list[Problem]:
    """Open notices (`remind: open`) whose text is older than `reminders.open_warn_weeks`."""
    weeks = project.settings.reminders.open_warn_weeks
    oldest = plan.issue.date - dt.timedelta(weeks=weeks)
    found = []
    for reminder in plan.reminders:
        if reminder.basis != "open":
            continue
        source = next(s for s in project.issues if s.number == reminder.version_issue)
        if source.issue.date >= oldest:
            continue
        index = next(i for i, item in enumerate(source.issue.items) if item.id == reminder.item.id)
        found.append(
            Problem(
                project.rel(source.path),
                f"open notice shown since {source.issue.date} (over {weeks} weeks): "
                f"drop it with `reminders: {{drop: [{reminder.item.id}]}}` or update it",
                source.located.line_of(("items", index, "remind")),
                f"items[{reminder.item.id}].remind",
                "warning",
            )
        )
    return found


def uncited_contacts(project: Project) -> list[Problem]:
    """Contacts that no item, network lead or `standing: true` cites: perhaps a typo or a leaver.

    Not while an issue file does not load: the contact may be cited there, and a warning on every
    other issue would be wrong."""
    if project.broken:
        return []
    cited = {contact.id for contact in project.contacts.values() if contact.standing}
    cited |= {network.lead for network in project.networks.values() if network.lead}
    issues = [sourced.issue for sourced in project.issues]
    items = [item for issue in issues for item in [*issue.items, *issue.carried_items]]
    cited |= {contact_id for item in items for contact_id in item.cited_contact_ids}
    return [
        Problem(
            CONTACTS_FILE,
            f"no item or network cites contact {contact_id!r}: "
            "cite it, mark it `standing: true`, or remove it",
            project.contact_lines.get(contact_id),
            f"[{contact_id}]",
            "warning",
        )
        for contact_id in project.contacts
        if contact_id not in cited
    ]

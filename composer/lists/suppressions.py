"""Writing recipients/suppressed.csv: who stops receiving the Update, from what, why and since when.

Every row says its reason (unsubscribed, bounced, soft-bounced) and the Update it came from, so
the office can review a suppression and undo it by deleting the row. Rows are only ever appended;
a file written before the reason and issue columns existed gets them added to its header.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from composer.content.project import Project
from composer.lists.csvfiles import append_rows
from composer.lists.recipients import ALL_NETWORKS, SUPPRESSED_COLUMNS, SUPPRESSED_FILE, Lists

Reason = Literal["unsubscribed", "bounced", "soft-bounced"]
REASONS: tuple[Reason, ...] = ("unsubscribed", "bounced", "soft-bounced")


@dataclass(frozen=True)
class Suppression:
    """One row of suppressed.csv: `network` None for every network, `detail` the evidence."""

    email: str
    network: str | None
    reason: Reason
    issue: int | None = None
    detail: str = ""


def add_suppressions(
    project: Project, lists: Lists, wanted: Iterable[Suppression], *, today: dt.date | None = None
) -> list[Suppression]:
    """Append the suppressions not already in force (by address and network); returns those added.

    `lists`: the project's lists as the caller read them; their suppressions are brought up to
    date, so that a run that adds many reads the files once.
    """
    date = (today or dt.date.today()).isoformat()
    added = []
    for row in wanted:
        email = row.email.lower()
        held = lists.suppressed.get(email, frozenset())
        if ALL_NETWORKS in held or row.network in held:
            continue
        lists.suppressed[email] = held | {row.network}
        added.append(row)
    if added:
        path = project.root / SUPPRESSED_FILE
        rows = [(r.email, r.network or "", date, r.reason, str(r.issue or ""), r.detail) for r in added]
        append_rows(path, SUPPRESSED_COLUMNS, rows)
    return added

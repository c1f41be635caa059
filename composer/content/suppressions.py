"""Writing recipients/suppressed.csv: who stops receiving the Update, from what, why and since when.

Every row says its reason (unsubscribed, bounced, soft-bounced) and the Update it came from, so
the office can review a suppression and undo it by deleting the row. Rows are only ever appended;
a file written before the reason and issue columns existed gets them added to its header.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from composer.content.csvfiles import append_row
from composer.content.project import Project
from composer.content.recipients import ALL_NETWORKS, SUPPRESSED_COLUMNS, SUPPRESSED_FILE, read_lists

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
    project: Project, wanted: Iterable[Suppression], *, today: dt.date | None = None
) -> list[Suppression]:
    """Append the suppressions not already in force (by address and network); returns those added."""
    blocked = {email: set(networks) for email, networks in read_lists(project).suppressed.items()}
    path = project.root / SUPPRESSED_FILE
    date = (today or dt.date.today()).isoformat()
    added = []
    for row in wanted:
        held = blocked.setdefault(row.email.lower(), set())
        if ALL_NETWORKS in held or row.network in held:
            continue
        _upgrade_header(path)
        values = (row.email, row.network or "", date, row.reason, str(row.issue or ""), row.detail)
        append_row(path, SUPPRESSED_COLUMNS, values)
        held.add(row.network)
        added.append(row)
    return added


def _upgrade_header(path: Path) -> None:
    """Give a file with an older header (email,network,date) the columns that rows now carry."""
    if not path.exists():
        return
    data = path.read_bytes()
    first, newline, rest = data.partition(b"\n")
    delimiter = ";" if b";" in first and b"," not in first else ","
    names = [name.strip().lower() for name in first.decode("utf-8-sig", "replace").split(delimiter)]
    if not first.strip() or all(column in names for column in SUPPRESSED_COLUMNS):
        return
    missing = [column for column in SUPPRESSED_COLUMNS if column not in names]
    cr = b"\r" if first.endswith(b"\r") else b""
    header = first.rstrip(b"\r") + (delimiter + delimiter.join(missing)).encode("ascii") + cr
    path.write_bytes(header + newline + rest)

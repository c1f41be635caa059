"""`composer send`: the send to the mailing lists, its dry run, and test and review copies.

Each loads the project once and hands it to the delivery library; the options' rules (which go
together) are checked here, before anything is loaded.
"""

from __future__ import annotations

from collections.abc import Collection

from composer.delivery import copies, sending
from composer.errors import ComposerError
from composer.workspace import on_folder


def check_options(
    *, to: str | None, review: bool, editions: Collection[str], dry_run: bool, networks: Collection[str]
) -> None:
    """Refuse options that do not go together, with what each one does."""
    if to and dry_run:
        raise ComposerError("--dry-run and --to cannot go together: --to sends a test copy at once")
    if review and (to or dry_run or networks):
        raise ComposerError("--review goes alone: it sends every edition (or each --edition) to review.to")
    if editions and not review:
        raise ComposerError("--edition goes with --review (for one edition to yourself: --to with --network)")


# Each loads the project once and calls the delivery library with the rest of its arguments.
send = on_folder(sending.send_issue)  # everyone who has not had the issue yet
dry_run = on_folder(sending.plan_send)  # `--dry-run`: the summary, sending and writing nothing
copy_to = on_folder(copies.send_test)  # `--to`: one copy, the journal untouched
review = on_folder(copies.send_review)  # `--review`: a copy of every edition to each reviewer

"""`composer send`: the send to the mailing lists, its dry run, and test and review copies.

Each loads the project once and hands it to the delivery library; the options' rules (which go
together) are checked here, before anything is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TypedDict, Unpack

from composer.delivery import copies, sending
from composer.delivery.copies import CopySent
from composer.delivery.engine import Progress
from composer.delivery.sending import SendPlan, SendReport
from composer.errors import ComposerError
from composer.workspace import Workspace


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


class PlanOptions(TypedDict, total=False):
    """What a send and its dry run are asked for (see delivery/sending.py)."""

    networks: Collection[str]
    transport: str | None
    rate: int | None
    resend_uncertain: bool
    link_check: bool
    env: Mapping[str, str] | None


class SendOptions(PlanOptions, total=False):
    """A send's options, and what it shows while it runs."""

    confirm: Callable[[SendPlan], None] | None
    progress: Callable[[Progress], None] | None


def send(root: Path, ref: str | None = None, **options: Unpack[SendOptions]) -> SendReport:
    """Send the issue (default: the latest) to everyone who has not had it; `confirm` may raise to
    cancel after the summary; `link_check`: send nothing while a link of the issue is dead."""
    return sending.send_issue(Workspace(root).project, ref, **options)


def dry_run(root: Path, ref: str | None = None, **options: Unpack[PlanOptions]) -> SendPlan:
    """`--dry-run`: the summary of the send, sending nothing and writing nothing."""
    return sending.plan_send(Workspace(root).project, ref, **options)


def copy_to(
    root: Path,
    ref: str | None = None,
    *,
    to: str,
    networks: Collection[str] = (),
    transport: str | None = None,
    env: Mapping[str, str] | None = None,
) -> CopySent:
    """`--to`: one copy of the full edition (or of the networks' edition) to `to`."""
    return copies.send_test(
        Workspace(root).project, ref, to=to, networks=networks, transport=transport, env=env
    )


def review(
    root: Path,
    ref: str | None = None,
    *,
    editions: Collection[str] = (),
    transport: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[CopySent]:
    """`--review`: a [REVIEW] copy of every edition (or of those named) to each reviewer."""
    return copies.send_review(Workspace(root).project, ref, editions=editions, transport=transport, env=env)

"""`composer unsubscribe`: an address, or the signed token of an unsubscribe link, into the suppressions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from email_validator import EmailNotValidError

from composer.content.fields import usable_address
from composer.content.layout import NETWORKS_FILE
from composer.delivery.tokens import secret, verify_token
from composer.errors import ComposerError, TokenError
from composer.lists.recipients import SUPPRESSED_FILE
from composer.lists.suppressions import Suppression, add_suppressions
from composer.workspace import Workspace


@dataclass(frozen=True)
class Unsubscribed:
    """The outcome of `composer unsubscribe`: who, from what, and whether the file changed."""

    email: str
    network: str | None
    added: bool
    member: bool
    file: Path


def unsubscribe(
    root: Path,
    target: str,
    *,
    network: str | None = None,
    env: Mapping[str, str] | None = None,
    today: dt.date | None = None,
) -> Unsubscribed:
    """Add an address (or the address of a verified token) to the suppression file, once."""
    workspace = Workspace(root)
    project = workspace.project
    if "@" in target:
        try:
            email = usable_address(target)
        except EmailNotValidError as exc:
            raise ComposerError(f"{target!r} is not a usable address: {exc}") from None
    else:
        request = verify_token(target, signing_key=secret(env))
        if network and request.network and network != request.network:
            raise TokenError(f"the token is for network {request.network!r}, not {network!r}")
        email, network = request.email, network or request.network
    if network is not None and network not in project.networks:
        raise ComposerError(f"unknown network id {network!r} (see {NETWORKS_FILE})")
    lists = workspace.lists
    added = add_suppressions(project, lists, [Suppression(email, network, "unsubscribed")], today=today)
    return Unsubscribed(
        email, network, bool(added), lists.find(email) is not None, project.root / SUPPRESSED_FILE
    )

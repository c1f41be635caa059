"""The field types shared by the content model and the settings: one-line text, Markdown, slugs,
email addresses.

They live apart so that settings and model both build on them without importing each other.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80),
    Field(description="lowercase letters, digits and hyphens, e.g. education-network-december"),
]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def _no_control(text: str, *, line_breaks: bool) -> str:
    """Control characters (typed through YAML escapes) break headers and MJML: name the culprit."""
    found = _CONTROL.search(text) or (None if line_breaks else re.search(r"[\r\n\t]", text))
    if found:
        raise ValueError(f"contains the control character U+{ord(found[0]):04X}: remove it")
    return text


Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1),
    AfterValidator(functools.partial(_no_control, line_breaks=False)),
    Field(description="one line of text"),
]
Markdown = Annotated[
    str,
    AfterValidator(functools.partial(_no_control, line_breaks=True)),
    Field(description="Markdown: links, lists, emphasis, quotes"),
]


# RFC 5322's dot-atom: what nearly every address before the @ is, and what needs no normalising.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LOCAL_MAX, _ADDRESS_MAX = 64, 254


def usable_address(value: str) -> str:
    """The ASCII form of an address for envelopes and headers (no DNS lookup); raises if unusable.

    No server is assumed to offer SMTPUTF8, so a non-ASCII local part (zoë@…) is refused. The
    domain is validated once however many members share it (email-validator takes 60 µs an
    address: 6 s for 100,000 people); anything but a plain dot-atom before the @ and an ASCII
    domain that is not an IDN, and any domain it refuses, goes through email-validator whole, so
    the result and the message are its.
    """
    value = value.strip()
    local, at, domain = value.rpartition("@")
    plain = domain.isascii() and "xn--" not in domain.lower()  # an IDN's Unicode form is counted too
    # RFC 2142's role names (POSTMASTER, WWW) are lower-cased by email-validator: its path for them.
    role = local.lower() in CASE_INSENSITIVE_MAILBOX_NAMES
    if at and plain and not role and len(local) <= _LOCAL_MAX and _DOT_ATOM.fullmatch(local):
        ascii_domain = _usable_domain(domain)
        if ascii_domain is not None and len(local) + 1 + len(ascii_domain) <= _ADDRESS_MAX:
            return f"{local}@{ascii_domain}"
    valid = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    return valid.ascii_email or valid.normalized


@functools.lru_cache(maxsize=4096)
def _usable_domain(domain: str) -> str | None:
    """The ASCII form of a domain email-validator accepts after the shortest local part, or None."""
    try:
        return validate_email(f"a@{domain}", check_deliverability=False, allow_smtputf8=False).ascii_domain
    except EmailNotValidError:
        return None


def _usable(value: str) -> str:
    try:
        return usable_address(value)
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not a usable address: {exc}") from None


EmailAddress = Annotated[
    str,
    AfterValidator(_usable),
    Field(description="one email address, ASCII before the @ (it goes into message headers)"),
]


class Strict(BaseModel):
    """Unknown keys are errors: a typo such as `netwroks` must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

"""Unsubscribe tokens: an HMAC over the address (and optionally one network).

Anyone holding a token may unsubscribe that address, so a token must be impossible to make
without the secret. The secret lives only in the environment (COMPOSER_SECRET), never in a file
of the project, so a published repository cannot be used to forge unsubscribes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from composer.errors import ComposerError, TokenError

SECRET_VARIABLE = "COMPOSER_SECRET"
MIN_SECRET_LENGTH = 16
_PURPOSE = b"composer-unsubscribe-v1\x00"


@dataclass(frozen=True)
class Unsubscribe:
    """What a valid token asks for: this address, from one network or (None) from all of them."""

    email: str
    network: str | None


def secret(env: Mapping[str, str] | None = None) -> bytes:
    """The signing secret from the environment; a clear error when it is missing or too short."""
    value = (os.environ if env is None else env).get(SECRET_VARIABLE, "")
    if len(value) < MIN_SECRET_LENGTH:
        raise ComposerError(
            f"set {SECRET_VARIABLE} to a random secret of at least {MIN_SECRET_LENGTH} characters "
            "(for example the output of `python -c 'import secrets; print(secrets.token_urlsafe())'`): "
            "it signs the unsubscribe links, so keep it the same from week to week and out of the repository"
        )
    return value.encode("utf-8")


def make_token(email: str, network: str | None = None, *, signing_key: bytes) -> str:
    """A URL-safe token: the payload in base64, a dot, then the MAC (128 bits)."""
    payload = _payload(email, network)
    return f"{_b64(payload)}.{_b64(_mac(payload, signing_key))}"


def verify_token(token: str, *, signing_key: bytes) -> Unsubscribe:
    """The request a token carries, after checking its MAC in constant time."""
    try:
        encoded_payload, encoded_mac = token.strip().split(".")
        payload, mac = _unb64(encoded_payload), _unb64(encoded_mac)
        email, _, network = payload.decode("utf-8").partition("\x00")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise TokenError("that is not an unsubscribe token (nor an address)") from None
    if not hmac.compare_digest(mac, _mac(payload, signing_key)):
        raise TokenError(f"the token is not valid for this programme (was {SECRET_VARIABLE} changed?)")
    return Unsubscribe(email, network or None)


def unsubscribe_link(base_url: str, token: str) -> str:
    """The settings' unsubscribe URL with the token as its `token` query parameter."""
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}token={quote(token, safe='')}"


def unsubscribe_mailto(address: str, token: str, network: str | None = None) -> str:
    """A mailto link whose subject carries the token, and the network when it asks for one only.

    The token names the person; naming a network in the subject only narrows what it asks for.
    """
    subject = f"unsubscribe {token}" + (f" network={network}" if network else "")
    return f"mailto:{address}?subject={quote(subject)}"


def _payload(email: str, network: str | None) -> bytes:
    return f"{email.lower()}\x00{network or ''}".encode()


def _mac(payload: bytes, signing_key: bytes) -> bytes:
    return hmac.new(signing_key, _PURPOSE + payload, hashlib.sha256).digest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if not text or _b64(data) != text:
        raise ValueError("not canonical base64")
    return data

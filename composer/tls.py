"""The encryption rules shared by every connection composer makes (SMTP out to the relay, IMAP
in from the programme's mailbox): plain text only to this machine or where allowed; certificates
and host names always checked."""

from __future__ import annotations

import ipaddress
import ssl

from composer.errors import ComposerError


def require_encryption(host: str, security: str, *, allow_plaintext: bool, section: str) -> None:
    """Plain text (a password, the members' addresses) only to a loopback host or when allowed."""
    if security == "none" and not (allow_plaintext or is_loopback(host)):
        raise ComposerError(
            f"security: none would talk in plain text to {host}: use starttls or tls, "
            f"or set {section}.allow_plaintext: true if that network is trusted"
        )


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Certificates and host names checked: against the system's CAs, or against `ca_file` alone."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ComposerError(f"cannot read the CA file {ca_file}: {exc}") from None


def is_loopback(host: str) -> bool:
    """Whether a host is this computer only ("localhost", 127.0.0.1, ::1, [::1])."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

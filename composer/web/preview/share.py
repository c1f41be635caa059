"""`composer preview --share`: a read-only review address for colleagues on the office network.

Every path starts with a token that `secrets.token_urlsafe` draws afresh on each run, so the
address is the key: without it every request is a 404, and last week's link stops working. The
pages are the preview's own in their shared form: the editions as `send` sends them (with their
readers counted, never named), the verdict's counts, the reminders, and a form for a comment or
an approval; no member search, no addresses, no personal values, no file paths, no editing.
"""

from __future__ import annotations

import secrets
import socket

from composer.web.preview.app import NOT_FOUND, Preview, Response

TOKEN_BYTES = 24  # 32 URL-safe characters: not guessable, short enough to read out


class Share:
    """The review address's routes: the token first, then the preview's pages in shared form."""

    def __init__(self, app: Preview, token: str | None = None):
        self.app = app
        self.token = token or secrets.token_urlsafe(TOKEN_BYTES)
        self.prefix = f"/{self.token}"

    def _rest(self, target: str) -> str | None:
        """The target without its token, or None when the token is not there (compared in
        constant time, so that timing tells nothing about it)."""
        head, _, rest = target.removeprefix("/").partition("/")
        token, _, query = head.partition("?")
        if not secrets.compare_digest(token.encode(), self.token.encode()):
            return None
        return "/" + rest if not query else "/?" + query

    def respond(self, target: str) -> Response:
        rest = self._rest(target)
        return NOT_FOUND if rest is None else self.app.respond(rest, share=self.prefix)

    def post(self, target: str, form: dict[str, str]) -> Response:
        rest = self._rest(target)
        return NOT_FOUND if rest is None else self.app.post(rest, form, share=self.prefix)


def machine_names(host: str) -> tuple[str, list[str]]:
    """This machine's host name and the addresses colleagues reach it at, for the announcement
    and the Host check: the address bound, or (bound to every address) those its name resolves
    to. Looked up locally: nothing is sent anywhere."""
    name = socket.gethostname()
    if host not in ("", "0.0.0.0", "::"):
        return name, [host]
    try:
        addresses = sorted({info[4][0] for info in socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)})
    except OSError:
        addresses = []
    return name, [str(a) for a in addresses]

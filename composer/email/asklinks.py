"""Asking web servers about links, as politely and as fast as a week's Update allows.

Many servers answer a HEAD, or a client that does not look like a browser, with 403 or 405 while
a browser gets 200: so HEAD first (cheap), then a streamed GET that reads the headers and stops,
with a browser's Accept header and a User-Agent that names composer and the programme's archive
(whoever runs the server can see who asks and why). At most two requests at once go to one
origin and sixteen in all, as browsers limit themselves per origin. Redirects are followed by
hand, up to ten, so that a permanent move can be told from a temporary one.
"""

from __future__ import annotations

import asyncio
import email.utils
import ssl
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urljoin, urlsplit

import httpx

from composer.content.settings import LinkCheck

PER_ORIGIN = 2
IN_ALL = 16
MAX_REDIRECTS = 10
HEAD_REFUSED = frozenset({403, 405, 501})  # answers that often mean "not to a HEAD", not "not to you"
PERMANENT = frozenset({301, 308})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
SERVER_RETRY_DELAY = 1.0  # seconds before a 5xx is asked again, once
IMAGE_LIMIT = 1024 * 1024  # an image heavier than this is slow on a phone
PAGE_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Answer:
    """What a server said about a URL: kept in the cache and judged afresh on every run, since the
    same answer means one thing for a page and another for an image."""

    status: int | None  # the last answer's status; None when there was no answer
    final_url: str  # where the redirects ended
    seconds: float
    error: str = ""  # why there was no answer (refused, TLS, timeout, too many redirects)
    moved_to: str = ""  # where the permanent redirects the chain starts with lead
    content_type: str = ""
    length: int | None = None  # bytes of the body, from Content-Length or counted (images only)
    waited: float = 0.0  # seconds waited for a 429's Retry-After

    @property
    def settled(self) -> bool:
        """Whether the answer may be reused for a day: anything but a failure or a busy server."""
        return (
            not self.error
            and self.status is not None
            and self.status < 500
            and self.status
            not in (
                404,
                410,
                429,
            )
        )


@dataclass(frozen=True)
class _Reply:
    status: int
    location: str
    content_type: str
    length: int | None
    retry_after: float | None


def user_agent(archive_url: str) -> str:
    """Composer and the programme's archive, for whoever reads the server's logs."""
    try:
        release = version("composer")
    except PackageNotFoundError:  # running from a source tree that was never installed
        release = "dev"
    return f"Mozilla/5.0 (compatible; composer/{release} link check; +{archive_url})"


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: a number of seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Asker:
    """One run's client, with its limits per origin and in all."""

    def __init__(
        self,
        settings: LinkCheck,
        *,
        agent: str,
        language: str,
        sleep: Sleep = asyncio.sleep,
        server_retry_delay: float = SERVER_RETRY_DELAY,
    ):
        self.settings = settings
        self.sleep, self.server_retry_delay = sleep, server_retry_delay
        self.headers = {"User-Agent": agent, "Accept-Language": f"{language},en;q=0.8"}
        self._origins: defaultdict[tuple[str, str], asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(PER_ORIGIN)
        )
        self._all = asyncio.Semaphore(IN_ALL)

    async def ask_all(self, urls: Iterable[tuple[str, bool]]) -> dict[str, Answer]:
        """Every (url, is_image) at once, within the limits; an answer for each."""
        context = ssl.create_default_context()  # the system's certificates, as for SMTP and IMAP
        limits = httpx.Limits(max_connections=IN_ALL, max_keepalive_connections=IN_ALL)
        async with httpx.AsyncClient(
            verify=context, limits=limits, timeout=httpx.Timeout(self.settings.timeout, pool=None)
        ) as client:
            pending = list(urls)
            answers = await asyncio.gather(*(self.answer(client, url, image) for url, image in pending))
        return {url: answer for (url, _), answer in zip(pending, answers, strict=True)}

    async def answer(self, client: httpx.AsyncClient, url: str, image: bool) -> Answer:
        """The answer for one URL, redirects followed; a failure to answer is an Answer too."""
        started = time.monotonic()
        current, moved_to, permanent, waited = url, "", True, 0.0

        def done(status: int | None, error: str = "", reply: _Reply | None = None) -> Answer:
            return Answer(
                status,
                current,
                time.monotonic() - started,
                error=error,
                moved_to=moved_to,
                content_type=reply.content_type if reply else "",
                length=reply.length if reply else None,
                waited=waited,
            )

        try:
            for _ in range(MAX_REDIRECTS + 1):
                reply, slept = await self._ask(client, current, image)
                waited += slept
                if reply.status in REDIRECTS and reply.location:
                    target = urljoin(current, reply.location)
                    permanent = permanent and reply.status in PERMANENT
                    if permanent:
                        moved_to = target
                    current = target
                    continue
                return done(reply.status, reply=reply)
            return done(None, f"more than {MAX_REDIRECTS} redirects")
        except (TimeoutError, httpx.TimeoutException):
            return done(None, f"no answer within {self.settings.timeout:g} s")
        except httpx.HTTPError as exc:
            return done(None, _reason(exc))
        except Exception as exc:  # an address that cannot even be sent (a port over 65535) is that
            # link's error: it must not stop the check of the others
            cause: BaseException = exc
            while isinstance(cause, BaseExceptionGroup) and cause.exceptions:
                cause = cause.exceptions[0]
            return done(None, f"not a usable address ({cause})")

    async def _ask(self, client: httpx.AsyncClient, url: str, image: bool) -> tuple[_Reply, float]:
        """One URL's answer without following it: a 5xx asked again once, a 429 after its
        Retry-After (capped); the slots are let go while waiting. Also the seconds waited for a 429."""
        reply = await self._once(client, url, image)
        if reply.status == 429:
            wait = min(reply.retry_after or 1.0, self.settings.retry_after_max)
            await self.sleep(wait)
            return await self._once(client, url, image), wait
        if reply.status >= 500:
            await self.sleep(self.server_retry_delay)
            return await self._once(client, url, image), 0.0
        return reply, 0.0

    async def _once(self, client: httpx.AsyncClient, url: str, image: bool) -> _Reply:
        parts = urlsplit(url)
        async with self._all, self._origins[parts.scheme, parts.netloc]:
            try:
                reply = await self._request(client, "HEAD", url, image)
            except (httpx.RemoteProtocolError, httpx.ReadError):  # a server that drops a HEAD
                reply = None
            if reply is None or reply.status in HEAD_REFUSED:
                reply = await self._request(client, "GET", url, image)
            return reply

    async def _request(self, client: httpx.AsyncClient, method: str, url: str, image: bool) -> _Reply:
        """A request whose body is not read, except an image's of unknown size, counted up to
        just over the limit; bounded in all by the timeout, however slowly the server trickles."""
        headers = {**self.headers, "Accept": IMAGE_ACCEPT if image else PAGE_ACCEPT}
        async with asyncio.timeout(self.settings.timeout):
            request = client.build_request(method, url, headers=headers)
            response = await client.send(request, stream=True)
            try:
                declared = response.headers.get("Content-Length", "")
                length = int(declared) if declared.isdigit() else None
                if method == "GET" and image and length is None and response.status_code < 300:
                    length = 0
                    async for chunk in response.aiter_raw():
                        length += len(chunk)
                        if length > IMAGE_LIMIT:
                            break
            finally:
                await response.aclose()
        return _Reply(
            response.status_code,
            response.headers.get("Location", ""),
            response.headers.get("Content-Type", ""),
            length,
            retry_after(response.headers.get("Retry-After")),
        )


def _reason(exc: httpx.HTTPError) -> str:
    """Why a request got no answer, in a reader's words (the certificate case named as such)."""
    text = str(exc) or type(exc).__name__
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"its certificate is not valid ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failed ({cause.reason or cause})"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({text})"
    return text

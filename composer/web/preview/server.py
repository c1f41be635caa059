"""The preview's HTTP server: the application behind `http.server`, its watcher and worker threads.

It listens on the loopback address unless told otherwise, and answers only requests that name
it: the guard against a web page elsewhere reading the members' addresses through the browser.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Collection
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from composer.errors import ComposerError
from composer.tls import is_loopback
from composer.web.preview.app import Preview, Response
from composer.web.preview.editor import EDITING, MAX_EDIT, Editor
from composer.web.preview.share import Share, machine_names
from composer.web.preview.watch import INTERVAL, SETTLE

MAX_FORM = 16_384  # bytes: a comment is at most 4,000 characters
DEFAULT_HOST = "127.0.0.1"  # loopback: nobody but this computer's users sees the members' addresses


def host_allowed(header: str, *, host: str, port: int, names: Collection[str] = ()) -> bool:
    """Whether a request's Host header names this server: the guard against DNS rebinding.

    A web page elsewhere can point a name it controls at 127.0.0.1 and read the preview (and the
    members' addresses in it) through the browser of whoever opens it; its requests carry that
    name. Bound to every address, an IP address typed in the browser is ours too. `names`: more
    names that are ours (the review address accepts this machine's host name).
    """
    name, _, given_port = header.strip().lower().rpartition(":")
    if given_port != str(port):
        return False
    bound = host.lower()
    ours = {"127.0.0.1", "localhost", "[::1]", f"[{bound}]" if ":" in bound else bound}
    if name in ours | {n.lower() for n in names}:
        return True
    try:
        ipaddress.ip_address(name.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return host in ("", "0.0.0.0", "::")


class App(Protocol):
    """What a server serves: the manager's preview, or the review address (share.py)."""

    def respond(self, target: str) -> Response: ...

    def post(self, target: str, form: dict[str, str]) -> Response: ...


def _text(status: int, message: str) -> Response:
    return Response(status, message.encode(), "text/plain; charset=utf-8")


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        self._answer(lambda: self.server.routes.respond(self.path))

    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        """A form: only from a page of this server (its Origin), and small. A change to the files
        (the editor's) must name its Origin: every browser does for a POST."""
        length = self.headers.get("Content-Length", "")
        origin = self.headers.get("Origin")
        editing = EDITING.fullmatch(urlsplit(self.path).path) is not None
        limit = MAX_EDIT if editing else MAX_FORM
        if (origin is None and editing) or (
            origin is not None and origin != f"http://{self.headers.get('Host', '')}"
        ):
            self._send(_text(HTTPStatus.FORBIDDEN, "A form from another site is refused."))
        elif not length.isdigit() or int(length) > limit:
            self._send(_text(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"A form is at most {limit:,} bytes."))
        else:
            data = self.rfile.read(int(length)).decode("utf-8", errors="replace")
            form = {key: values[-1] for key, values in parse_qs(data).items()}
            self._answer(lambda: self.server.routes.post(self.path, form))

    def _answer(self, respond: Callable[[], Response]) -> None:
        server = self.server
        try:
            if host_allowed(
                self.headers.get("Host", ""), host=server.host, port=server.server_port, names=server.names
            ):
                response = respond()
            else:
                message = f"This preview answers at {server.url} only."
                response = _text(HTTPStatus.MISDIRECTED_REQUEST, message)
        except Exception as exc:  # a bug must not take the preview down with it
            response = _text(HTTPStatus.INTERNAL_SERVER_ERROR, f"Preview failed: {exc!r}")
        self._send(response)

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Referrer-Policy", "same-origin")  # the review address's token stays here
            if response.location:
                self.send_header("Location", response.location)
            self.end_headers()
            self.wfile.write(response.body)
        except ConnectionError:
            pass  # the browser moved on (a long poll outlived its page): nobody to answer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the core never prints."""


class PreviewServer(ThreadingHTTPServer):
    """The HTTP server around a Preview, with the threads that rebuild and check it."""

    daemon_threads = True

    def __init__(self, app: Preview, host: str, port: int):
        super().__init__((host, port), _Handler)
        self.app, self.host = app, host
        self.routes: App = app
        self.names: Collection[str] = ()
        self.url = f"http://{host}:{self.server_port}/"

    def watch(self) -> None:
        """The watcher (rebuilds on a save) and the worker (checks issues in full) threads."""
        threading.Thread(target=self.app.watch, name="preview-watcher", daemon=True).start()
        threading.Thread(target=self.app.work, name="preview-worker", daemon=True).start()

    def start(self) -> PreviewServer:
        """Watch and serve in background threads (tests; `serve` blocks instead)."""
        self.watch()
        threading.Thread(target=self.serve_forever, name="preview-server", daemon=True).start()
        return self

    def close(self) -> None:
        self.app.stop()
        self.shutdown()
        self.server_close()


class ShareServer(PreviewServer):
    """The review address beside a running preview: the same builds, its own token and names.

    It binds where it is told and nowhere else; its own threads only serve (the preview's
    watcher and worker do the rest)."""

    def __init__(self, preview: Preview, host: str, port: int, token: str | None = None):
        super().__init__(preview, host, port)
        share = Share(preview, token)
        self.routes = share
        name, addresses = machine_names(host)
        self.names = [name, *addresses]
        shown = name if host in ("", "0.0.0.0", "::") else host
        self.url = f"http://{shown}:{self.server_port}{share.prefix}/"
        self.urls = [f"http://{n}:{self.server_port}{share.prefix}/" for n in dict.fromkeys(self.names)]

    def start(self) -> ShareServer:
        threading.Thread(target=self.serve_forever, name="preview-share", daemon=True).start()
        return self

    def close(self) -> None:
        self.shutdown()
        self.server_close()


def open_preview(
    root: Path,
    *,
    host: str = DEFAULT_HOST,
    port: int = 8000,
    interval: float = INTERVAL,
    settle: float = SETTLE,
) -> PreviewServer:
    """Build the project once and bind the server (port 0: any free port); with the editor on a
    loopback address, read-only anywhere else."""
    try:
        server = PreviewServer(Preview(root, interval=interval, settle=settle), host, port)
    except OSError as exc:
        raise ComposerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    if is_loopback(host):  # the editor is offered on this computer only
        server.routes = Editor(server.app)
    return server


def serve(
    root: Path,
    *,
    host: str = DEFAULT_HOST,
    port: int,
    on_ready: Callable[[str], None],
    share: tuple[str, int] | None = None,
    on_share: Callable[[list[str]], None] | None = None,
) -> None:
    """`composer preview`: serve until Ctrl-C; `on_ready` gets the URL once it is listening.

    `share`: also serve the review address at this (host, port); `on_share` gets its URLs, by
    this machine's name first, then by its addresses.
    """
    server = open_preview(root, host=host, port=port)
    shared = None
    if share is not None:
        try:
            shared = ShareServer(server.app, *share)
        except OSError as exc:
            server.server_close()
            raise ComposerError(f"cannot listen on {share[0]}:{share[1]}: {exc.strerror or exc}") from exc
    server.watch()
    on_ready(server.url)
    if shared is not None and on_share is not None:
        shared.start()
        on_share(shared.urls)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.app.stop()
        if shared is not None:
            shared.close()
        server.server_close()

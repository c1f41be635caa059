"""The preview's HTTP server: the application behind `http.server`, its watcher and worker threads.

It listens on the loopback address unless told otherwise, and answers only requests that name
it: the guard against a web page elsewhere reading the members' addresses through the browser.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from composer.errors import ComposerError
from composer.web.preview.app import Preview, Response
from composer.web.preview.watch import INTERVAL, SETTLE

PLAIN = "text/plain; charset=utf-8"
DEFAULT_HOST = "127.0.0.1"  # loopback: nobody but this computer's users sees the members' addresses


def host_allowed(header: str, *, host: str, port: int) -> bool:
    """Whether a request's Host header names this server: the guard against DNS rebinding.

    A web page elsewhere can point a name it controls at 127.0.0.1 and read the preview (and the
    members' addresses in it) through the browser of whoever opens it; its requests carry that
    name. Bound to every address, an IP address typed in the browser is ours too.
    """
    name, _, given_port = header.strip().lower().rpartition(":")
    if given_port != str(port):
        return False
    bound = host.lower()
    if name in ("127.0.0.1", "localhost", "[::1]", f"[{bound}]" if ":" in bound else bound):
        return True
    try:
        ipaddress.ip_address(name.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return host in ("", "0.0.0.0", "::")


MAX_FORM_BYTES = 4096  # the "Check links" form holds one checkbox


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        self._answer(lambda: self.server.app.respond(self.path))

    def do_POST(self) -> None:  # noqa: N802
        """A form of the preview's own pages; a page elsewhere cannot make the browser post one
        (its Origin is not ours), so it cannot set the preview asking the links on its behalf."""
        origin = self.headers.get("Origin")
        if origin is not None and origin.rstrip("/") != f"http://{self.headers.get('Host', '')}":
            self._reply(Response(HTTPStatus.FORBIDDEN, b"Forms post from this preview only.", PLAIN))
            return
        length = self.headers.get("Content-Length", "0")
        size = int(length) if length.isdigit() else MAX_FORM_BYTES + 1
        if size > MAX_FORM_BYTES:
            self._reply(Response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"Form too large.", PLAIN))
            return
        form = dict(parse_qsl(self.rfile.read(size).decode("utf-8", errors="replace")))
        self._answer(lambda: self.server.app.post(self.path, form))

    def _answer(self, respond: Callable[[], Response]) -> None:
        server = self.server
        try:
            if host_allowed(self.headers.get("Host", ""), host=server.host, port=server.server_port):
                response = respond()
            else:
                message = f"This preview answers at {server.url} only."
                response = Response(HTTPStatus.MISDIRECTED_REQUEST, message.encode(), PLAIN)
        except Exception as exc:  # a bug must not take the preview down with it
            response = Response(HTTPStatus.INTERNAL_SERVER_ERROR, f"Preview failed: {exc!r}".encode(), PLAIN)
        self._reply(response)

    def _reply(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            if response.location:
                self.send_header("Location", response.location)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Cache-Control", "no-store")
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


def open_preview(
    root: Path,
    *,
    host: str = DEFAULT_HOST,
    port: int = 8000,
    interval: float = INTERVAL,
    settle: float = SETTLE,
) -> PreviewServer:
    """Build the project once and bind the server (port 0: any free port)."""
    try:
        return PreviewServer(Preview(root, interval=interval, settle=settle), host, port)
    except OSError as exc:
        raise ComposerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def serve(root: Path, *, host: str = DEFAULT_HOST, port: int, on_ready: Callable[[str], None]) -> None:
    """`composer preview`: serve until Ctrl-C; `on_ready` gets the URL once it is listening."""
    server = open_preview(root, host=host, port=port)
    server.watch()
    on_ready(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.app.stop()
        server.server_close()

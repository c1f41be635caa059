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

from composer.errors import ComposerError
from composer.web.preview.app import Preview, Response
from composer.web.preview.watch import INTERVAL, SETTLE

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


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        server = self.server
        try:
            if host_allowed(self.headers.get("Host", ""), host=server.host, port=server.server_port):
                response = server.app.respond(self.path)
            else:
                message = f"This preview answers at {server.url} only."
                response = Response(
                    HTTPStatus.MISDIRECTED_REQUEST, message.encode(), "text/plain; charset=utf-8"
                )
        except Exception as exc:  # a bug must not take the preview down with it
            response = Response(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                f"Preview failed: {exc!r}".encode(),
                "text/plain; charset=utf-8",
            )
        try:
            self.send_response(response.status)
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

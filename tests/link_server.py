"""A scripted web server on 127.0.0.1 for the link checks: one path per case, every request logged.

Plain HTTP, or HTTPS with a certificate made by `openssl` (signed by a test CA the tests trust
through SSL_CERT_FILE, or self-signed, which nothing trusts). Nothing leaves this machine.
"""

from __future__ import annotations

import ssl
import subprocess
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BIG_IMAGE = 2 * 1024 * 1024


class Gauge:
    """Requests in flight, and the most there were at once (shared by servers to count them all)."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.now -= 1


class LinkServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, *, context: ssl.SSLContext | None = None, delay: float = 0.0, gauge: Gauge | None = None
    ):
        super().__init__(("127.0.0.1", 0), _Handler)
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if context else "http"
        self.delay = delay  # seconds before every answer (the benchmark's 100 ms)
        self.log: list[tuple[str, str]] = []  # (method, path) of every request
        self.headers_seen: list[dict[str, str]] = []
        self.counts: Counter[str] = Counter()
        self.redirect_to_https = ""  # the base URL that /to-https moves to
        self.gauge = Gauge()  # this server's requests at once
        self.shared = gauge or Gauge()  # with other servers'
        self._lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_port}"

    def start(self) -> LinkServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: a client that refuses our certificate or hangs up is a case, not a failure (and a
        traceback here would land in the output of the command under test)."""

    def asked(self, path: str) -> int:
        return sum(logged == path for _, logged in self.log)

    def record(self, method: str, path: str, headers: dict[str, str]) -> int:
        with self._lock:
            self.log.append((method, path))
            self.headers_seen.append(headers)
            self.counts[path] += 1
            return self.counts[path]


class _Handler(BaseHTTPRequestHandler):
    server: LinkServer
    protocol_version = "HTTP/1.1"

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer("HEAD")

    def do_GET(self) -> None:  # noqa: N802
        self._answer("GET")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet."""

    def _answer(self, method: str) -> None:
        path = self.path
        times = self.server.record(method, path, dict(self.headers.items()))
        with self.server.gauge, self.server.shared:
            if self.server.delay:
                time.sleep(self.server.delay)
            status, headers, body = _script(self.server, method, path, times)
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if method == "GET":
                self.wfile.write(body)
        except (ConnectionError, ssl.SSLError):
            pass  # the checker closes a streamed GET once it has the headers


HTML = {"Content-Type": "text/html; charset=utf-8"}


def _script(server: LinkServer, method: str, path: str, times: int) -> tuple[int, dict[str, str], bytes]:
    """The scripted answer of each case: (status, headers, body)."""
    page = b"<!doctype html><title>ok</title>"
    name = path.split("?")[0]
    if name.startswith("/ok"):
        return 200, HTML, page
    if name == "/chain":
        return 301, {"Location": "/chain-2"}, b""
    if name == "/chain-2":
        return 308, {"Location": f"{server.base}/ok-after-chain"}, b""
    if name == "/temporary":
        return 302, {"Location": "/ok-after-302"}, b""
    if name == "/gone":
        return 404, HTML, b"not found"
    if name == "/removed":
        return 410, HTML, b"gone"
    if name == "/flaky":
        return (500, HTML, b"oops") if times == 1 else (200, HTML, page)
    if name == "/failing":
        return 503, HTML, b"down"
    if name == "/busy":
        return 429, {**HTML, "Retry-After": "1"}, b"slow down"
    if name == "/busy-long":
        return 429, {**HTML, "Retry-After": "3600"}, b"slow down"
    if name == "/head-405":
        return (405, HTML, b"") if method == "HEAD" else (200, HTML, page)
    if name == "/head-403":
        return (403, HTML, b"") if method == "HEAD" else (200, HTML, page)
    if name == "/members-only":
        return 403, HTML, b"forbidden"
    if name == "/slow":
        time.sleep(3)
        return 200, HTML, page
    if name == "/big.png":
        return 200, {"Content-Type": "image/png"}, b"\x89PNG" + b"\0" * (BIG_IMAGE - 4)
    if name == "/small.png":
        return 200, {"Content-Type": "image/png"}, b"\x89PNG" + b"\0" * 100
    if name == "/not-an-image.png":
        return 200, HTML, page
    if name == "/to-https":
        return 301, {"Location": f"{server.redirect_to_https}/ok-on-https"}, b""
    if "unsubscribe" in name:
        return 200, HTML, b"you are unsubscribed"
    if name == "/loop":
        return 302, {"Location": "/loop"}, b""
    return 404, HTML, b"no such case"


def make_certificates(folder: Path) -> tuple[Path, ssl.SSLContext, ssl.SSLContext]:
    """A test CA (its PEM, for SSL_CERT_FILE), a server context with a certificate it signed for
    127.0.0.1, and one with a self-signed certificate; made by the `openssl` command."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    new_key = ["-newkey", "rsa:2048", "-nodes", "-days", "2"]
    ip = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    run("req", "-x509", *new_key, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=composer test CA")
    run("req", *new_key, "-keyout", "good.key", "-out", "good.csr", "-subj", "/CN=127.0.0.1")
    signed_by_ca = ["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-extfile", "san.ext"]
    run("x509", "-req", "-in", "good.csr", *signed_by_ca, "-days", "2", "-out", "good.pem")
    run("req", "-x509", *new_key, "-keyout", "self.key", "-out", "self.pem", *ip)
    contexts = []
    for name in ("good", "self"):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(folder / f"{name}.pem", folder / f"{name}.key")
        contexts.append(context)
    return folder / "ca.pem", contexts[0], contexts[1]

"""A real IMAP server for tests: Debian's Dovecot, started unprivileged on 127.0.0.1 with a
throwaway configuration, a self-signed certificate made with openssl, and one maildir user.

Two listeners: plain IMAP (STARTTLS offered, plain-text login allowed, for the loopback case)
and IMAPS. The messages are files in the maildir, so a test can see that nothing was deleted.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DOVECOT = Path("/usr/sbin/dovecot")
USER = "office@secip.example.org"

_CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = {login}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = {uid}
last_valid_uid = {uid}
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%n
mail_uid = {uid}
mail_gid = {gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%n
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ImapServer:
    """Start with `start()`; `inbox` and `folder(name)` are the maildir folders as Paths."""

    password: str
    root: Path | None = None
    port: int = 0
    tls_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def cert(self) -> Path:
        assert self.root is not None
        return self.root / "cert.pem"

    def folder(self, name: str = "") -> Path:
        """The maildir of a folder: '' for the inbox, 'composer/processed' for a subfolder."""
        assert self.root is not None
        base = self.root / "mail" / USER.partition("@")[0]
        return base / ("." + name.replace("/", ".")) if name else base

    def messages(self, name: str = "") -> list[bytes]:
        folder = self.folder(name)
        return [
            p.read_bytes()
            for sub in ("new", "cur")
            if (folder / sub).is_dir()
            for p in (folder / sub).iterdir()
        ]

    def deliver(self, name: str, data: bytes) -> None:
        """Put a message in the inbox as a delivery agent would (a new file in new/)."""
        (self.folder() / "new" / f"{time.time_ns()}.{name}").write_bytes(data)
        self._own(self.folder())

    def start(self) -> ImapServer:
        # Dovecot will not run its mail processes as root: as root, the tests run it as nobody.
        account = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
        self.root = Path(tempfile.mkdtemp(prefix="composer-imap-"))
        self.root.chmod(0o755)
        self.port, self.tls_port = _free_port(), _free_port()
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(self.root / "key.pem"), "-out", str(self.cert)],
            check=True, capture_output=True,
        )  # fmt: skip
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{self.password}\n")
        group = subprocess.run(["id", "-gn", account.pw_name], capture_output=True, text=True).stdout.strip()
        config = self.root / "dovecot.conf"
        config.write_text(
            _CONFIG.format(
                root=self.root, login=account.pw_name, group=group, uid=account.pw_uid, gid=account.pw_gid,
                port=self.port, tls_port=self.tls_port,
            )
        )  # fmt: skip
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir()
        for sub in ("new", "cur", "tmp"):
            (self.folder() / sub).mkdir(parents=True)
        self._own(self.root)
        self.process = subprocess.Popen(
            [str(DOVECOT), "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            user=account.pw_uid if os.geteuid() == 0 else None,
            group=account.pw_gid if os.geteuid() == 0 else None,
        )
        self._wait()
        return self

    def _own(self, path: Path) -> None:
        if os.geteuid() != 0:
            return
        account = pwd.getpwnam("nobody")
        for item in [path, *path.rglob("*")]:
            os.chown(item, account.pw_uid, account.pw_gid)

    def _wait(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot stopped: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.tls_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start: {self.log()}")

    def log(self) -> str:
        assert self.root is not None
        path = self.root / "dovecot.log"
        stopped = self.process is not None and self.process.poll() is not None
        stderr = (
            self.process.stderr.read().decode() if stopped and self.process and self.process.stderr else ""
        )
        return (path.read_text() if path.exists() else "") + stderr

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

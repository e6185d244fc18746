"""A private Dovecot with IMAP, POP3 and OAuth2 sign-in for tests and benchmarks, on
127.0.0.1 only.

The shared note "dovecot-imap-oauth2" is followed exactly: passwords (IMAP ``LOGIN``, POP3
``USER``/``PASS``, ``AUTH PLAIN``) go only to a passwd-file, tokens (``XOAUTH2``,
``OAUTHBEARER``) only to an ``oauth2`` passdb whose introspection URL is
:class:`Introspection`, a small HTTP endpoint in this process. The anvil auth penalty is off
(a fresh ``base_dir`` each time), so a refused token does not slow the next login.

    with DovecotImap.start() as server:
        box = server.mailbox()                     # a user with an empty Maildir
        box.deliver([receipt_email("m1")])          # into INBOX (or folder="Receipts")
        token = server.tokens.grant(box.user)       # accepted for box.user
        server.tokens.expire(token)                 # ... and now refused
        server.imaps_port, server.imap_port         # IMAPS; IMAP with STARTTLS
        server.pop3s_port, server.pop3_port         # POP3S; POP3 with STLS

``capabilities`` replaces the capability list Dovecot announces after login (e.g. one
without ``MOVE``), to test a client's fallbacks; Dovecot still runs the commands.

Self-contained on purpose: the test-infrastructure branch extends ``tests/support/dovecot.py``
with the same abilities; this module can give way to it once both are merged.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from tests.support.dovecot import free_port, make_ca

__all__ = ["DovecotImap", "ImapMailbox", "Introspection", "make_server_cert"]

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
IMAP_BINARY = "/usr/lib/dovecot/imap"
MAIL_UID = 65534
MAIL_GID = 65534
READY_TIMEOUT = 15.0

_user_seq = itertools.count(1)
_msg_seq = itertools.count(1)


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {proc.stderr.strip()}")


def make_server_cert(
    directory: Path, ca_crt: Path, ca_key: Path, name: str = "server"
) -> tuple[Path, Path]:
    """A certificate for ``localhost`` and ``127.0.0.1`` signed by the CA: ``(crt, key)``."""
    key, csr, crt = directory / f"{name}.key", directory / f"{name}.csr", directory / f"{name}.crt"
    ext = directory / f"{name}.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
    )
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key.name, cwd=directory)
    _openssl("req", "-new", "-key", key.name, "-out", csr.name, "-subj", "/CN=localhost",
             cwd=directory)  # fmt: skip
    _openssl(
        "x509", "-req", "-in", csr.name, "-CA", str(ca_crt), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", crt.name, "-days", "2", "-extfile", ext.name,
        cwd=directory,
    )  # fmt: skip
    return crt, key


class Introspection:
    """The token introspection endpoint Dovecot's ``oauth2`` passdb asks (RFC 7662 style,
    ``introspection_mode = post``): ``{"active": true, "username": USER}`` for a granted
    token, ``{"active": false}`` for an expired or unknown one, and while
    :attr:`fail_status` is set, that HTTP status with no JSON (Dovecot: temporary failure).
    ``asked`` lists every token asked about, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, bool]] = {}
        self.fail_status: int | None = None
        self.asked: list[str] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
                token = (form.get("token") or [""])[0]
                status, body = endpoint._answer(token)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/introspect"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _answer(self, token: str) -> tuple[int, bytes]:
        with self._lock:
            self.asked.append(token)
            if self.fail_status is not None:
                return self.fail_status, b"no"
            user, active = self._tokens.get(token, ("", False))
        answer: dict[str, object] = {"active": True, "username": user} if active else {}
        answer.setdefault("active", False)
        return 200, json.dumps(answer).encode()

    def grant(self, user: str, token: str | None = None) -> str:
        """A token (new, or ``token``) that signs ``user`` in."""
        token = token or "tok-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (user, True)
        return token

    def expire(self, token: str) -> None:
        """From now on ``token`` is refused."""
        with self._lock:
            user, _ = self._tokens.get(token, ("", False))
            self._tokens[token] = (user, False)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


_CONF = """\
# private test instance; nothing here touches the system's Dovecot
instance_name = {instance}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
default_login_user = dovenull
default_internal_user = dovecot
ssl = yes
ssl_cert = <{root}/tls/server.crt
ssl_key = <{root}/tls/server.key
disable_plaintext_auth = no
auth_mechanisms = plain xoauth2 oauthbearer
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u/Maildir
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {uid}
first_valid_gid = {gid}
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  mechanisms = plain
  args = scheme=PLAIN username_format=%u {root}/passwd.d/%u
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
userdb {{
  driver = static
  # allow_all_users: doveadm's user lookups need no passdb
  args = uid={uid} gid={gid} home={root}/mail/%u allow_all_users=yes
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {pop3s_port}
    ssl = yes
  }}
}}
{extra}
"""

_OAUTH2_CONF = """\
introspection_url = {url}
introspection_mode = post
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 2000
"""


def folder_dir(maildir: Path, folder: str) -> Path:
    """The Maildir++ directory of ``folder`` (``/``-separated) inside ``maildir``."""
    if folder.upper() == "INBOX":
        return maildir
    return maildir / ("." + folder.replace("/", "."))


@dataclass
class ImapMailbox:
    """One user of a :class:`DovecotImap`, with its Maildir."""

    server: DovecotImap
    user: str
    password: str
    maildir: Path

    def folder(self, folder: str) -> Path:
        path = folder_dir(self.maildir, folder)
        for sub in ("", "tmp", "new", "cur"):
            (path / sub).mkdir(exist_ok=True)
            os.chown(path / sub, MAIL_UID, MAIL_GID)
        if path != self.maildir:
            marker = path / "maildirfolder"
            marker.touch()
            os.chown(marker, MAIL_UID, MAIL_GID)
        return path

    def deliver(self, messages: Iterable[bytes], folder: str = "INBOX") -> list[Path]:
        """Drop messages into ``folder`` as a delivery agent does (``tmp``, then renamed into
        ``new``); the next IMAP command that syncs sees them. Returns their files."""
        path = self.folder(folder)
        host = socket.gethostname()
        base = int(time.time())
        out = []
        for data in messages:
            name = f"{base}.M{next(_msg_seq)}P{os.getpid()}R{uuid.uuid4().hex[:8]}.{host}"
            tmp = path / "tmp" / name
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.chown(tmp, MAIL_UID, MAIL_GID)
            os.rename(tmp, path / "new" / name)
            out.append(path / "new" / name)
        return out

    def files(self, folder: str = "INBOX") -> list[Path]:
        """The message files of ``folder`` (``new`` and ``cur``)."""
        path = folder_dir(self.maildir, folder)
        return [
            Path(entry.path)
            for sub in ("new", "cur")
            if (path / sub).is_dir()
            for entry in os.scandir(path / sub)
            if entry.is_file()
        ]

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        """The bytes of every message in ``folder``."""
        return [p.read_bytes() for p in self.files(folder)]

    def count(self, folder: str = "INBOX") -> int:
        return len(self.files(folder))

    def flags(self, folder: str = "INBOX") -> list[str]:
        """Each message's Maildir flag letters (``S`` = \\Seen, ``T`` = \\Deleted), as on
        disk; a message still in ``new`` has none."""
        out = []
        for p in self.files(folder):
            _, _, info = p.name.partition(":2,")
            out.append(info)
        return out

    def set_uidvalidity(self, value: int, folder: str = "INBOX") -> None:
        """Give ``folder`` a new UIDVALIDITY, as when a server rebuilds a mailbox."""
        self.server.doveadm("mailbox", "update", "-u", self.user, "--uid-validity",
                            str(value), folder)  # fmt: skip

    def clear(self, folder: str = "INBOX") -> None:
        for p in self.files(folder):
            p.unlink()


class DovecotImap:
    """A running private Dovecot (see the module docstring). Use :meth:`start`."""

    def __init__(self, root: Path, ports: dict[str, int], ca_file: Path) -> None:
        self.root = root
        self.host = "127.0.0.1"
        self.imap_port = ports["imap_port"]
        self.imaps_port = ports["imaps_port"]
        self.pop3_port = ports["pop3_port"]
        self.pop3s_port = ports["pop3s_port"]
        self.ca_file = ca_file
        self.conf = root / "dovecot.conf"
        self.tokens = Introspection()
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @classmethod
    def start(
        cls,
        *,
        capabilities: Sequence[str] | None = None,
        extra_config: str = "",
        timeout: float = READY_TIMEOUT,
    ) -> DovecotImap:
        """Write the instance's files, start ``dovecot -F``, wait for every greeting."""
        for binary, package in ((DOVECOT, "dovecot-pop3d"), (IMAP_BINARY, "dovecot-imapd")):
            if not os.path.exists(binary):
                raise RuntimeError(
                    f"{binary} is missing: run scripts/setup-system as root, or "
                    f"apt-get install --no-install-recommends {package}"
                )
        root = Path(tempfile.mkdtemp(prefix="di", dir="/tmp"))
        server: DovecotImap | None = None
        try:
            root.chmod(0o755)
            for sub in ("run", "state", "mail", "tls", "passwd.d"):
                (root / sub).mkdir()
            os.chown(root / "mail", MAIL_UID, MAIL_GID)
            ca_crt, ca_key = make_ca(root / "tls")
            make_server_cert(root / "tls", ca_crt, ca_key)
            names = ("imap_port", "imaps_port", "pop3_port", "pop3s_port")
            ports = {n: free_port() for n in names}
            server = cls(root, ports, ca_crt)
            (root / "oauth2.conf.ext").write_text(_OAUTH2_CONF.format(url=server.tokens.url))
            if capabilities is not None:
                extra_config += f"\nimap_capability = {' '.join(capabilities)}\n"
            server.conf.write_text(
                _CONF.format(
                    instance=f"dlrpoll-test-{root.name}",
                    root=root,
                    uid=MAIL_UID,
                    gid=MAIL_GID,
                    extra=extra_config,
                    **ports,
                )
            )
            server._launch(timeout)
        except BaseException:
            if server is not None:
                server.tokens.close()
            shutil.rmtree(root, ignore_errors=True)
            raise
        return server

    def _launch(self, timeout: float) -> None:
        with open(self.root / "stderr.log", "wb") as err:
            self._proc = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        try:
            for port, tls, ok in (
                (self.imap_port, None, b"* OK"),
                (self.imaps_port, ctx, b"* OK"),
                (self.pop3_port, None, b"+OK"),
                (self.pop3s_port, ctx, b"+OK"),
            ):
                self._wait_greeting(port, tls, ok, deadline)
        except BaseException:
            self.stop()
            raise

    def _wait_greeting(
        self, port: int, ctx: ssl.SSLContext | None, ok: bytes, deadline: float
    ) -> None:
        assert self._proc is not None
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                raw = socket.create_connection(("127.0.0.1", port), timeout=2)
                with ctx.wrap_socket(raw, server_hostname="localhost") if ctx else raw as sock:
                    with sock.makefile("rb") as greeting:
                        line = greeting.readline()
                    if line.startswith(ok):
                        return
                    last = RuntimeError(f"unexpected greeting {line!r}")
            except OSError as exc:
                last = exc
            try:
                self._proc.wait(timeout=0.02)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"dovecot exited ({self._proc.returncode}):\n{self.log_tail()}")
        raise RuntimeError(f"no greeting on port {port} ({last}):\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM the master's process group, stop the endpoint, remove the files."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.tokens.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> DovecotImap:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def mailbox(self, user: str | None = None, password: str | None = None) -> ImapMailbox:
        """A new user with an empty INBOX and a passwd-file of its own."""
        user = user or f"u{next(_user_seq)}"
        password = password or uuid.uuid4().hex
        home = self.root / "mail" / user
        maildir = home / "Maildir"
        for path in (home, maildir):
            path.mkdir(exist_ok=True)
            os.chown(path, MAIL_UID, MAIL_GID)
        with self._lock:
            (self.root / "passwd.d" / user).write_text(f"{user}:{{PLAIN}}{password}::::::\n")
        box = ImapMailbox(self, user, password, maildir)
        box.folder("INBOX")
        return box

    def doveadm(self, *args: str) -> str:
        proc = subprocess.run(
            [DOVEADM, "-c", str(self.conf), *args], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for name in ("dovecot.log", "stderr.log"):
            try:
                text += (self.root / name).read_text(errors="replace")
            except OSError:
                pass
        return "\n".join(text.splitlines()[-lines:])

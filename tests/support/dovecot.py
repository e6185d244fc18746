"""A private Dovecot POP3 server for tests and benchmarks, on 127.0.0.1 only.

Each instance lives in its own short directory directly under ``/tmp`` (Dovecot's unix
socket paths must be short, so a deep pytest ``tmp_path`` will not do): its own config,
base dir, state dir, log, passwd-file, Maildirs and a throwaway CA with a server
certificate for ``localhost`` and ``127.0.0.1``. It listens on two free ports: ``port``
(plain POP3, with STLS) and ``ssl_port`` (POP3S).

    with Dovecot.start() as server:
        box = server.mailbox()                 # a fresh user with an empty Maildir
        box.deliver([b"Subject: hi\\r\\n\\r\\nbody\\r\\n"])
        ...                                    # POP3 to 127.0.0.1:server.ssl_port
        assert box.count() == 0

Facts this relies on (see the shared note "dovecot-for-tests"): the login processes and
mail access must not run as root (mail runs as uid/gid 65534), ``auth_failure_delay = 0``
keeps wrong-password tests fast, an open port is not readiness (we wait for ``+OK``), and
SIGTERM to the master's process group stops everything in about a second.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

__all__ = ["Dovecot", "DovecotError", "Mailbox", "free_port", "make_ca", "receipt_email"]

DOVECOT = "/usr/sbin/dovecot"
MAIL_UID = 65534
MAIL_GID = 65534
#: How long a fresh instance may take to greet on both ports.
READY_TIMEOUT = 15.0

_user_seq = itertools.count(1)
_msg_seq = itertools.count(1)


class DovecotError(RuntimeError):
    """The private Dovecot would not start, or died; the message carries its log's tail."""


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise DovecotError(f"openssl {' '.join(args[:2])} failed: {proc.stderr.strip()}")


def make_ca(directory: Path, name: str = "ca") -> tuple[Path, Path]:
    """A throwaway CA in ``directory``: ``(NAME.crt, NAME.key)``. EC keys: fast to make."""
    key, crt = directory / f"{name}.key", directory / f"{name}.crt"
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key.name, cwd=directory)
    _openssl(
        "req", "-x509", "-new", "-key", key.name, "-out", crt.name, "-days", "2",
        "-subj", f"/CN=dlrpoll test {name}", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    return crt, key


def _make_server_cert(directory: Path, ca_crt: Path, ca_key: Path) -> tuple[Path, Path]:
    key, csr, crt = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "server.ext"
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


_CONF = """\
# private test instance; nothing here touches the system's Dovecot
instance_name = {instance}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = pop3
listen = 127.0.0.1
default_login_user = dovenull
default_internal_user = dovecot
ssl = yes
ssl_cert = <{root}/tls/server.crt
ssl_key = <{root}/tls/server.key
disable_plaintext_auth = no
auth_mechanisms = plain
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {uid}
first_valid_gid = {gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd.d/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
# no anvil auth penalty: after a wrong-password test, the next login from 127.0.0.1
# would otherwise wait 2-15 s
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {ssl_port}
    ssl = yes
  }}
}}
{extra}
"""


@dataclass
class Mailbox:
    """One POP3 user of a private Dovecot, with its Maildir."""

    server: Dovecot
    user: str
    password: str
    maildir: Path

    def deliver(self, messages: Iterable[bytes]) -> int:
        """Drop messages into the Maildir the way a delivery agent does (write to ``tmp``,
        rename into ``new``); the next POP3 session sees them. Returns how many."""
        n = 0
        tmp, new = self.maildir / "tmp", self.maildir / "new"
        host = socket.gethostname()
        base = int(time.time())
        for data in messages:
            name = f"{base}.M{next(_msg_seq)}P{os.getpid()}R{uuid.uuid4().hex[:8]}.{host}"
            path = tmp / name
            with open(path, "wb") as fh:
                fh.write(data)
            os.chown(path, MAIL_UID, MAIL_GID)
            os.rename(path, new / name)
            n += 1
        return n

    def count(self) -> int:
        """Messages left in the mailbox (new and cur), as the next session would see them."""
        return sum(
            1
            for sub in ("new", "cur")
            for entry in os.scandir(self.maildir / sub)
            if entry.is_file()
        )

    def clear(self) -> None:
        """Remove every message (between benchmark rounds)."""
        for sub in ("new", "cur", "tmp"):
            for entry in os.scandir(self.maildir / sub):
                os.unlink(entry.path)

    def sessions(self) -> list[dict[str, int]]:
        """One dict per finished POP3 session of this user, from Dovecot's logout lines:
        ``{"top": n, "retr": n, "del": n, "msgs": n}``."""
        return self.server.sessions(self.user)


class Dovecot:
    """A running private Dovecot. Use :meth:`start` (a context manager) and :meth:`stop`."""

    def __init__(self, root: Path, port: int, ssl_port: int, ca_file: Path) -> None:
        self.root = root
        self.host = "127.0.0.1"
        self.port = port
        self.ssl_port = ssl_port
        self.ca_file = ca_file
        self.log_path = root / "dovecot.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def start(cls, *, extra_config: str = "", timeout: float = READY_TIMEOUT) -> Dovecot:
        """Write the instance's files, start ``dovecot -F`` in its own session, wait for the
        ``+OK`` greeting on both ports. Raises :class:`DovecotError` with the log's tail."""
        if not os.path.exists(DOVECOT):
            raise DovecotError(
                f"{DOVECOT} is missing: run scripts/setup-system as root, or "
                "apt-get install --no-install-recommends dovecot-pop3d"
            )
        root = Path(tempfile.mkdtemp(prefix="dc", dir="/tmp"))
        try:
            root.chmod(0o755)  # dovecot's unprivileged processes traverse it
            for sub in ("run", "state", "mail", "home", "tls"):
                (root / sub).mkdir()
            for sub in ("mail", "home"):
                os.chown(root / sub, MAIL_UID, MAIL_GID)
            ca_crt, ca_key = make_ca(root / "tls")
            _make_server_cert(root / "tls", ca_crt, ca_key)
            # one passwd-file per user: Dovecot re-reads a changed file at most once a
            # second, so a user added to a shared file just after a login would be unknown
            (root / "passwd.d").mkdir()
            server = cls(root, free_port(), free_port(), ca_crt)
            (root / "dovecot.conf").write_text(
                _CONF.format(
                    instance=f"dlrpoll-test-{root.name}",
                    root=root,
                    uid=MAIL_UID,
                    gid=MAIL_GID,
                    port=server.port,
                    ssl_port=server.ssl_port,
                    extra=extra_config,
                )
            )
            server._launch(timeout)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return server

    def _launch(self, timeout: float) -> None:
        with open(self.root / "stderr.log", "wb") as err:
            self._proc = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        try:
            self._wait_greeting(self.port, None, deadline)
            ctx = ssl.create_default_context(cafile=str(self.ca_file))
            self._wait_greeting(self.ssl_port, ctx, deadline)
        except BaseException:
            self.stop()
            raise

    def _wait_greeting(self, port: int, ctx: ssl.SSLContext | None, deadline: float) -> None:
        assert self._proc is not None
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                raw = socket.create_connection(("127.0.0.1", port), timeout=2)
                with ctx.wrap_socket(raw, server_hostname="localhost") if ctx else raw as sock:
                    with sock.makefile("rb") as greeting:
                        line = greeting.readline()
                    if line.startswith(b"+OK"):
                        return
                    last = DovecotError(f"unexpected greeting {line!r}")
            except OSError as exc:
                last = exc
            # waiting on the process doubles as the pause between attempts and notices a
            # master that exited (bad config) at once
            try:
                self._proc.wait(timeout=0.02)
            except subprocess.TimeoutExpired:
                continue
            raise DovecotError(
                f"dovecot exited with status {self._proc.returncode}:\n{self.log_tail()}"
            )
        raise DovecotError(f"no +OK greeting on port {port} within the timeout ({last}):\n"
                           f"{self.log_tail()}")  # fmt: skip

    def stop(self) -> None:
        """SIGTERM the master's process group, wait for it, remove the instance's files."""
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
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- users and mail --------------------------------------------------------------------
    def mailbox(self, user: str | None = None, password: str | None = None) -> Mailbox:
        """A new user with an empty Maildir and a passwd-file of its own."""
        user = user or f"u{next(_user_seq)}"
        password = password or uuid.uuid4().hex
        maildir = self.root / "mail" / user
        for sub in ("", "tmp", "new", "cur"):
            (maildir / sub).mkdir(exist_ok=True)
            os.chown(maildir / sub, MAIL_UID, MAIL_GID)
        with self._lock:
            (self.root / "passwd.d" / user).write_text(f"{user}:{{PLAIN}}{password}::::::\n")
        return Mailbox(self, user, password, maildir)

    # -- observing -------------------------------------------------------------------------
    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for name in ("dovecot.log", "stderr.log"):
            try:
                text += (self.root / name).read_text(errors="replace")
            except OSError:
                pass
        return "\n".join(text.splitlines()[-lines:])

    _LOGOUT = re.compile(
        r"pop3\((?P<user>[^)]+)\).*Disconnected: .*?top=(?P<top>\d+)/\d+, "
        r"retr=(?P<retr>\d+)/\d+, del=(?P<del>\d+)/(?P<msgs>\d+)"
    )

    def sessions(self, user: str) -> list[dict[str, int]]:
        """Finished sessions of ``user`` from the log (Dovecot's ``pop3_logout_format``)."""
        out = []
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return out
        for m in self._LOGOUT.finditer(text):
            if m.group("user") == user:
                out.append({k: int(m.group(k)) for k in ("top", "retr", "del", "msgs")})
        return out

    def wait_sessions(self, user: str, n: int, timeout: float = 10.0) -> list[dict[str, int]]:
        """Wait until ``n`` sessions of ``user`` are logged (the log process writes them
        shortly after the client's QUIT), then return them."""
        deadline = time.monotonic() + timeout
        pause = threading.Event()
        while True:
            got = self.sessions(user)
            if len(got) >= n or time.monotonic() > deadline:
                return got
            pause.wait(0.01)


def receipt_email(
    message_ids: Iterable[str] | str,
    *,
    stat: str = "DELIVRD",
    err: str = "000",
    done: str = "2401011201",
    subject: str = "Delivery receipt",
) -> bytes:
    """An e-mail as providers forward them: one SMPP Appendix B receipt per line of a
    text/plain body, one line per message id."""
    ids = [message_ids] if isinstance(message_ids, str) else list(message_ids)
    lines = [
        f"id:{mid} sub:001 dlvrd:001 submit date:2401011200 done date:{done} "
        f"stat:{stat} err:{err} text:hello"
        for mid in ids
    ]
    head = (
        "From: dlr@provider.example\r\n"
        "To: receipts@example.com\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{ids[0]}.{len(ids)}@provider.example>\r\n"
        "Date: Mon, 01 Jan 2024 12:01:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
    )
    return (head + "\r\n".join(lines) + "\r\n").encode("ascii")

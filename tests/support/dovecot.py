"""The private Dovecot for tests and benchmarks, on 127.0.0.1 only: POP3 always, IMAP when
asked, OAuth2 sign-in (XOAUTH2, OAUTHBEARER) when given a token endpoint to ask.

Each instance lives in its own short directory directly under ``/tmp`` (Dovecot's unix
socket paths must be short): its own config, base dir, state dir, log, passwd files,
Maildirs and a throwaway CA with a server certificate for ``localhost`` and ``127.0.0.1``
(:mod:`tests.support.tls`). Processes, readiness and clean-up come from
:class:`tests.support.server.Server`; Maildir reading and writing from
:mod:`tests.support.maildir`; the token endpoint is :class:`tests.support.oauth2.TokenEndpoint`.

    with Dovecot.start() as server:            # POP3: server.port (STLS) and server.ssl_port
        box = server.mailbox()                 # a fresh user with an empty Maildir
        box.deliver([b"Subject: hi\\r\\n\\r\\nbody\\r\\n"])
        ...
        assert box.count() == 0

    with TokenEndpoint() as endpoint, Dovecot.start(imap=True, oauth2=endpoint) as server:
        server.imap_port, server.imaps_port    # IMAP (STARTTLS) and IMAPS as well
        token = box.token()                    # XOAUTH2/OAUTHBEARER accept it for box.user
        bad = endpoint.expired(box.user)       # ... and refuse this one

With ``oauth2``, passwords (USER/PASS, AUTH PLAIN, IMAP LOGIN) go only to the passwd files
and tokens only to the endpoint (each passdb's ``mechanisms``), as on a real server.
``capabilities`` (with ``imap``) replaces the capability list Dovecot announces after login
(e.g. one without ``MOVE``), to test a client's fallbacks; Dovecot still runs the commands.

Facts this relies on (shared notes "dovecot-for-tests" and "dovecot-imap-oauth2"): login
processes and mail access must not run as root (mail runs as uid/gid 65534, and the
``mail`` directory belongs to it), ``auth_failure_delay = 0`` and a disabled
``anvil-auth-penalty`` keep failed-login tests fast (the penalty would delay every later
login from 127.0.0.1 by seconds), an open port is not readiness (we wait for each greeting),
and SIGTERM to the master's process group stops everything in about a second.
"""

from __future__ import annotations

import itertools
import os
import re
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support import maildir as md
from tests.support.mail import receipt_email
from tests.support.oauth2 import TokenEndpoint
from tests.support.server import (
    READY_TIMEOUT,
    Server,
    ServerError,
    free_port,
    greeting,
    private_dir,
    retry_port_clash,
)
from tests.support.tls import make_ca, make_server_cert

__all__ = ["Dovecot", "DovecotError", "Mailbox", "free_port", "make_ca", "receipt_email"]

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
IMAP_BINARY = "/usr/lib/dovecot/imap"
MAIL_UID = 65534
MAIL_GID = 65534

_user_seq = itertools.count(1)


class DovecotError(ServerError):
    """The private Dovecot would not start, or died; the message carries its log's tail."""


_CONF = """\
# private test instance; nothing here touches the system's Dovecot
instance_name = {instance}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = {protocols}
listen = 127.0.0.1
default_login_user = dovenull
default_internal_user = dovecot
ssl = yes
ssl_cert = <{root}/tls/server.crt
ssl_key = <{root}/tls/server.key
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {uid}
first_valid_gid = {gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd.d/%u{password_mechanisms}
}}
userdb {{
  driver = static
  # allow_all_users: doveadm's user lookups need no passdb
  args = uid={uid} gid={gid} home={root}/home/%u allow_all_users=yes
}}
# no anvil auth penalty: after a failed login, the next logins from 127.0.0.1 would
# otherwise wait seconds (good ones too)
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""

_IMAP_CONF = """\
namespace inbox {
  inbox = yes
  separator = /
}
"""

_OAUTH2_CONF = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
"""

# no comments on value lines: Dovecot would take them as part of the value
_OAUTH2_EXT = """\
introspection_url = {url}
introspection_mode = post
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 2000
"""


def _login_service(protocol: str, port: int, ssl_port: int) -> str:
    """``service pop3-login`` or ``imap-login``: a plain listener (STLS/STARTTLS) on
    ``port`` and an implicit-TLS one on ``ssl_port``, both on 127.0.0.1."""
    listeners = "".join(
        f"  inet_listener {name} {{\n    address = 127.0.0.1\n    port = {p}\n{tls}  }}\n"
        for name, p, tls in ((protocol, port, ""), (f"{protocol}s", ssl_port, "    ssl = yes\n"))
    )
    return f"service {protocol}-login {{\n{listeners}}}\n"


def _require(path: str, package: str) -> None:
    if not os.path.exists(path):
        raise DovecotError(
            f"{path} is missing: run scripts/setup-system as root, or "
            f"apt-get install --no-install-recommends {package}"
        )


@dataclass
class Mailbox:
    """One user of a private Dovecot, with its Maildir (folders are Maildir++ inside it)."""

    server: Dovecot
    user: str
    password: str
    maildir: Path

    def deliver(self, messages: Iterable[bytes], folder: str | None = None) -> list[Path]:
        """Drop messages into INBOX (or ``folder``, created if missing) the way a delivery
        agent does; the next session sees them (an IMAP session at its next NOOP). Returns
        their files (in ``new``; Dovecot renames them into ``cur`` once a session saw them)."""
        return md.deliver(self.maildir, messages, uid=MAIL_UID, gid=MAIL_GID, folder=folder)

    def count(self, folder: str | None = None) -> int:
        """Messages left in INBOX (or ``folder``), ``\\Deleted`` ones not yet expunged
        included, as the next session would see them."""
        return len(self.messages(folder))

    def messages(self, folder: str | None = None) -> list[md.StoredMessage]:
        """What remains in INBOX (or ``folder``): bytes, flags, ``new``/``cur``, file."""
        return md.scan(self.maildir, folder)

    def folders(self) -> list[str]:
        """``"INBOX"`` and the folders that exist (created by IMAP or :meth:`deliver`)."""
        return md.folders(self.maildir)

    def clear(self) -> None:
        """Remove every message from every folder (between benchmark rounds)."""
        for folder in self.folders():
            path = md.folder_path(self.maildir, folder)
            for sub in ("new", "cur", "tmp"):
                for entry in os.scandir(path / sub):
                    os.unlink(entry.path)

    def set_uidvalidity(self, value: int, folder: str = md.INBOX) -> None:
        """Give ``folder`` a new UIDVALIDITY, as when a server rebuilds a mailbox."""
        self.server.doveadm("mailbox", "update", "-u", self.user, "--uid-validity",
                            str(value), folder)  # fmt: skip

    def token(self) -> str:
        """A valid OAuth2 access token for this user (needs ``oauth2``)."""
        return self.server.token_endpoint.grant(self.user)

    def sessions(self) -> list[dict[str, int]]:
        """One dict per finished POP3 session of this user, from Dovecot's logout lines:
        ``{"top": n, "retr": n, "del": n, "msgs": n}``."""
        return self.server.sessions(self.user)


class Dovecot(Server):
    """A running private Dovecot. Use :meth:`start` (a context manager) and :meth:`stop`.

    Ports on 127.0.0.1: ``port`` (POP3, STLS), ``ssl_port`` (POP3S), and with ``imap``
    ``imap_port`` (IMAP, STARTTLS) and ``imaps_port`` (IMAPS), else ``None``. ``ca_file``
    is the CA clients must trust.
    """

    error = DovecotError

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.port = free_port()
        self.ssl_port = free_port()
        self.imap_port: int | None = None
        self.imaps_port: int | None = None
        self.ca_file = root / "tls" / "ca.crt"
        self.conf = root / "dovecot.conf"
        self.log_path = root / "dovecot.log"
        self._endpoint: TokenEndpoint | None = None
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    @retry_port_clash
    def start(
        cls,
        *,
        imap: bool = False,
        oauth2: TokenEndpoint | None = None,
        capabilities: Sequence[str] | None = None,
        extra_config: str = "",
        timeout: float = READY_TIMEOUT,
    ) -> Dovecot:
        """Write the instance's files, start ``dovecot -F`` in its own session, wait for the
        greeting on every port.

        ``imap``: serve IMAP and IMAPS too. ``oauth2``: accept XOAUTH2 and OAUTHBEARER for
        the tokens this endpoint vouches for (the caller keeps and closes it).
        ``capabilities``: the IMAP capability list announced after login (needs ``imap``).
        ``extra_config``: appended to ``dovecot.conf``. Raises :class:`DovecotError` with
        the log's tail."""
        if capabilities is not None and not imap:
            raise ValueError("capabilities are IMAP's: start with imap=True")
        _require(DOVECOT, "dovecot-pop3d")
        if imap:
            _require(IMAP_BINARY, "dovecot-imapd")
        server = cls(private_dir("dc"))
        with server.starting():
            server._configure(extra_config, imap, oauth2, capabilities)
            server.spawn([DOVECOT, "-F", "-c", str(server.conf)], log="stderr.log")
            tls = ssl.create_default_context(cafile=str(server.ca_file))
            waits = [(server.port, b"+OK", None), (server.ssl_port, b"+OK", tls)]
            if server.imap_port is not None and server.imaps_port is not None:
                waits += [(server.imap_port, b"* OK", None), (server.imaps_port, b"* OK", tls)]
            for port, prefix, ctx in waits:
                server.wait_until(
                    greeting(server.host, port, prefix, tls=ctx),
                    what=f"{prefix.decode()} greeting on port {port}",
                    timeout=timeout,
                )
        return server

    def _configure(
        self,
        extra_config: str,
        imap: bool,
        oauth2: TokenEndpoint | None,
        capabilities: Sequence[str] | None,
    ) -> None:
        root = self.root
        for sub in ("run", "state", "mail", "home", "tls"):
            (root / sub).mkdir()
        for sub in ("mail", "home"):
            os.chown(root / sub, MAIL_UID, MAIL_GID)
        ca_crt, ca_key = make_ca(root / "tls")
        make_server_cert(root / "tls", ca_crt, ca_key)
        # one passwd-file per user: Dovecot re-reads a changed file at most once a second,
        # so a user added to a shared file just after a login would be unknown
        (root / "passwd.d").mkdir()
        parts = [
            _CONF.format(
                instance=f"dlrpoll-test-{root.name}",
                root=root,
                uid=MAIL_UID,
                gid=MAIL_GID,
                protocols="pop3 imap" if imap else "pop3",
                mechanisms="plain xoauth2 oauthbearer" if oauth2 else "plain",
                password_mechanisms="\n  mechanisms = plain" if oauth2 else "",
            ),
            _login_service("pop3", self.port, self.ssl_port),
        ]
        if imap:
            self.imap_port, self.imaps_port = free_port(), free_port()
            parts += [_IMAP_CONF, _login_service("imap", self.imap_port, self.imaps_port)]
            if capabilities is not None:
                parts.append(f"imap_capability = {' '.join(capabilities)}\n")
        if oauth2 is not None:
            self._endpoint = oauth2
            (root / "oauth2.conf.ext").write_text(_OAUTH2_EXT.format(url=oauth2.url))
            parts.append(_OAUTH2_CONF.format(root=root))
        self.conf.write_text("".join(parts) + extra_config + "\n")

    def log_files(self) -> list[Path]:
        return [self.log_path, *super().log_files()]

    @property
    def token_endpoint(self) -> TokenEndpoint:
        """The OAuth2 endpoint; raises :class:`DovecotError` unless started with ``oauth2``."""
        if self._endpoint is None:
            raise DovecotError("this Dovecot was started without an oauth2 token endpoint")
        return self._endpoint

    # -- users and mail --------------------------------------------------------------------
    def mailbox(self, user: str | None = None, password: str | None = None) -> Mailbox:
        """A new user with an empty Maildir and a passwd-file of its own."""
        user = user or f"u{next(_user_seq)}"
        password = password or uuid.uuid4().hex
        path = md.make_maildir(self.root / "mail" / user, MAIL_UID, MAIL_GID)
        with self._lock:
            (self.root / "passwd.d" / user).write_text(f"{user}:{{PLAIN}}{password}::::::\n")
        return Mailbox(self, user, password, path)

    def doveadm(self, *args: str) -> str:
        """Run ``doveadm ARGS`` against this instance; its output, or :class:`DovecotError`
        with doveadm's complaint."""
        proc = subprocess.run(
            [DOVEADM, "-c", str(self.conf), *args], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise DovecotError(f"doveadm {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    # -- observing -------------------------------------------------------------------------
    _LOGOUT = re.compile(
        r"pop3\((?P<user>[^)]+)\).*Disconnected: .*?top=(?P<top>\d+)/\d+, "
        r"retr=(?P<retr>\d+)/\d+, del=(?P<del>\d+)/(?P<msgs>\d+)"
    )

    def sessions(self, user: str) -> list[dict[str, int]]:
        """Finished POP3 sessions of ``user`` from the log (``pop3_logout_format``)."""
        out: list[dict[str, int]] = []
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

"""A second, unrelated real POP3 server for tests: Debian's popa3d (Openwall), on 127.0.0.1.

Why popa3d, and why this way: Debian's ``courier-pop`` and ``popa3d`` both declare
``Conflicts: pop3-server``, which ``dovecot-pop3d`` provides, so neither can be installed
beside Dovecot (installing popa3d with apt *removes* dovecot-pop3d). popa3d needs only libc
and libpam, so ``scripts/setup-system`` takes its binary out of Debian's package into
:data:`POPA3D` and creates its chroot directory ``/var/lib/popa3d``, without installing it.

popa3d is an inetd-style server that knows only system accounts (PAM, ``getpwnam``) and
mbox files in ``/var/mail``. Each instance therefore runs in a private mount namespace
(``unshare --mount``) under :mod:`tests.support.inetd`, which bind-mounts the instance's
own ``passwd``, ``shadow``, ``group``, ``pam.d`` and mail directory over the system's before
it listens; nothing outside the namespace sees them, and they go with the process.

    with Popa3d.start() as server:
        box = server.mailbox()                  # a fresh account with an empty mbox
        box.deliver([receipt_email("A1")])
        ... POP3 (USER/PASS, plain only) to box.host:box.port
        assert box.count() == 0

What differs from Dovecot (measured here, popa3d 1.0.3): no ``CAPA`` (``-ERR``), so no
PIPELINING, STLS, SASL or TLS at all; ``UIDL`` is a digest of the ``Received``, ``Date``
and ``Message-ID`` headers only, so messages that agree on those (or lack them all) share
one UIDL whatever else differs; messages come back with CRLF line ends
whatever the mbox holds; a session that finds its mbox modified within the current second
waits a second before answering PASS (so :meth:`Mbox.deliver` dates its writes 2 s back).
Failed logins answer at once: the private PAM config gives ``pam_unix`` ``nodelay`` (its
default is a 2 s delay).
"""

from __future__ import annotations

import itertools
import mailbox
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.support.server import (
    READY_TIMEOUT,
    Server,
    ServerError,
    free_port,
    greeting,
    private_dir,
    retry_port_clash,
)

__all__ = ["POPA3D", "Mbox", "Popa3d", "Popa3dError"]

POPA3D = Path("/opt/dlrpoll-tests/popa3d/usr/sbin/popa3d")
CHROOT = Path("/var/lib/popa3d")
INETD = Path(__file__).parent / "inetd.py"
MAIL_UID = 65534
MAIL_GID = 65534
#: the unprivileged account popa3d's pre-login process runs as (added to the private
#: passwd when the system has none)
POPA3D_UID = 64990
_SETUP_HINT = "run scripts/setup-system as root"
_user_seq = itertools.count(1)

# popa3d asks PAM for the service "popa3d": plain pam_unix against the private shadow
_PAM = "auth required pam_unix.so nodelay\naccount required pam_unix.so\n"


class Popa3dError(ServerError):
    """popa3d could not be started or answer; the message carries the listener's log."""


@dataclass
class Mbox:
    """One popa3d account and its mbox (``/var/mail/USER`` inside the namespace)."""

    server: Popa3d
    user: str
    password: str
    path: Path

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def deliver(self, messages: Iterable[bytes]) -> int:
        """Append messages as mbox entries (CRLF stored as LF, ``From `` lines quoted as
        ``>From ``); the next session sees them. Returns how many."""
        n = 0
        with open(self.path, "ab") as fh:
            for data in messages:
                body = data.replace(b"\r\n", b"\n")
                lines = [b">" + ln if ln.startswith(b"From ") else ln for ln in body.split(b"\n")]
                text = b"\n".join(lines)
                if not text.endswith(b"\n"):
                    text += b"\n"
                fh.write(
                    b"From dlrpoll-test@example.test Mon Jan  1 12:00:00 2024\n" + text + b"\n"
                )
                n += 1
        # as if delivered a moment ago: popa3d waits a second before reading an mbox
        # modified within the current second (a delivery may still be under way)
        st = os.stat(self.path)
        os.utime(self.path, (st.st_atime - 2, st.st_mtime - 2))
        return n

    def messages(self) -> list[bytes]:
        """The messages left, as stored (LF line ends, without the ``From `` line)."""
        box = mailbox.mbox(self.path, create=False)
        try:
            return [box.get_bytes(key) for key in box.keys()]
        finally:
            box.close()

    def count(self) -> int:
        """Messages left in the mbox."""
        return len(self.messages())

    def clear(self) -> None:
        """Empty the mbox."""
        with open(self.path, "wb"):
            pass


class Popa3d(Server):
    """A running popa3d behind the private inetd; see the module docstring. ``port`` is
    plain POP3 on 127.0.0.1 (popa3d has no TLS)."""

    error = Popa3dError

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.port = free_port()
        self.mail = root / "mail"
        self._lock = threading.Lock()

    @classmethod
    @retry_port_clash
    def start(cls, *, nodelay: bool = True, timeout: float = READY_TIMEOUT) -> Popa3d:
        """Write the private account files, start the listener in its own mount namespace,
        wait for popa3d's ``+OK``. ``nodelay`` sets ``TCP_NODELAY`` on each connection, as
        xinetd's ``flags = NODELAY`` does: popa3d writes a RETR reply in pieces, and without
        it every RETR waits about 40 ms for the client's delayed ACK (0.93 s for 20 RETRs
        measured here, against 0.01 s). Raises :class:`Popa3dError`."""
        for path, what in ((POPA3D, "the popa3d binary"), (CHROOT, "popa3d's chroot dir")):
            if not path.exists():
                raise Popa3dError(f"{what} {path} is missing: {_SETUP_HINT}")
        unshare = shutil.which("unshare")
        if unshare is None:
            raise Popa3dError(f"unshare (util-linux) is missing: {_SETUP_HINT}")
        if os.geteuid() != 0:
            raise Popa3dError("popa3d's private namespace needs root (mount --bind)")
        server = cls(private_dir("pop"))
        with server.starting():
            binds = server._write_accounts()
            argv = [unshare, "--mount", "--propagation", "private", "--",
                    sys.executable, str(INETD), "--port", str(server.port)]  # fmt: skip
            for src, dst in binds:
                argv += ["--bind", f"{src}:{dst}"]
            if nodelay:
                argv.append("--nodelay")
            server.spawn([*argv, "--", str(POPA3D)], log="inetd.log")
            server.wait_until(
                greeting(server.host, server.port, b"+OK"), what="popa3d's +OK", timeout=timeout
            )
        return server

    def _write_accounts(self) -> list[tuple[Path, str]]:
        root = self.root
        for name in ("passwd", "group", "shadow"):
            shutil.copyfile(f"/etc/{name}", root / name)
        (root / "shadow").chmod(0o600)
        with open(root / "passwd", "a") as passwd, open(root / "group", "a") as group:
            if "\npopa3d:" not in "\n" + (root / "passwd").read_text():
                passwd.write(f"popa3d:x:{POPA3D_UID}:{POPA3D_UID}::{CHROOT}:/usr/sbin/nologin\n")
                group.write(f"popa3d:x:{POPA3D_UID}:\n")
        (root / "pam.d").mkdir()
        (root / "pam.d" / "popa3d").write_text(_PAM)
        self.mail.mkdir()
        self.mail.chmod(0o1777)
        return [
            (root / "passwd", "/etc/passwd"),
            (root / "group", "/etc/group"),
            (root / "shadow", "/etc/shadow"),
            (root / "pam.d", "/etc/pam.d"),
            (self.mail, "/var/mail"),
        ]

    # -- accounts ---------------------------------------------------------------------------
    def mailbox(self, user: str | None = None, password: str | None = None) -> Mbox:
        """A new account (uid 65534) with an empty mbox. The private ``passwd`` and
        ``shadow`` are appended to in place, so the running namespace sees the account."""
        user = user or f"pu{next(_user_seq)}"
        password = password or uuid.uuid4().hex
        digest = subprocess.run(
            ["openssl", "passwd", "-6", "-stdin"],
            input=password,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        path = self.mail / user
        path.touch(mode=0o600)
        os.chown(path, MAIL_UID, MAIL_GID)
        with self._lock:
            with open(self.root / "shadow", "a") as shadow:
                shadow.write(f"{user}:{digest}:19000:0:99999:7:::\n")
            with open(self.root / "passwd", "a") as passwd:
                passwd.write(f"{user}:x:{MAIL_UID}:{MAIL_GID}::/nonexistent:/usr/sbin/nologin\n")
        return Mbox(self, user, password, path)

    def sessions(self) -> int:
        """popa3d processes still serving a connection (inetd runs one per connection, in
        the listener's process group). A client killed mid-session leaves its popa3d to
        notice the closed socket; until it exits it holds the mbox."""
        group = self._children[0].proc.pid
        count = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                comm = (entry / "comm").read_text().strip()
                pgid = os.getpgid(int(entry.name))
            except (OSError, ProcessLookupError):
                continue
            count += comm == "popa3d" and pgid == group
        return count

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until no popa3d session is left (:meth:`sessions`); :class:`Popa3dError`
        after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.sessions():
            if time.monotonic() > deadline:
                raise Popa3dError(f"popa3d sessions still running after {timeout} s")
            time.sleep(0.05)

    def connections(self) -> int:
        """Connections accepted so far (the readiness probe's included), from the log."""
        try:
            text = (self.root / "inetd.log").read_text(errors="replace")
        except FileNotFoundError:
            return 0
        return sum(1 for line in text.splitlines() if line.startswith("connection from "))

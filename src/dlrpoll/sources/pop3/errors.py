"""The one place where ``poplib``, ``ssl`` and socket exceptions become dlrpoll's errors.

Every I/O call of the POP3 source catches :data:`IO_ERRORS` and raises
``map_error(...) from exc``; server answers that mean something particular (a refused
login, a busy mailbox) are classified here too, so the rest of the package never looks at
a third-party exception.
"""

from __future__ import annotations

import poplib
import re

from dlrpoll.errors import (
    SourceAuthError,
    SourceConnectError,
    SourceError,
    SourceProtocolError,
)
from dlrpoll.sources.neterrors import network_error
from dlrpoll.sources.pop3.wire import WireTooLong

__all__ = ["IO_ERRORS", "TEMPORARY_CODES", "human_size", "login_error", "map_error", "text_of"]

#: What ``map_error`` accepts: everything the I/O can raise besides our own errors.
IO_ERRORS = (OSError, poplib.error_proto, WireTooLong)

#: Response codes (RFC 2449, 3206) that mean "try again later", not "wrong password".
TEMPORARY_CODES = (b"[IN-USE]", b"[SYS/TEMP]", b"[LOGIN-DELAY]")


def human_size(n: int) -> str:
    """``2.3 MiB``, ``64 KiB``, ``512 bytes``: a size for a message a user reads."""
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def text_of(exc: BaseException) -> str:
    """A server's answer or a library message, for an error message (no secrets in it:
    poplib carries only the server's reply). An OSError is its words, never a bare errno
    such as ``(111)``."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    arg = exc.args[0] if exc.args else exc
    if isinstance(arg, bytes):
        return arg.decode("utf-8", "replace").strip()
    return str(arg)


def map_error(source: str, what: str, exc: BaseException, timeout: float) -> SourceError:
    """Our error for a third-party one raised while doing ``what``."""
    if isinstance(exc, SourceError):
        return exc
    net = network_error(
        source,
        what,
        exc,
        timeout,
        timed_out=isinstance(exc, TimeoutError),
        text=text_of,
        tls_hint='POP3S, usually 995, is tls = "ssl"; port 110 is tls = "starttls"',
    )
    if net is not None:
        return net
    if isinstance(exc, poplib.error_proto) and not (exc.args and isinstance(exc.args[0], bytes)):
        # poplib's own "-ERR EOF" (a str, where server lines are bytes): the connection
        # closed before the answer came; the server never said no
        return SourceConnectError(
            source, f"{what}: the connection closed before the server answered ({text_of(exc)})"
        )
    if isinstance(exc, poplib.error_proto | WireTooLong):
        return SourceProtocolError(source, f"{what}: the server answered {text_of(exc)!r}")
    return SourceProtocolError(source, f"{what}: {type(exc).__name__}: {text_of(exc)}")


def login_error(source: str, what: str, exc: poplib.error_proto, origin: str) -> SourceError:
    """Our error for a ``USER``/``PASS`` answer that was not ``+OK``; ``origin`` says where
    the password came from (never the password itself).

    A locked or busy mailbox is temporary (retried), whether the server says so with a
    response code (``[IN-USE]``, RFC 2449) or only in words (hMailServer's ``-ERR Your
    mailbox is already locked``); a refusal is quoted as the server wrote it."""
    answer = text_of(exc)
    raw = exc.args[0] if exc.args else b""
    if not isinstance(raw, bytes) or not raw.startswith((b"-ERR", b"+")):
        # poplib's own "-ERR EOF" (a str: the connection closed) or a garbled line:
        # the network failed, the server never said no
        return SourceConnectError(source, f"{what}: the connection broke during login ({answer!r})")
    if any(code in raw for code in TEMPORARY_CODES) or _LOCKED.search(answer):
        return SourceConnectError(
            source,
            f"{what}: the mailbox is busy or locked (the server said {answer!r}); will retry",
        )
    if raw.startswith(b"-ERR"):
        return SourceAuthError(
            source,
            f"{what}: the server refused the credentials ({answer}); check username "
            f"and the password (from {origin})",
        )
    return SourceAuthError(
        source,
        f"{what}: the server did not accept the login; it answered {answer!r} where "
        "+OK was due; check username and the password (from "
        f"{origin}), and the server's log",
    )


#: Words of a server that holds the mailbox for another session (no response code).
_LOCKED = re.compile(
    r"\b(?:mail\s*box|mail\s*drop|inbox|folder)\b.{0,40}\block(?:ed)?\b"
    r"|\block(?:ed)?\b.{0,40}\b(?:mail\s*box|mail\s*drop|inbox|folder|session)\b"
    r"|\balready\s+locked\b|\bin\s+use\b",
    re.IGNORECASE,
)

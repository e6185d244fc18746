"""The one place where IMAPClient's, imaplib's, ``ssl``'s and socket exceptions become
dlrpoll's (:mod:`dlrpoll.errors`), naming the source, what was being done, and the fix."""

from __future__ import annotations

from imapclient import exceptions as imap_exc

from dlrpoll.errors import (
    SourceAuthError,
    SourceConnectError,
    SourceError,
    SourceProtocolError,
)
from dlrpoll.sources.neterrors import network_error

__all__ = ["IO_ERRORS", "broken", "map_error", "server_text"]

#: Everything the I/O of an IMAP session raises besides our own errors.
IO_ERRORS: tuple[type[BaseException], ...] = (OSError, imap_exc.IMAPClientError)

#: Response codes (RFC 5530) that mean "try again later", not "you are wrong".
TEMPORARY_CODES = ("[UNAVAILABLE]", "[INUSE]", "[LIMIT]")


def server_text(exc: BaseException) -> str:
    """The server's words (or the library's) from an exception, on one line."""
    arg = exc.args[0] if exc.args else exc
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    return " ".join(text.split())[:500]


def broken(exc: BaseException) -> bool:
    """Whether the connection is unusable after ``exc`` (lost, closed, timed out), rather
    than a refusal (``NO``/``BAD``) after which the session carries on."""
    return isinstance(exc, OSError | imap_exc.IMAPClientAbortError)


def _timed_out(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def map_error(source: str, what: str, exc: BaseException, timeout: float) -> SourceError:
    """Our error for a third-party one raised while doing ``what``."""
    if isinstance(exc, SourceError):
        return exc
    net = network_error(
        source,
        what,
        exc,
        timeout,
        timed_out=_timed_out(exc),
        text=server_text,
        tls_hint='IMAPS, usually 993, is tls = "ssl"; port 143 is tls = "starttls"',
    )
    if net is not None:
        return net
    text = server_text(exc)
    if isinstance(exc, imap_exc.IMAPClientAbortError):
        # the server said BYE or the connection dropped mid-command
        return SourceConnectError(source, f"{what}: the connection was lost ({text})")
    if any(code in text for code in TEMPORARY_CODES):
        return SourceConnectError(source, f"{what}: the server is busy ({text}); will retry")
    if isinstance(exc, imap_exc.LoginError):
        return SourceAuthError(
            source, f"{what}: the server refused the credentials ({text}); check username and "
            "the password",
        )  # fmt: skip
    if isinstance(exc, imap_exc.CapabilityError):
        return SourceProtocolError(source, f"{what}: the server lacks a capability ({text})")
    return SourceProtocolError(source, f"{what}: the server answered {text!r}")

"""Socket and TLS failures as dlrpoll's errors, for the mailbox kinds (POP3, IMAP).

The kinds' own ``map_error`` first ask :func:`network_error`; what is left (a server's
answer, a library's protocol error) they classify themselves.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable

from dlrpoll.errors import SourceConnectError, SourceError, SourceTimeoutError, SourceTLSError

__all__ = ["network_error"]


def network_error(
    source: str,
    what: str,
    exc: BaseException,
    timeout: float,
    *,
    timed_out: bool,
    text: Callable[[BaseException], str],
    tls_hint: str,
) -> SourceError | None:
    """Our error for a certificate, timeout, connection, TLS, name or other OS failure
    while doing ``what``; ``None`` when ``exc`` is none of these. ``timed_out`` says
    whether it is a timeout (the kinds' libraries wrap them differently), ``text`` gives a
    library's words, ``tls_hint`` says which port goes with which ``tls`` setting."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SourceTLSError(
            source,
            f"{what}: the server's certificate was rejected "
            f"({getattr(exc, 'verify_message', None) or text(exc)}); if the server uses a "
            "private CA, set ca_file to that CA's certificate, and check that host matches a "
            "name in the certificate",
        )
    if timed_out:
        return SourceTimeoutError(
            source,
            f"{what}: no answer within {timeout:g} s; check the server and the network, or "
            "raise timeout",
        )
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError | ConnectionError):
        return SourceConnectError(
            source, f"{what}: the connection was refused, reset or closed ({text(exc)})"
        )
    if isinstance(exc, ssl.SSLError):
        return SourceTLSError(
            source,
            f"{what}: TLS failed ({getattr(exc, 'reason', None) or text(exc)}); check that "
            f"port and tls fit the server ({tls_hint})",
        )
    if isinstance(exc, socket.gaierror):
        return SourceConnectError(source, f"{what}: cannot resolve the host name ({exc.strerror})")
    if isinstance(exc, OSError):
        return SourceConnectError(source, f"{what}: {exc.strerror or text(exc)}")
    return None

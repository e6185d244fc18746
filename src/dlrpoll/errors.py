"""dlrpoll's exceptions: every error a user can see is one of these.

Third-party exceptions (``poplib.error_proto``, ``ssl.SSLError``, ``OSError``, zeep's
``Fault`` and ``TransportError``, SQLAlchemy's ``OperationalError``) are mapped into this
tree once, where the I/O happens, with ``raise ... from exc``. Messages name the source,
the item and what to do about it.

    DlrpollError
    ├── ConfigError               the configuration is wrong; nothing was polled
    ├── ProfileError              a profile's table does not compile (raised by ``receipts``;
    │                             the layers that own configuration turn it into ConfigError)
    ├── ParseError                one raw item is not a receipt we can read (quarantined)
    ├── StoreError                the database refused or failed
    │   ├── SchemaTooNewError     the file was written by a newer dlrpoll
    │   └── StorageFullError      the disk or filesystem is full
    ├── ShutdownRequested         the process was asked to stop while a poll waited
    └── SourceError               a source failed; carries ``source``
        ├── TemporarySourceError  worth retrying within the same poll
        │   ├── SourceConnectError    refused, reset, unreachable before anything was consumed
        │   └── SourceTimeoutError    a socket operation timed out
        ├── PermanentSourceError  retrying will not help until someone changes something
        │   ├── SourceAuthError       credentials rejected
        │   ├── SourceTLSError        certificate or TLS handshake rejected
        │   ├── SourceProtocolError   the server said no (-ERR, SOAP fault, HTTP error)
        │   └── SourceResponseError   the response is not what the configuration expects
        └── PossibleLossError     a destructive call's response was lost: receipts may have
                                  been marked read on the server and are not in the journal
"""

from __future__ import annotations


class DlrpollError(Exception):
    """Base class of every error dlrpoll raises on purpose."""


class ConfigError(DlrpollError):
    """The configuration is invalid. ``problems`` lists every error by key path."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class ProfileError(DlrpollError):
    """A provider profile does not compile, or a profile name is unknown. ``problems`` lists
    every error by key path (``profiles.acme.states.3: …``).

    The profile language raises this, not :class:`ConfigError`: ``receipts`` knows nothing of
    where a profile came from. The config, a configured source's parser and the ``parse`` and
    ``profiles`` commands turn it into a :class:`ConfigError` with the same problems."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class ParseError(DlrpollError):
    """A raw item could not be read as a receipt. The message says what is wrong and what to do.

    Messages quote the offending input; a hostile one could be megabytes long, so the
    message is cut to :attr:`MAX_MESSAGE` characters (it is stored in ``parse_error``).
    """

    MAX_MESSAGE = 1000

    def __init__(self, message: str) -> None:
        if len(message) > self.MAX_MESSAGE:
            cut = len(message) - self.MAX_MESSAGE
            message = f"{message[: self.MAX_MESSAGE]}… ({cut} more characters)"
        super().__init__(message)


class StoreError(DlrpollError):
    """The database failed or refused an operation."""


class SchemaTooNewError(StoreError):
    """The database file was written by a newer dlrpoll than this one."""


class StorageFullError(StoreError):
    """The database's disk is full."""


class ShutdownRequested(DlrpollError):
    """The process was asked to stop while a poll was waiting (between retries)."""


class SourceError(DlrpollError):
    """A source failed. ``source`` names the configured source."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"source {source!r}: {message}")


class TemporarySourceError(SourceError):
    """A failure that may go away on its own; retried within the poll."""


class SourceConnectError(TemporarySourceError):
    """Could not connect, or the connection dropped before anything was consumed."""


class SourceTimeoutError(TemporarySourceError):
    """A network operation exceeded its timeout."""


class PermanentSourceError(SourceError):
    """A failure that needs a person: retrying will not help."""


class SourceAuthError(PermanentSourceError):
    """The server rejected the credentials."""


class SourceTLSError(PermanentSourceError):
    """The certificate was rejected or the TLS handshake failed."""


class SourceProtocolError(PermanentSourceError):
    """The server answered with an error (POP3 -ERR, SOAP fault, HTTP status)."""


class SourceResponseError(PermanentSourceError):
    """The server's answer is not what the configuration says to expect."""


class PossibleLossError(SourceError):
    """A destructive fetch was sent but its response was lost: receipts may be gone."""

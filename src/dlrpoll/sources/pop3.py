"""POP3 source: receipts forwarded to a mailbox, deleted only after they are journaled.

One session, in DESIGN.md's order::

    connect, STLS?, USER/PASS       (retried on temporary errors; nothing consumed yet)
    CAPA, LIST, UIDL                (message numbers, sizes, stable ids)
    per window of ``pipeline_window`` messages:
        known(ids)                  which are already journaled (not fetched again)
        RETR new ones               pipelined when the server announces PIPELINING;
                                    TOP n 0 for messages over ``max_size``
        → Batch                     the poller journals (commits), parses and stores it
        acknowledge(batch)          DELE the batch's messages and the known ones
                                    (``delete = "after-store"`` only)
    QUIT                            the server applies the deletes here, not before

While the poller works on one batch, the first ``RETR``s of the next are already sent
(``_READ_AHEAD``), so the server prepares them meanwhile; their answers are read before
anything else is sent, so a ``DELE`` never overtakes them on the wire.

Memory is bounded by a window (and by ``_BATCH_BYTES``), never by the mailbox. A message
whose download was cut off is never handed over, so it cannot be journaled half-read; it
stays on the server for the next poll. Only the connect-and-login phase is retried: a
session that fails later simply ends, and the DELEs already sent (all for committed
messages) take effect only if its ``QUIT`` goes through.

Servers without ``UIDL`` get a stable key instead: a hash of the message's headers
(``TOP n 0``). Messages sharing a UIDL (a broken server) get the same treatment, so two
messages never share an id and one is never deleted as "already journaled" for the other.
"""

from __future__ import annotations

import hashlib
import logging
import poplib
import socket
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from dlrpoll.config import LoadedConfig, Pop3SourceConfig, Secret, SourceConfig
from dlrpoll.errors import (
    SourceAuthError,
    SourceConnectError,
    SourceError,
    SourceProtocolError,
    SourceTimeoutError,
    SourceTLSError,
)
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources.base import Batch, KnownIds
from dlrpoll.sources.oauth import OAuthSignIn, sign_in_for
from dlrpoll.sources.oauth import pop3 as oauth_pop3
from dlrpoll.sources.pop3_wire import Response, Wire, WireTooLong
from dlrpoll.sources.retry import RetryPolicy

__all__ = ["Pop3Session", "Pop3Source"]

log = logging.getLogger(__name__)

#: A batch holds at most this many bytes of messages (by LIST size), whatever the window.
_BATCH_BYTES = 16 * 1024 * 1024
#: Upper bound for a LIST or UIDL answer (100,000 messages take about 3 MB).
_LISTING_LIMIT = 256 * 1024 * 1024
#: Commands of the next chunk sent before the current batch is handed over (small: the
#: answers wait in socket buffers while the poller works).
_READ_AHEAD = 256
#: Response codes (RFC 2449, 3206) that mean "try again later", not "wrong password".
_TEMPORARY_CODES = (b"[IN-USE]", b"[SYS/TEMP]", b"[LOGIN-DELAY]")

#: Sources already told (in this process) that their server has no UIDL.
_warned_no_uidl: set[str] = set()


def _human_size(n: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def _text(exc: BaseException) -> str:
    """A server's answer or a library message, for an error message (no secrets in it:
    poplib carries only the server's reply)."""
    arg = exc.args[0] if exc.args else exc
    if isinstance(arg, bytes):
        return arg.decode("utf-8", "replace").strip()
    return str(arg)


def map_error(source: str, what: str, exc: BaseException, timeout: float) -> SourceError:
    """Our error for a third-party one raised while doing ``what``. The one place where
    ``poplib``, ``ssl`` and socket exceptions become dlrpoll's."""
    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SourceTLSError(
            source,
            f"{what}: the server's certificate was rejected "
            f"({getattr(exc, 'verify_message', None) or _text(exc)}); "
            "if the server uses a private CA, set ca_file to that CA's certificate, and "
            "check that host matches a name in the certificate",
        )
    if isinstance(exc, TimeoutError):
        return SourceTimeoutError(
            source,
            f"{what}: no answer within {timeout:g} s; check the server and the network, "
            "or raise timeout",
        )
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError)):
        return SourceConnectError(
            source, f"{what}: the connection was refused, reset or closed ({_text(exc)})"
        )
    if isinstance(exc, ssl.SSLError):
        return SourceTLSError(
            source,
            f"{what}: TLS failed ({getattr(exc, 'reason', None) or _text(exc)}); check that "
            'port and tls fit the server (POP3S, usually 995, is tls = "ssl"; port 110 is '
            'tls = "starttls")',
        )
    if isinstance(exc, socket.gaierror):
        return SourceConnectError(source, f"{what}: cannot resolve the host name ({exc.strerror})")
    if isinstance(exc, OSError):
        return SourceConnectError(source, f"{what}: {exc.strerror or _text(exc)}")
    if isinstance(exc, poplib.error_proto) and not (exc.args and isinstance(exc.args[0], bytes)):
        # poplib's own "-ERR EOF" (a str, where server lines are bytes): the connection
        # closed before the answer came; the server never said no
        return SourceConnectError(
            source, f"{what}: the connection closed before the server answered ({_text(exc)})"
        )
    if isinstance(exc, poplib.error_proto | WireTooLong):
        return SourceProtocolError(source, f"{what}: the server answered {_text(exc)!r}")
    return SourceProtocolError(source, f"{what}: {type(exc).__name__}: {_text(exc)}")


#: What ``map_error`` accepts: everything the I/O below can raise besides our own errors.
_IO_ERRORS = (OSError, poplib.error_proto, WireTooLong)


@dataclass(slots=True)
class _Entry:
    num: int
    size: int
    key: str | None


@dataclass(slots=True)
class _Unit:
    """One batch to be: new messages to fetch, journaled ones to acknowledge with them."""

    new: list[_Entry]
    old: list[_Entry]


class Pop3Source:
    """A configured POP3 mailbox. :meth:`open` connects and logs in (with retries) and
    yields a :class:`Pop3Session`; leaving the context sends ``QUIT``."""

    def __init__(
        self,
        cfg: Pop3SourceConfig,
        password: Secret | None,
        retry: RetryPolicy | None = None,
        signin: OAuthSignIn | None = None,
    ) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self._password = password
        self._signin = signin
        self._retry = retry or RetryPolicy(attempts=cfg.retries + 1)

    def __repr__(self) -> str:
        return f"Pop3Source({self.name!r}, {self.cfg.username}@{self._where})"

    @property
    def _where(self) -> str:
        return f"{self.cfg.host}:{self.cfg.effective_port}"

    #: a fetch (RETR) leaves the message on the server until DELE, after the journal commit
    consumes = False
    fetch_headroom = 0
    containers: frozenset[RawFormat] = frozenset()
    records = frozenset({RawFormat.EMAIL_HEADERS})

    def split(self, envelope: RawItem) -> list[RawItem]:
        """POP3 never produces envelopes."""
        return []

    @contextmanager
    def open(self) -> Iterator[Pop3Session]:
        """Connect, log in and yield a session; ``QUIT`` on the way out (which is when the
        server applies the session's deletes)."""
        session = self._retry.call(self.name, f"logging in to {self._where}", self._start)
        try:
            yield session
        except BaseException:
            session.abort()
            raise
        session.quit()

    # -- connect and log in ----------------------------------------------------------------
    def _start(self) -> Pop3Session:
        """Connect, log in, ask CAPA: the phase that consumes nothing, so it is retried."""
        client = self._login()
        try:
            return Pop3Session(self, client)
        except BaseException:
            _close(client)
            raise

    def _context(self) -> ssl.SSLContext:
        try:
            # verification and host-name checking are on in a default context; never off
            return ssl.create_default_context(cafile=self.cfg.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise SourceTLSError(
                self.name,
                f"cannot use ca_file {self.cfg.ca_file!r} ({_text(exc)}); it must be a "
                "readable PEM file with the CA certificate(s) that signed the server's",
            ) from exc

    def _login(self) -> poplib.POP3:
        cfg = self.cfg
        ctx = self._context() if cfg.tls != "none" else None
        try:
            if cfg.tls == "ssl":
                client: poplib.POP3 = _POP3_SSL(
                    cfg.host, cfg.effective_port, timeout=cfg.timeout, context=ctx
                )
            else:
                client = _POP3(cfg.host, cfg.effective_port, timeout=cfg.timeout)
        except _IO_ERRORS as exc:
            raise map_error(self.name, f"connecting to {self._where}", exc, cfg.timeout) from exc
        try:
            if cfg.tls == "starttls":
                self._starttls(client, ctx)
            self._authenticate(client)
        except BaseException:
            _close(client)
            raise
        log.debug("source %s: logged in to %s as %s", self.name, self._where, cfg.username)
        return client

    def _starttls(self, client: poplib.POP3, ctx: ssl.SSLContext | None) -> None:
        try:
            client.stls(ctx)
        except poplib.error_proto as exc:
            raise SourceTLSError(
                self.name,
                f"STLS at {self._where} refused ({_text(exc)}); the server does not offer "
                'STARTTLS here: use tls = "ssl" with its POP3S port',
            ) from exc
        except _IO_ERRORS as exc:
            raise map_error(self.name, f"STLS at {self._where}", exc, self.cfg.timeout) from exc

    def _authenticate(self, client: poplib.POP3) -> None:
        cfg = self.cfg
        what = f"logging in to {self._where} as {cfg.username!r}"
        if self._signin is not None:  # auth = { … }: OAuth2, the two-step AUTH
            try:
                return oauth_pop3.sign_in(client, self._signin, cfg.host, cfg.effective_port, what)
            except _IO_ERRORS as exc:
                raise map_error(self.name, what, exc, cfg.timeout) from exc
        assert self._password is not None
        try:
            client.user(cfg.username)
            client.pass_(self._password.reveal())
        except poplib.error_proto as exc:
            answer = _text(exc)
            raw = exc.args[0] if exc.args else b""
            if not (isinstance(raw, bytes) and raw.startswith(b"-ERR")):
                # poplib's own "-ERR EOF" (a str: the connection closed) or a garbled line:
                # the network failed, the server never said no
                raise SourceConnectError(
                    self.name, f"{what}: the connection broke during login ({answer!r})"
                ) from exc
            if any(code.decode() in answer for code in _TEMPORARY_CODES):
                raise SourceConnectError(
                    self.name, f"{what}: the server is busy ({answer}); will retry"
                ) from exc
            raise SourceAuthError(
                self.name,
                f"{what}: the server refused the credentials ({answer}); check username "
                f"and the password (from {self._password.origin})",
            ) from exc
        except _IO_ERRORS as exc:
            raise map_error(self.name, what, exc, cfg.timeout) from exc


class Pop3Session:
    """One logged-in POP3 session of a :class:`Pop3Source` (see the module docstring)."""

    def __init__(self, source: Pop3Source, client: poplib.POP3) -> None:
        self._source = source
        self._cfg = source.cfg
        self.name = source.name
        self._client = client
        self._wire = Wire(client.sock, client.file)
        try:
            caps = client.capa()
        except poplib.error_proto:
            caps = {}  # a server without CAPA (RFC 1939 only): no pipelining, no promises
        except _IO_ERRORS as exc:
            raise self._error("CAPA", exc) from exc
        self.pipelining = "PIPELINING" in caps
        self._depth = self._cfg.pipeline_window if self.pipelining else 1
        self._limit = 2 * self._cfg.max_size + 64 * 1024
        #: message number → the UIDL it shares with others (keyed by UIDL and header hash)
        self._dup_prefix: dict[int, str] = {}
        #: commands of the next chunk already sent, and those of their answers already read
        self._ahead = 0
        self._early: list[Response] = []
        #: a wire operation failed: the connection's state is unknown, only closing is safe
        self._broken = False

    def _error(self, what: str, exc: BaseException) -> SourceError:
        self._broken = True
        return map_error(self.name, what, exc, self._cfg.timeout)

    # -- listing ---------------------------------------------------------------------------
    def _listing(self, command: bytes) -> Response:
        try:
            [resp] = self._wire.exchange([command], multiline=True, limit=_LISTING_LIMIT, depth=1)
        except _IO_ERRORS as exc:
            raise self._error(command.decode(), exc) from exc
        return resp

    def _scan(self) -> list[_Entry]:
        """Every message's number, size and UIDL (``None`` when it needs a header key)."""
        resp = self._listing(b"LIST")
        if not resp.ok:
            raise SourceProtocolError(self.name, f"LIST refused: {resp.status!r}")
        entries: dict[int, _Entry] = {}
        try:
            for line in resp.body.splitlines():
                fields = line.split()
                entries[int(fields[0])] = _Entry(int(fields[0]), int(fields[1]), None)
        except (ValueError, IndexError) as exc:
            raise SourceProtocolError(
                self.name, f"LIST answer unreadable at line {line[:80]!r}"
            ) from exc
        if not entries:
            return []
        resp = self._listing(b"UIDL")
        if not resp.ok:
            if self.name not in _warned_no_uidl:
                _warned_no_uidl.add(self.name)
                log.warning(
                    "source %s: the server does not support UIDL (%s); messages are keyed by "
                    "a hash of their headers instead (one TOP per message and poll)",
                    self.name,
                    resp.status.decode("utf-8", "replace"),
                )
            return list(entries.values())
        # a set, not a dict of lists: a mailbox of 100,000 messages stays a few MB
        seen: set[str] = set()
        shared: set[str] = set()
        for line in resp.body.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].isdigit() and int(parts[0]) in entries:
                uid = parts[1].decode("ascii", "replace")
                entries[int(parts[0])].key = uid
                if uid in seen:
                    shared.add(uid)
                seen.add(uid)
        del seen
        if shared:
            self._dup_prefix = {
                e.num: e.key for e in entries.values() if e.key is not None and e.key in shared
            }
            for num in self._dup_prefix:
                entries[num].key = None  # re-keyed by _header_keys, with the UIDL as prefix
            example = next(iter(shared))
            log.warning(
                "source %s: the server gives %d UIDL(s) to more than one message (e.g. %s for "
                "messages %s); those are keyed by UIDL and a hash of their headers",
                self.name,
                len(shared),
                example,
                [n for n, uid in self._dup_prefix.items() if uid == example][:5],
            )
        return list(entries.values())

    def _header_keys(self, window: Sequence[_Entry]) -> None:
        """Give entries without a usable UIDL a stable key: a hash of ``TOP n 0``."""
        missing = [e for e in window if e.key is None]
        if not missing:
            return
        answers = self._run([b"TOP %d 0" % e.num for e in missing], "TOP", multiline=True)
        for entry, resp in zip(missing, answers, strict=True):
            if not resp.ok:
                raise SourceProtocolError(
                    self.name,
                    f"message {entry.num} has no usable UIDL and TOP was refused "
                    f"({resp.status!r}); dlrpoll cannot track it safely, so nothing more is "
                    "fetched; ask the provider for a server with UIDL",
                )
            digest = hashlib.sha256(resp.body).hexdigest()[:32]
            uid = self._dup_prefix.get(entry.num)
            entry.key = f"{uid}#{digest}" if uid else f"hdr:{digest}"

    # -- fetching --------------------------------------------------------------------------
    def _run(self, commands: Sequence[bytes], what: str, *, multiline: bool) -> list[Response]:
        """Send ``commands`` (pipelined when allowed) and read every answer."""
        try:
            return list(
                self._wire.exchange(
                    commands, multiline=multiline, limit=self._limit, depth=self._depth
                )
            )
        except _IO_ERRORS as exc:
            raise self._error(f"{what} ({len(commands)} command(s))", exc) from exc

    def _commands(self, entries: Sequence[_Entry]) -> list[bytes]:
        max_size = self._cfg.max_size
        return [b"RETR %d" % e.num if e.size <= max_size else b"TOP %d 0" % e.num for e in entries]

    def _send_ahead(self, entries: Sequence[_Entry]) -> None:
        """Send the first commands of the next chunk before its batch is asked for, so the
        server prepares those messages while the poller journals and stores this one."""
        if not self.pipelining or not entries:
            return
        ahead = self._commands(entries[: min(_READ_AHEAD, self._depth)])
        try:
            self._wire.send(ahead)
        except _IO_ERRORS as exc:
            raise self._error(f"RETR ({len(ahead)} command(s))", exc) from exc
        self._ahead = len(ahead)

    def _read_ahead(self) -> None:
        """Read the answers to commands sent ahead, before any other exchange (``DELE``)."""
        try:
            while len(self._early) < self._ahead:
                self._early.append(self._wire.read(True, self._limit))
        except _IO_ERRORS as exc:
            raise self._error(f"RETR ({self._ahead} command(s))", exc) from exc

    def _fetch(self, entries: Sequence[_Entry]) -> list[RawItem]:
        commands = self._commands(entries)
        self._read_ahead()
        answers, self._early = self._early, []
        rest = commands[self._ahead :]
        self._ahead = 0
        answers += self._run(rest, "RETR", multiline=True) if rest else []
        max_size = self._cfg.max_size
        items: list[RawItem] = []
        for entry, resp in zip(entries, answers, strict=True):
            assert entry.key is not None
            if not resp.ok:
                cmd = "RETR" if entry.size <= max_size else "TOP"
                raise SourceProtocolError(
                    self.name,
                    f"{cmd} {entry.num} (UIDL {entry.key}) refused: "
                    f"{resp.status.decode('utf-8', 'replace')}; the message stays on the "
                    "server and is tried again at the next poll",
                )
            if entry.size <= max_size:
                items.append(RawItem(entry.key, resp.body, RawFormat.EMAIL, ack=entry.num))
            else:
                reason = (
                    f"message is {_human_size(entry.size)}, over max_size "
                    f"{_human_size(max_size)}; only its headers were kept (raise max_size "
                    "to fetch such messages whole)"
                )
                log.warning("source %s: message %s: %s", self.name, entry.key, reason)
                items.append(
                    RawItem(
                        entry.key,
                        resp.body,
                        RawFormat.EMAIL_HEADERS,
                        parse_error=reason,
                        ack=entry.num,
                    )
                )
        return items

    def _plan(self, entries: list[_Entry], known: KnownIds) -> Iterator[_Unit]:
        """What to fetch, window by window: chunks of new messages (bounded in bytes), each
        with the already-journaled messages to acknowledge along with it."""
        cfg = self._cfg
        budget = cfg.max_messages
        for start in range(0, len(entries), cfg.pipeline_window):
            if budget <= 0:
                log.info(
                    "source %s: max_messages (%d) reached; the rest waits for the next poll",
                    self.name,
                    cfg.max_messages,
                )
                return
            window = entries[start : start + cfg.pipeline_window]
            self._header_keys(window)
            seen = known([e.key for e in window if e.key is not None])
            old = [e for e in window if e.key in seen]
            new = [e for e in window if e.key not in seen][:budget]
            budget -= len(new)
            for chunk in _by_size(new, _BATCH_BYTES, cfg.max_size):
                yield _Unit(chunk, old)
                old = []
            if old:
                yield _Unit([], old)

    def batches(self, known: KnownIds) -> Iterator[Batch]:
        """Batches of new messages, a window at a time; each batch also names the already
        journaled messages of its window (``Batch.known``) so they can be deleted."""
        entries = self._scan()
        log.debug("source %s: %d message(s) in the mailbox", self.name, len(entries))
        fetched = 0
        plan = self._plan(entries, known)
        unit = next(plan, None)
        while unit is not None:
            items = self._fetch(unit.new) if unit.new else []
            fetched += len(items)
            # planning the next unit may need TOP (no UIDL): do it while the wire is idle,
            # then send the next RETRs ahead and hand this batch over
            unit_next = next(plan, None)
            if unit_next is not None:
                self._send_ahead(unit_next.new)
            yield self._batch(items, unit.old)
            unit = unit_next
        log.debug("source %s: fetched %d message(s)", self.name, fetched)

    @staticmethod
    def _batch(items: list[RawItem], old: Sequence[_Entry]) -> Batch:
        nums = [int(i.ack) for i in items] + [e.num for e in old]
        return Batch(items=items, known=[e.key for e in old if e.key is not None], ack=nums)

    # -- acknowledging and ending ----------------------------------------------------------
    def acknowledge(self, batch: Batch) -> None:
        """``DELE`` the batch's messages (new and known), under ``delete = "after-store"``.
        The poller calls this only after the batch is committed to the journal; the server
        removes them at ``QUIT``."""
        if self._cfg.delete != "after-store":
            return
        nums = batch.ack if isinstance(batch.ack, list) else []
        if not nums:
            return
        self._read_ahead()  # their answers come first on the wire
        answers = self._run([b"DELE %d" % n for n in nums], "DELE", multiline=False)
        refused = [(n, r.status) for n, r in zip(nums, answers, strict=True) if not r.ok]
        if refused:
            num, status = refused[0]
            raise SourceProtocolError(
                self.name,
                f"DELE refused for {len(refused)} message(s), e.g. {num}: "
                f"{status.decode('utf-8', 'replace')}; they are journaled and will be "
                "deleted at a later poll",
            )

    def quit(self) -> None:
        """End the session with ``QUIT``; the server applies the deletes now."""
        try:
            if self._ahead and not self._broken:
                self._read_ahead()  # the caller stopped early: drop what was read ahead
            if not self._wire.clean:
                raise SourceProtocolError(
                    self.name, "the session ended in the middle of an exchange"
                )
            self._client.quit()
        except _IO_ERRORS as exc:
            raise self._error("QUIT (deleting the acknowledged messages)", exc) from exc
        finally:
            _close(self._client)

    def abort(self) -> None:
        """End after an error: ``QUIT`` when the connection is at a response boundary (the
        DELEs sent were all for committed messages, so applying them is right), otherwise
        just close, and the server forgets the session's deletes."""
        try:
            if self._ahead and not self._broken:
                self._read_ahead()
            if self._wire.clean:
                self._client.quit()
        except (*_IO_ERRORS, SourceError) as exc:
            log.info("source %s: QUIT after an error failed: %s", self.name, _text(exc))
        finally:
            _close(self._client)


def _by_size(entries: Sequence[_Entry], max_bytes: int, max_size: int) -> Iterator[list[_Entry]]:
    """Consecutive chunks of ``entries`` whose (LIST) sizes add up to at most ``max_bytes``;
    a single message is a chunk of its own whatever its size. Oversize messages count as
    their headers only."""
    chunk: list[_Entry] = []
    total = 0
    for entry in entries:
        size = entry.size if entry.size <= max_size else 64 * 1024
        if chunk and total + size > max_bytes:
            yield chunk
            chunk, total = [], 0
        chunk.append(entry)
        total += size
    if chunk:
        yield chunk


class _POP3(poplib.POP3):
    """``poplib.POP3`` that closes its socket when the greeting fails (poplib leaks it)."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        try:
            super().__init__(host, port, timeout=timeout)
        except BaseException:
            _close_partial(self)
            raise


class _POP3_SSL(poplib.POP3_SSL):
    """``poplib.POP3_SSL`` that closes its socket when the greeting fails."""

    def __init__(self, host: str, port: int, timeout: float, context: ssl.SSLContext | None):
        try:
            super().__init__(host, port, timeout=timeout, context=context)
        except BaseException:
            _close_partial(self)
            raise


def _close_partial(client: poplib.POP3) -> None:
    for attr in ("file", "sock"):
        obj = getattr(client, attr, None)
        if obj is not None:
            try:
                obj.close()
            except OSError:
                pass


def _close(client: poplib.POP3) -> None:
    try:
        client.close()
    except OSError:
        pass


def from_config(config: LoadedConfig, cfg: SourceConfig, retry: RetryPolicy) -> Pop3Source:
    """The registry's factory (see :data:`dlrpoll.sources.KINDS`)."""
    assert isinstance(cfg, Pop3SourceConfig)
    if cfg.auth is not None:
        signin = sign_in_for(config, cfg.name, cfg.username, cfg.auth, cfg.timeout)
        return Pop3Source(cfg, None, retry=retry, signin=signin)
    return Pop3Source(cfg, config.secret(cfg.name, "password"), retry=retry)

"""The configured POP3 source: connect, TLS, log in (retried), and the factory
:func:`from_config` that :data:`dlrpoll.sources.KINDS` names."""

from __future__ import annotations

import logging
import poplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from dlrpoll.config import LoadedConfig, Pop3SourceConfig, Secret, SourceConfig
from dlrpoll.errors import SourceTimeoutError, SourceTLSError
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources.oauth import OAuthSignIn, sign_in_for
from dlrpoll.sources.oauth import pop3 as oauth_pop3
from dlrpoll.sources.pop3.client import POP3, POP3_SSL, close
from dlrpoll.sources.pop3.errors import IO_ERRORS, login_error, map_error, text_of
from dlrpoll.sources.pop3.session import Pop3Session
from dlrpoll.sources.retry import RetryPolicy

__all__ = ["Pop3Source", "from_config"]

log = logging.getLogger(__name__)


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
        return f"Pop3Source({self.name!r}, {self.cfg.username}@{self.where})"

    @property
    def where(self) -> str:
        """``host:port``, for messages."""
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
        session = self._retry.call(self.name, f"logging in to {self.where}", self._start)
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
            return Pop3Session(self.cfg, client, reconnect=self._login_again)
        except BaseException:
            close(client)
            raise

    def _login_again(self) -> poplib.POP3:
        """A new connection for a session whose old one fell out of step (retried)."""
        return self._retry.call(self.name, f"logging in again to {self.where}", self._login)

    def _context(self) -> ssl.SSLContext:
        try:
            # verification and host-name checking are on in a default context; never off
            return ssl.create_default_context(cafile=self.cfg.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise SourceTLSError(
                self.name,
                f"cannot use ca_file {self.cfg.ca_file!r} ({text_of(exc)}); it must be a "
                "readable PEM file with the CA certificate(s) that signed the server's",
            ) from exc

    def _login(self) -> poplib.POP3:
        cfg = self.cfg
        ctx = self._context() if cfg.tls != "none" else None
        try:
            if cfg.tls == "ssl":
                client: poplib.POP3 = POP3_SSL(
                    cfg.host, cfg.effective_port, timeout=cfg.timeout, context=ctx
                )
            else:
                client = POP3(cfg.host, cfg.effective_port, timeout=cfg.timeout)
        except IO_ERRORS as exc:
            err = map_error(self.name, f"connecting to {self.where}", exc, cfg.timeout)
            if isinstance(err, SourceTimeoutError) and cfg.tls != "ssl":
                # a POP3 server greets at once; silence is typical of a port that speaks TLS
                # first and waits for our handshake
                err = SourceTimeoutError(
                    self.name,
                    f"connecting to {self.where}: no answer within {cfg.timeout:g} s (no "
                    f"greeting); the port may speak TLS (POP3S, usually 995): then set "
                    f'tls = "ssl"; otherwise check the server and the network, or raise timeout',
                )
            raise err from exc
        try:
            if cfg.tls == "starttls":
                self._starttls(client, ctx)
            self._authenticate(client)
        except BaseException:
            close(client)
            raise
        log.debug("source %s: logged in to %s as %s", self.name, self.where, cfg.username)
        return client

    def _starttls(self, client: poplib.POP3, ctx: ssl.SSLContext | None) -> None:
        try:
            client.stls(ctx)
        except poplib.error_proto as exc:
            raise SourceTLSError(
                self.name,
                f"STLS at {self.where} refused ({text_of(exc)}); the server does not offer "
                'STARTTLS here: use tls = "ssl" with its POP3S port',
            ) from exc
        except IO_ERRORS as exc:
            raise map_error(self.name, f"STLS at {self.where}", exc, self.cfg.timeout) from exc

    def _authenticate(self, client: poplib.POP3) -> None:
        cfg = self.cfg
        what = f"logging in to {self.where} as {cfg.username!r}"
        if self._signin is not None:  # auth = { … }: OAuth2, the two-step AUTH
            try:
                return oauth_pop3.sign_in(client, self._signin, cfg.host, cfg.effective_port, what)
            except IO_ERRORS as exc:
                raise map_error(self.name, what, exc, cfg.timeout) from exc
        assert self._password is not None
        try:
            for answer in (client.user(cfg.username), client.pass_(self._password.reveal())):
                if not answer.startswith(b"+OK"):
                    # poplib takes any line starting with "+" for yes ("+ERR ...")
                    raise poplib.error_proto(answer)
        except poplib.error_proto as exc:
            raise login_error(self.name, what, exc, self._password.origin) from exc
        except IO_ERRORS as exc:
            raise map_error(self.name, what, exc, cfg.timeout) from exc


def from_config(config: LoadedConfig, cfg: SourceConfig, retry: RetryPolicy) -> Pop3Source:
    """The registry's factory (see :data:`dlrpoll.sources.KINDS`)."""
    assert isinstance(cfg, Pop3SourceConfig)
    if cfg.auth is not None:
        signin = sign_in_for(config, cfg)
        return Pop3Source(cfg, None, retry=retry, signin=signin)
    return Pop3Source(cfg, config.secret(cfg.name, "password"), retry=retry)

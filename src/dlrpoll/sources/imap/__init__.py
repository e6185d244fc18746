"""IMAP source: receipts forwarded to a mailbox folder, acted on only after they are journaled.

One session, in DESIGN.md's order (IMAPClient underneath; RFC 3501, 6851, 4315)::

    connect, TLS, LOGIN or AUTHENTICATE     (retried on temporary errors; nothing consumed)
    SELECT folder                           (EXAMINE under after_store = "keep")
    UIDVALIDITY                             remote ids are "UIDVALIDITY:UID"
    UID SEARCH                              every UID in the folder, oldest first; and
                                            LARGER (RFC822.SIZE): the few not small, whose
                                            sizes are then fetched; those over max_size are
                                            never fetched, they go to Batch.held
    per window of fetch_batch UIDs:
        known(ids)                          which are journaled already (not fetched again)
        UID FETCH (BODY.PEEK[])             the new ones, in batches of at most ~16 MiB;
                                            PEEK sets no \\Seen; the next batch's fetch is
                                            sent before this batch is handed over
        → Batch                             the poller journals (commits), parses and stores
        acknowledge(batch)                  after_store on exactly the batch's UIDs: the new
                                            ones just journaled and the journaled ones still
                                            there (an interrupted earlier poll); MOVE is sent
                                            without waiting, its answer read with the next
    LOGOUT

``after_store``: ``move`` is ``UID MOVE`` where the server offers MOVE, else ``UID COPY``,
``+FLAGS (\\Deleted)`` and ``UID EXPUNGE`` of exactly those UIDs (UIDPLUS); a server with
neither is refused before anything is fetched, since a plain ``EXPUNGE`` would also remove
messages someone else marked ``\\Deleted``. ``delete`` needs UIDPLUS likewise. ``flag`` sets
``\\Seen``; ``keep`` changes nothing (the folder is opened read-only).

Why this is safe: a UID is only acted on when ``UIDVALIDITY:UID`` is in the journal, either
fetched whole in this session (IMAP literals have exact lengths, so a cut-off message never
reaches the journal) or found there by ``known``, and a UID names one message for as long as
UIDVALIDITY stays. When UIDVALIDITY changes (a rebuilt mailbox), every message still in the
folder gets a new remote id and is fetched again; its receipts are recognised by content
(the store's dedupe key) and counted as duplicates. A change noticed by this process is
logged.

An oversize or unreadable message stays where it is and is reported (``Batch.held``: the
poll ends ``partial``); a server that hangs up on an unreadable message is signed in to again
and the batch is fetched message by message, so one bad message never blocks the others.
Every network operation runs under the source's ``timeout``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dlrpoll.config import ImapSourceConfig, LoadedConfig, Secret, SourceConfig
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources.imap.client import Connection, connect, logout
from dlrpoll.sources.imap.session import ImapSession
from dlrpoll.sources.oauth import OAuthSignIn, sign_in_for
from dlrpoll.sources.retry import RetryPolicy

__all__ = ["ImapSession", "ImapSource", "from_config"]


class ImapSource:
    """A configured IMAP folder. :meth:`open` connects and signs in (with retries) and yields
    an :class:`ImapSession`; leaving the context logs out."""

    #: fetching (BODY.PEEK) leaves messages untouched until after_store, after the commit
    consumes = False
    fetch_headroom = 0
    containers: frozenset[RawFormat] = frozenset()
    records: frozenset[RawFormat] = frozenset()

    def __init__(
        self,
        cfg: ImapSourceConfig,
        *,
        password: Secret | None = None,
        signin: OAuthSignIn | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if (password is None) == (signin is None):
            raise ValueError("an IMAP source signs in with a password or OAuth2, exactly one")
        self.cfg = cfg
        self.name = cfg.name
        self.signin = signin
        self._password = password
        self._retry = retry or RetryPolicy(attempts=cfg.retries + 1)

    def __repr__(self) -> str:
        return f"ImapSource({self.name!r}, {self.cfg.username}@{self._where}/{self.cfg.folder})"

    @property
    def _where(self) -> str:
        return f"{self.cfg.host}:{self.cfg.effective_port}"

    def split(self, envelope: RawItem) -> list[RawItem]:
        """IMAP never produces envelopes."""
        return []

    def connect(self) -> Connection:
        """Connect and sign in, retrying temporary failures."""
        return self._retry.call(
            self.name,
            f"signing in to {self._where}",
            lambda: connect(self.name, self.cfg, password=self._password, signin=self.signin),
        )

    @contextmanager
    def open(self) -> Iterator[ImapSession]:
        """Connect, sign in, select the folder and yield a session; ``LOGOUT`` on the way
        out."""
        conn = self.connect()
        try:
            session = ImapSession(self.cfg, conn, self.connect)
        except BaseException:
            logout(conn.client)
            raise
        try:
            yield session
        except BaseException:
            session.abort()
            raise
        session.quit()


def from_config(config: LoadedConfig, cfg: SourceConfig, retry: RetryPolicy) -> ImapSource:
    """The registry's factory (see :data:`dlrpoll.sources.KINDS`)."""
    assert isinstance(cfg, ImapSourceConfig)
    if cfg.auth is not None:
        signin = sign_in_for(config, cfg)
        return ImapSource(cfg, signin=signin, retry=retry)
    return ImapSource(cfg, password=config.secret(cfg.name, "password"), retry=retry)

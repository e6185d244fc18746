"""``check-config`` for IMAP sources: the CA file; with ``--connect``: connect, TLS, sign in
(password or OAuth2), open the folder read-only and count what waits, with the server's
capabilities and, for an OAuth2 access token, what it grants (see
:func:`dlrpoll.sources.oauth.report.check_connection`). Nothing is fetched, moved, flagged or
deleted."""

from __future__ import annotations

from collections.abc import Iterator

from dlrpoll.config import ImapSourceConfig, LoadedConfig, SourceConfig
from dlrpoll.sources.check import Check, readable_file


def local(config: LoadedConfig, cfg: SourceConfig) -> Iterator[Check]:
    assert isinstance(cfg, ImapSourceConfig)
    if cfg.ca_file:
        yield readable_file(f"{cfg.name}: ca_file", cfg.ca_file, None)


def connect(config: LoadedConfig, cfg: SourceConfig) -> Iterator[Check]:
    from dlrpoll.sources.oauth.report import check_connection

    assert isinstance(cfg, ImapSourceConfig)
    report = check_connection(config, cfg)
    what = f"{cfg.name}: connect to {cfg.host}:{cfg.effective_port}, sign in, open {cfg.folder!r}"
    if report is None:  # not a mailbox: cannot happen for kind = "imap"
        yield Check(False, what, "no connection report for this kind")
        return
    for line in report.lines:
        yield Check(None, cfg.name, line)
    for hint in report.hints:
        yield Check(None, f"{cfg.name}: hint", hint)
    yield Check(report.ok, what, report.error or "")

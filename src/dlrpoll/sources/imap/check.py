"""``check-config --connect`` for an IMAP source: connect, sign in, open the folder read-only
(``EXAMINE``), and say whether ``after_store`` can work on this server."""

from __future__ import annotations

from imapclient import IMAPClient

from dlrpoll.config import ImapSourceConfig, LoadedConfig, SourceConfig
from dlrpoll.errors import SourceAuthError, SourceError
from dlrpoll.sources.imap import from_config
from dlrpoll.sources.imap.client import logout
from dlrpoll.sources.imap.errors import IO_ERRORS, map_error
from dlrpoll.sources.oauth.report import ConnectionReport, refusal_hints, token_lines
from dlrpoll.sources.retry import RetryPolicy

__all__ = ["check_imap"]


def check_imap(config: LoadedConfig, cfg: SourceConfig, *, now: float) -> ConnectionReport:
    """See :func:`dlrpoll.sources.oauth.report.check_connection`."""
    assert isinstance(cfg, ImapSourceConfig)
    report = ConnectionReport(cfg.name)
    report.lines.append(
        f"server: {cfg.host}:{cfg.effective_port} (tls = {cfg.tls}), user {cfg.username!r}"
    )
    source = from_config(config, cfg, RetryPolicy(attempts=1))
    try:
        conn = source.connect()
    except SourceError as exc:
        report.error = str(exc)
        signin = source.signin
        if signin is not None and signin.last_token is not None:
            lines, hints = token_lines(signin.last_token, "imap", now)
            report.lines += lines
            report.hints += hints
            if isinstance(exc, SourceAuthError) and not hints:
                report.hints += refusal_hints(signin, "imap", cfg.username)
        return report
    client = conn.client
    try:
        report.lines.append(f"capabilities before sign-in: {' '.join(conn.greeting_caps)}")
        report.lines.append(f"capabilities: {' '.join(sorted(conn.caps))}")
        report.lines.append(f"signed in with: {conn.mechanism}")
        if source.signin is not None and source.signin.last_token is not None:
            lines, hints = token_lines(source.signin.last_token, "imap", now)
            report.lines += lines
            report.hints += hints
        _folder(report, client, cfg, conn.caps)
    except SourceError as exc:
        report.error = str(exc)
    finally:
        logout(client)
    return report


def _folder(
    report: ConnectionReport, client: IMAPClient, cfg: ImapSourceConfig, caps: frozenset[str]
) -> None:
    try:
        info = client.select_folder(cfg.folder, readonly=True)
        report.lines.append(
            f"folder {cfg.folder!r}: {info.get(b'EXISTS', '?')} message(s), UIDVALIDITY "
            f"{info.get(b'UIDVALIDITY', '(none!)')}"
        )
        if cfg.after_store == "move" and cfg.move_to:
            there = "exists" if client.folder_exists(cfg.move_to) else "missing (created then)"
            report.lines.append(f"move_to {cfg.move_to!r}: {there}")
    except IO_ERRORS as exc:
        raise map_error(cfg.name, f"opening folder {cfg.folder!r}", exc, cfg.timeout) from exc
    if cfg.after_store == "move":
        how = (
            "UID MOVE" if "MOVE" in caps else "UID COPY + UID EXPUNGE" if "UIDPLUS" in caps else ""
        )
    elif cfg.after_store == "delete":
        how = "\\Deleted + UID EXPUNGE" if "UIDPLUS" in caps else ""
    else:
        how = "\\Seen" if cfg.after_store == "flag" else "nothing (keep)"
    if how:
        report.lines.append(f'after_store = "{cfg.after_store}": {how}')
    else:
        report.error = (
            f'after_store = "{cfg.after_store}" needs UIDPLUS (or MOVE), which this server does '
            "not offer; polls would refuse to run"
        )
        report.hints.append('use after_store = "flag" or "keep" with this server')

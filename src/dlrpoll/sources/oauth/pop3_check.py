"""``check-config --connect`` for a POP3 source: connect, ``CAPA`` before and after signing
in (with the password or the two-step ``AUTH``), ``STAT``, ``QUIT``. Nothing is fetched or
deleted. A connection of its own (poplib), so it does not lean on the POP3 source's inner
workings."""

from __future__ import annotations

import poplib
import ssl

from dlrpoll.config import LoadedConfig, Pop3SourceConfig, SourceConfig
from dlrpoll.errors import SourceAuthError, SourceConnectError, SourceError, SourceTLSError
from dlrpoll.sources.oauth import pop3 as oauth_pop3
from dlrpoll.sources.oauth.report import ConnectionReport, refusal_hints, token_lines
from dlrpoll.sources.oauth.signin import OAuthSignIn, sign_in_for

__all__ = ["check_pop3"]


def _caps(client: poplib.POP3) -> list[str]:
    try:
        caps = client.capa()
    except poplib.error_proto:
        return ["(no CAPA)"]
    return [" ".join([name, *args]) for name, args in caps.items()]


def _error(name: str, what: str, exc: BaseException) -> SourceError:
    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, ssl.SSLError):
        return SourceTLSError(name, f"{what}: TLS failed ({exc})")
    if isinstance(exc, poplib.error_proto) and what.startswith("signing in"):
        return SourceAuthError(name, f"{what}: the server refused ({exc})")
    return SourceConnectError(name, f"{what}: {exc}")


def check_pop3(config: LoadedConfig, cfg: SourceConfig, *, now: float) -> ConnectionReport:
    """See :func:`dlrpoll.sources.oauth.report.check_connection`."""
    assert isinstance(cfg, Pop3SourceConfig)
    where = f"{cfg.host}:{cfg.effective_port}"
    report = ConnectionReport(cfg.name, [f"server: {where} (tls = {cfg.tls}), user "
                                         f"{cfg.username!r}"])  # fmt: skip
    signin: OAuthSignIn | None = None
    if cfg.auth is not None:
        signin = sign_in_for(config, cfg)
    ctx = ssl.create_default_context(cafile=cfg.ca_file) if cfg.tls != "none" else None
    what = f"connecting to {where}"
    client: poplib.POP3 | None = None
    error: SourceError | None = None
    try:
        if cfg.tls == "ssl":
            client = poplib.POP3_SSL(cfg.host, cfg.effective_port, timeout=cfg.timeout,
                                     context=ctx)  # fmt: skip
        else:
            client = poplib.POP3(cfg.host, cfg.effective_port, timeout=cfg.timeout)
            if cfg.tls == "starttls":
                client.stls(ctx)
        report.lines.append(f"capabilities before sign-in: {'; '.join(_caps(client))}")
        what = f"signing in to {where} as {cfg.username!r}"
        if signin is not None:
            oauth_pop3.sign_in(client, signin, cfg.host, cfg.effective_port, what)
            report.lines.append(f"signed in with: AUTH {signin.sasl_name} (two steps)")
        else:
            client.user(cfg.username)
            client.pass_(config.secret(cfg.name, "password").reveal())
            report.lines.append("signed in with: USER/PASS")
        report.lines.append(f"capabilities: {'; '.join(_caps(client))}")
        count, size = client.stat()
        report.lines.append(f"mailbox: {count} message(s), {size} bytes")
    except (OSError, poplib.error_proto, SourceError) as exc:
        error = _error(cfg.name, what, exc)
        report.error = str(error)
    finally:
        if client is not None:
            try:
                client.quit()
            except (OSError, poplib.error_proto):
                client.close()
    if signin is not None and signin.last_token is not None:
        lines, hints = token_lines(signin.last_token, "pop3", now)
        report.lines += lines
        report.hints += hints
        if isinstance(error, SourceAuthError) and not hints:
            report.hints += refusal_hints(signin, "pop3", cfg.username)
    return report

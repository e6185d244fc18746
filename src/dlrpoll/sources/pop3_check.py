"""``check-config`` for POP3 sources: the CA file; with ``--connect``: connect, TLS, log in,
``STAT`` (how many messages wait), ``QUIT``. Nothing is retrieved or deleted."""

from __future__ import annotations

import poplib
from collections.abc import Iterator

from dlrpoll.config import LoadedConfig, Pop3SourceConfig, SourceConfig
from dlrpoll.errors import SourceError
from dlrpoll.sources.check import Check, readable_file
from dlrpoll.sources.pop3 import from_config, map_error
from dlrpoll.sources.retry import RetryPolicy


def local(config: LoadedConfig, cfg: SourceConfig) -> Iterator[Check]:
    assert isinstance(cfg, Pop3SourceConfig)
    base = None  # the source reads these paths as given: relative to the current directory
    if cfg.ca_file:
        yield readable_file(f"{cfg.name}: ca_file", cfg.ca_file, base)


def connect(config: LoadedConfig, cfg: SourceConfig) -> Iterator[Check]:
    assert isinstance(cfg, Pop3SourceConfig)
    source = from_config(config, cfg, RetryPolicy(attempts=1))
    where = f"{cfg.host}:{cfg.effective_port}"
    tls = {"ssl": "TLS", "starttls": "STARTTLS", "none": "no TLS"}[cfg.tls]
    what = f"{cfg.name}: connect to {where} ({tls}), log in as {cfg.username!r}"
    try:
        client = source._login()  # connect, TLS, USER/PASS: nothing else
    except SourceError as exc:
        yield Check(False, what, str(exc).removeprefix(f"source {cfg.name!r}: "))
        return
    yield Check(True, what)
    try:
        count, size = client.stat()
        yield Check(True, f"{cfg.name}: STAT", f"{count} message(s) wait ({size} bytes)")
    except (poplib.error_proto, OSError) as exc:
        err = map_error(cfg.name, "STAT", exc, cfg.timeout)
        yield Check(False, f"{cfg.name}: STAT", str(err))
    finally:
        try:
            client.quit()  # no DELE was sent: nothing is deleted
        except (poplib.error_proto, OSError):
            client.close()

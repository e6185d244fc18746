"""``check-config`` for SOAP sources: a WSDL file and the CA file; with ``--connect``: load
the WSDL, resolve the operation, items and fields (and the two-phase operations), and
connect to the endpoint with a verified TLS handshake. No SOAP call is made."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from dlrpoll.config import LoadedConfig, SoapSourceConfig, SourceConfig
from dlrpoll.errors import ConfigError, DlrpollError
from dlrpoll.sources.check import Check, readable_file, tls_handshake
from dlrpoll.sources.retry import RetryPolicy
from dlrpoll.sources.soap import from_config


def _is_url(text: str) -> bool:
    return urlsplit(text).scheme in ("http", "https")


def local(config: LoadedConfig, cfg: SourceConfig) -> Iterator[Check]:
    assert isinstance(cfg, SoapSourceConfig)
    base = None  # the source reads these paths as given: relative to the current directory
    if not _is_url(cfg.wsdl):
        yield readable_file(f"{cfg.name}: wsdl", cfg.wsdl.removeprefix("file://"), base)
    if cfg.ca_file:
        yield readable_file(f"{cfg.name}: ca_file", cfg.ca_file, base)


def connect(config: LoadedConfig, cfg: SourceConfig) -> Iterator[Check]:
    assert isinstance(cfg, SoapSourceConfig)
    source = from_config(config, cfg, RetryPolicy(attempts=1))
    what = f"{cfg.name}: load the WSDL {cfg.wsdl}"
    try:
        service = source.service()
    except (DlrpollError, ConfigError) as exc:
        yield Check(False, what, str(exc))
        return
    yield Check(True, what, f"endpoint {service.address}")
    ops = [cfg.operation]
    if cfg.mode == "two-phase":
        ops += [cfg.peek_operation, cfg.ack_operation]
    what = f"{cfg.name}: operation {', '.join(ops)}, items {cfg.items!r}, fields"
    try:
        source.plans()
    except (DlrpollError, ConfigError) as exc:
        yield Check(False, what, str(exc))
    else:
        yield Check(True, what, ", ".join(f"{k} = {v}" for k, v in cfg.fields.items()))
    url = urlsplit(service.address)
    if url.hostname:
        https = url.scheme == "https"
        yield tls_handshake(
            f"{cfg.name}: connect to the endpoint",
            url.hostname,
            url.port or (443 if https else 80),
            tls=https,
            ca_file=cfg.ca_file,
            timeout=cfg.timeout,
        )
    yield Check(
        None,
        f"{cfg.name}: messages waiting",
        "not counted: dlrpoll knows no count operation that is free of side effects here",
    )

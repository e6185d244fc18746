"""The configured SOAP source: what the poller sees (:class:`SoapSource`), the registry's
factory (:func:`from_config`), and which port it calls (:func:`chosen_port`)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests.auth
import zeep.wsse.username

from dlrpoll.config import LoadedConfig, Secret, SecretRef, SoapSourceConfig, SourceConfig
from dlrpoll.errors import ConfigError, SourceError, SourceResponseError
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources.retry import RetryPolicy
from dlrpoll.sources.soap import wsdl
from dlrpoll.sources.soap.envelope import read_items
from dlrpoll.sources.soap.layout import Plan, check_ack, plan
from dlrpoll.sources.soap.session import SoapSession
from dlrpoll.sources.soap.transport import CappedTransport, Credentials, http_session
from dlrpoll.sources.soap.wsdl import PortChoice, Service

log = logging.getLogger(__name__)

ArgValue = Secret | int | float | bool | str
_CONTAINERS = frozenset({RawFormat.SOAP_ENVELOPE, RawFormat.SOAP_MIME})


class SoapSource:
    """A configured SOAP inbox. ``args`` are the operation's arguments, secrets resolved;
    ``creds`` the HTTP and WS-Security credentials of every request, the WSDL's included."""

    def __init__(
        self,
        cfg: SoapSourceConfig,
        args: Mapping[str, ArgValue | SecretRef],
        retry: RetryPolicy,
        creds: Credentials | None = None,
    ) -> None:
        self.cfg = cfg
        self.name = cfg.name
        unresolved = sorted(k for k, v in args.items() if isinstance(v, SecretRef))
        if unresolved:
            raise ConfigError(
                f"{cfg.where('args')}: secret(s) {unresolved} were not resolved; "
                "load the config with its secrets"
            )
        self.args: dict[str, ArgValue] = {
            k: v for k, v in args.items() if not isinstance(v, SecretRef)
        }
        self.creds = creds or Credentials()
        self.retry = retry
        self._plans: dict[str, Plan] | None = None
        self._service: Service | None = None
        self._matched: set[tuple[str, str]] = set()
        # the last envelope the session split, so the poller's split of the same bytes is free
        self._last: tuple[bytes, list[RawItem] | SourceError, int] | None = None

    def __repr__(self) -> str:
        return f"SoapSource({self.name!r}, {self.cfg.wsdl!r}, mode={self.cfg.mode!r})"

    containers = _CONTAINERS
    records: frozenset[RawFormat] = frozenset()

    @property
    def consumes(self) -> bool:
        """GetNewInboxMessages marks what it returns read as it answers."""
        return self.cfg.mode == "destructive"

    @property
    def fetch_headroom(self) -> int:
        """Room for the largest response once as the journaled envelope, once as its items,
        and once more for the WAL; only a consuming fetch needs it."""
        return 3 * self.cfg.max_response_size if self.consumes else 0

    # -- WSDL and plans ---------------------------------------------------------------------
    def service(self) -> Service:
        """The loaded WSDL (once per process per WSDL and endpoint); connect errors retried."""
        if self._service is None:
            self._service = self.retry.call(
                self.name,
                f"loading the WSDL {self.cfg.wsdl}",
                lambda: wsdl.load_service(self.cfg, self.creds),
            )
        return self._service

    def plans(self) -> dict[str, Plan]:
        """The item plans, by the response element they apply to."""
        if self._plans is None:
            service = self.service()
            plans = [plan(self.cfg, service)]
            if self.cfg.mode == "two-phase":
                plans.append(plan(self.cfg, service, peek=True))
                check_ack(self.cfg, service)
            self._plans = {p.path[0]: p for p in plans}
        return self._plans

    # -- split -----------------------------------------------------------------------------
    def split(self, envelope: RawItem) -> list[RawItem]:
        """The receipts inside a journaled response. Pure (the WSDL is loaded once,
        beforehand if it is a URL). Raises :class:`SourceResponseError` when the response's
        content cannot be accounted for (hostile, truncated, not where the configuration
        says), :class:`SourceProtocolError` for a SOAP fault."""
        return self._split(envelope)[0]

    def _split(self, envelope: RawItem) -> tuple[list[RawItem], int]:
        last = self._last
        if last is not None and last[0] is envelope.payload:
            if isinstance(last[1], SourceError):
                raise last[1]
            return last[1], last[2]
        if envelope.parse_error is not None:
            raise SourceResponseError(self.name, envelope.parse_error)
        if envelope.format not in _CONTAINERS:
            return [], 0
        plans = self.plans()
        try:
            reading = read_items(
                self.name,
                envelope.payload,
                plans,
                fmt=envelope.format,
                tz=self.cfg.tz,
                body_field=self.cfg.fields["body"],
                redact=self.redact,
            )
        except SourceResponseError as exc:
            raise self._unread(exc) from exc
        key = (next(iter(plans)), reading.matched)
        if reading.items and key not in self._matched:
            self._matched.add(key)
            if reading.matched == "qualified":
                how = "by qualified name, as the WSDL says"
            else:
                how = "by local name: they are qualified otherwise than the WSDL says"
            log.info("source %s: the response's elements matched %s", self.name, how)
        return reading.items, reading.count

    def _unread(self, exc: SourceResponseError) -> SourceResponseError:
        """A response whose content is not understood: loud, and recoverable by reparse."""
        reason = str(exc).removeprefix(f"source {self.name!r}: ")
        if self.consumes:
            reason += (
                "; the provider has marked the messages in this response read, so the "
                "journaled response is now their only copy"
            )
        reason += "; `dlrpoll reparse` reads it again once the cause is fixed"
        log.warning(
            "source %s: receipts may be waiting in a journaled response dlrpoll could not read: %s",
            self.name,
            reason,
        )
        return SourceResponseError(self.name, reason)

    def split_cached(self, envelope: RawItem) -> tuple[list[RawItem], int]:
        """:meth:`split` and the number of item elements, remembered for the poller's own
        split of the same envelope (the session splits first, to count a batch)."""
        try:
            items, count = self._split(envelope)
        except SourceError as exc:
            self._last = (envelope.payload, exc, 0)
            raise
        self._last = (envelope.payload, items, count)
        return items, count

    def redact(self, text: str) -> str:
        """``text`` with every secret's value masked."""
        values = [v.reveal() for v in self.args.values() if isinstance(v, Secret)]
        for value in [*values, *self.creds.secrets]:
            if len(value) >= 4:
                text = text.replace(value, "******")
        return text

    # -- sessions --------------------------------------------------------------------------
    @contextmanager
    def open(self) -> Iterator[SoapSession]:
        """A session over one HTTP connection pool, closed on exit."""
        service = self.service()
        self.plans()
        session = http_session(self.cfg.ca_file, self.creds)
        transport = CappedTransport(
            timeout=self.cfg.timeout, cap=self.cfg.max_response_size, session=session
        )
        try:
            client, proxy = wsdl.bind(service, transport, self.creds.wsse)
            yield SoapSession(self, client, proxy)
        finally:
            session.close()


def credentials(cfg: SoapSourceConfig, secrets: Mapping[tuple[str, ...], Secret]) -> Credentials:
    """The HTTP and WS-Security credentials ``cfg`` names, from its resolved ``secrets``."""

    def secret(*key: str) -> str:
        found = secrets.get(key)
        if found is None:
            raise ConfigError(f"{cfg.where(*key)}: this secret was not resolved")
        return found.reveal()

    creds = Credentials()
    shown: list[str] = []
    if cfg.http_auth is not None:
        password = secret("http_auth", "password")
        kind = requests.auth.HTTPDigestAuth if cfg.http_auth.type == "digest" else None
        creds.auth = (kind or requests.auth.HTTPBasicAuth)(cfg.http_auth.username, password)
        shown.append(password)
    for header in cfg.http_headers:
        creds.headers[header] = secret("http_headers", header)
        shown.append(creds.headers[header])
    if cfg.wsse is not None:
        password = secret("wsse", "password")
        token: Any = zeep.wsse.username.UsernameToken
        creds.wsse = token(cfg.wsse.username, password, use_digest=cfg.wsse.digest)
        shown.append(password)
    creds.secrets = tuple(shown)
    return creds


def _resolved(cfg: SoapSourceConfig, config_path: Path | None) -> SoapSourceConfig:
    """``cfg`` with a relative local WSDL path made absolute against the config's directory
    (not the working directory, which differs between cron, systemd and a shell)."""
    if urlsplit(cfg.wsdl).scheme in ("http", "https", "file") or os.path.isabs(cfg.wsdl):
        return cfg
    base = config_path.parent if config_path is not None else Path.cwd()
    wsdl_path = (base / Path(cfg.wsdl).expanduser()).resolve()
    return cfg.model_copy(update={"wsdl": str(wsdl_path)})


def from_config(config: LoadedConfig, cfg: SourceConfig, retry: RetryPolicy) -> SoapSource:
    """The registry's factory (see :data:`dlrpoll.sources.KINDS`)."""
    assert isinstance(cfg, SoapSourceConfig)
    secrets = config.source_secrets(cfg.name)
    args = {k: secrets.get(("args", k), v) for k, v in cfg.args.items()}
    return SoapSource(_resolved(cfg, config.path), args, retry, credentials(cfg, secrets))


def chosen_port(config: LoadedConfig, cfg: SourceConfig) -> PortChoice:
    """Which service and port of its WSDL the source calls, and what else the WSDL offers,
    for ``check-config --connect``. Loads the WSDL (once per process); raises what loading
    raises: :class:`ConfigError`, or a :class:`~dlrpoll.errors.SourceError`."""
    source = from_config(config, cfg, RetryPolicy(attempts=1))
    return source.service().choice

"""The configured SOAP source: what the poller sees (:class:`SoapSource`), and the
registry's factory (:func:`from_config`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import requests

from dlrpoll.config import LoadedConfig, Secret, SecretRef, SoapSourceConfig, SourceConfig
from dlrpoll.errors import ConfigError, SourceError, SourceResponseError
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources.retry import RetryPolicy
from dlrpoll.sources.soap import wsdl
from dlrpoll.sources.soap.envelope import read_items
from dlrpoll.sources.soap.layout import Plan, check_ack, plan
from dlrpoll.sources.soap.session import SoapSession
from dlrpoll.sources.soap.transport import CappedTransport
from dlrpoll.sources.soap.wsdl import Service

ArgValue = Secret | int | float | bool | str


class SoapSource:
    """A configured SOAP inbox. ``args`` are the operation's arguments, secrets resolved."""

    def __init__(
        self,
        cfg: SoapSourceConfig,
        args: Mapping[str, ArgValue | SecretRef],
        retry: RetryPolicy,
    ) -> None:
        self.cfg = cfg
        self.name = cfg.name
        unresolved = sorted(k for k, v in args.items() if isinstance(v, SecretRef))
        if unresolved:
            raise ConfigError(
                f"sources.{cfg.name}.args: secret(s) {unresolved} were not resolved; "
                "load the config with its secrets"
            )
        self.args: dict[str, ArgValue] = {
            k: v for k, v in args.items() if not isinstance(v, SecretRef)
        }
        self.retry = retry
        self._plans: dict[str, Plan] | None = None
        self._service: Service | None = None
        # the last envelope the session split, so the poller's split of the same bytes is free
        self._last: tuple[bytes, list[RawItem] | SourceError, int] | None = None

    def __repr__(self) -> str:
        return f"SoapSource({self.name!r}, {self.cfg.wsdl!r}, mode={self.cfg.mode!r})"

    containers = frozenset({RawFormat.SOAP_ENVELOPE})
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
                lambda: wsdl.load_service(self.cfg),
            )
        return self._service

    def plans(self) -> dict[str, Plan]:
        """The item plans, by the response element they apply to."""
        if self._plans is None:
            service = self.service()
            plans = [plan(self.cfg, service, self.cfg.operation, self.cfg.items)]
            if self.cfg.mode == "two-phase":
                plans.append(plan(self.cfg, service, self.cfg.peek_operation, self.cfg.peek_items))
                check_ack(self.cfg, service)
            self._plans = {p.path[0]: p for p in plans}
        return self._plans

    # -- split -----------------------------------------------------------------------------
    def split(self, envelope: RawItem) -> list[RawItem]:
        """The receipts inside a journaled response envelope. Pure (the WSDL is loaded once,
        beforehand if it is a URL). Raises :class:`SourceResponseError` for a hostile,
        truncated or unexpected envelope, :class:`SourceProtocolError` for a SOAP fault."""
        return self._split(envelope)[0]

    def _split(self, envelope: RawItem) -> tuple[list[RawItem], int]:
        last = self._last
        if last is not None and last[0] is envelope.payload:
            if isinstance(last[1], SourceError):
                raise last[1]
            return last[1], last[2]
        if envelope.parse_error is not None:
            raise SourceResponseError(self.name, envelope.parse_error)
        if envelope.format != RawFormat.SOAP_ENVELOPE:
            return [], 0
        return read_items(
            self.name,
            envelope.payload,
            self.plans(),
            tz=self.cfg.tz,
            body_field=self.cfg.fields["body"],
            redact=self.redact,
        )

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
        """``text`` with every secret argument's value masked."""
        for value in self.args.values():
            if isinstance(value, Secret) and len(value.reveal()) >= 4:
                text = text.replace(value.reveal(), "******")
        return text

    # -- sessions --------------------------------------------------------------------------
    @contextmanager
    def open(self) -> Iterator[SoapSession]:
        """A session over one HTTP connection pool, closed on exit."""
        service = self.service()
        self.plans()
        session = requests.Session()
        session.verify = self.cfg.ca_file or True
        transport = CappedTransport(
            timeout=self.cfg.timeout, cap=self.cfg.max_response_size, session=session
        )
        try:
            client, proxy = wsdl.bind(service, transport)
            yield SoapSession(self, client, proxy)
        finally:
            session.close()


def from_config(config: LoadedConfig, cfg: SourceConfig, retry: RetryPolicy) -> SoapSource:
    """The registry's factory (see :data:`dlrpoll.sources.KINDS`)."""
    assert isinstance(cfg, SoapSourceConfig)
    secrets = config.source_secrets(cfg.name)
    args = {k: secrets.get(("args", k), v) for k, v in cfg.args.items()}
    return SoapSource(cfg, args, retry=retry)

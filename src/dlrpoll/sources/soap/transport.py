"""The HTTP transport zeep sends calls through: connect and read timeouts on every call, the
response read in chunks up to ``max_response_size``, bodies never logged (they carry
credentials), and every failure named by its stage (:class:`HttpFailure`) for the session to
look up in the failure table, knowing whether the call consumed what it returned.
"""

from __future__ import annotations

import io
from contextlib import closing
from dataclasses import dataclass

import requests
import urllib3.exceptions
import zeep.transports

from dlrpoll.sources.soap.failures import Stage
from dlrpoll.sources.soap.wsdl import short

_CHUNK = 64 * 1024


class HttpFailure(Exception):
    """Raised by the transport; the session maps it to our errors, knowing the mode."""

    def __init__(self, stage: Stage, detail: str, prefix: bytes = b"") -> None:
        super().__init__(detail)
        self.stage = stage  # CONNECT, TLS, LOST, TRUNCATED or TOO_LARGE
        self.detail = detail
        self.prefix = prefix


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: its status and body, and why only a part of it is there, if so."""

    status: int
    content: bytes
    problem: str | None = None  # set when only a prefix of the response arrived


def classify(exc: requests.RequestException) -> Stage:
    """The stage of a requests failure: before anything was sent, or after."""
    if isinstance(exc, requests.exceptions.SSLError):
        return Stage.TLS
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.ProxyError):
        return Stage.CONNECT
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)
        if isinstance(reason, urllib3.exceptions.NewConnectionError):
            return Stage.CONNECT
    # a read timeout, or a reset/abort once the request may have been sent
    return Stage.LOST


class CappedTransport(zeep.transports.Transport):
    """zeep's transport, reading the response in chunks up to a size cap, with connect and
    read timeouts on every call, and never logging bodies (they carry credentials)."""

    def __init__(self, *, timeout: float, cap: int, session: requests.Session) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            timeout=timeout, operation_timeout=timeout, session=session
        )
        self.cap = cap

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        try:
            response = self.session.post(
                address,
                data=message,
                headers=headers,
                timeout=(self.load_timeout, self.operation_timeout),
                stream=True,
            )
        except requests.RequestException as exc:
            raise HttpFailure(classify(exc), short(exc)) from exc
        with closing(response):
            # a BytesIO hands its buffer over without a copy (getvalue), so a response costs
            # its size once, not two or three times (chunks, their join, a slice of it)
            body = io.BytesIO()
            total = 0
            try:
                # read1, not iter_content: a body that breaks off keeps the part that arrived
                while chunk := response.raw.read1(_CHUNK, decode_content=True):
                    body.write(chunk)
                    total += len(chunk)
                    if total > self.cap:
                        body.truncate(self.cap)
                        raise HttpFailure(
                            Stage.TOO_LARGE,
                            f"the response exceeds max_response_size ({self.cap} bytes)",
                            body.getvalue(),
                        )
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise HttpFailure(
                    Stage.TRUNCATED,
                    f"the response broke off after {total} bytes ({short(exc)})",
                    body.getvalue(),
                ) from exc
        response._content = body.getvalue()
        return response

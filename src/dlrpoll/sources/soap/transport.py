"""HTTP for a SOAP source: one session per poll with the source's credentials, the capped
transport zeep sends calls through, and the loader zeep reads the WSDL and its imports with.

Calls have connect and read timeouts, are read in chunks up to ``max_response_size``, and
follow only the redirects that keep a POST a POST on the same host (307, 308); bodies are
never logged (they carry credentials). Every failure is named by its stage
(:class:`HttpFailure`) for the session to look up in the failure table.

The cap counts decoded bytes: a gzip or deflate body is inflated a chunk at a time and
never past the cap (:func:`read_capped`), so a small compressed body that would inflate to
gigabytes costs the cap, not the gigabytes. That rests on urllib3 2.6's bounded decoders
(``read1(amt)`` inflates at most ``amt`` bytes; before 2.6 it inflated a whole chunk,
CVE-2025-66471), hence the ``urllib3>=2.6`` requirement.

The WSDL loader serves the standard schemas a WSDL may name from package data, follows
imports only on the WSDL's own origin (a URL's scheme, host and port, or a local WSDL file's
directory), and refuses everything else with :class:`Refused`.
"""

from __future__ import annotations

import io
import os
from contextlib import closing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.request import url2pathname

import requests
import urllib3.exceptions
import zeep.transports

from dlrpoll.sources.soap.failures import Stage, short

_CHUNK = 64 * 1024
_MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)

#: well-known schema locations → the copy shipped in ``schemas/`` (see its README)
STANDARD_SCHEMAS = {
    "schemas.xmlsoap.org/soap/encoding": "soap-encoding.xsd",
    "schemas.xmlsoap.org/soap/envelope": "soap-envelope.xsd",
    "schemas.xmlsoap.org/wsdl": "wsdl.xsd",
    "schemas.xmlsoap.org/wsdl/soap": "wsdl-soap.xsd",
    "www.w3.org/2001/xml.xsd": "xml.xsd",
    "www.w3.org/XML/1998/namespace": "xml.xsd",
}


def mask_url(url: str) -> str:
    """``url`` with any user and password replaced, for logs and messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"******@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the default port made explicit."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


class Refused(Exception):
    """An import or redirect dlrpoll will not follow; the message says which and why."""


@dataclass
class Credentials:
    """What every request of a source carries: HTTP auth, extra headers, WS-Security."""

    auth: requests.auth.AuthBase | None = None
    headers: dict[str, str] = field(default_factory=dict)
    wsse: Any = None
    #: secret values, to mask wherever a message might repeat one
    secrets: tuple[str, ...] = ()


def http_session(ca_file: str | None, creds: Credentials) -> requests.Session:
    """A requests session that verifies TLS (against ``ca_file`` if given) and sends the
    source's credentials with every request."""
    session = requests.Session()
    session.verify = ca_file or True
    session.auth = creds.auth
    session.headers.update(creds.headers)
    return session


class HttpFailure(Exception):
    """Raised by the transport; the session maps it to our errors, knowing the mode."""

    def __init__(
        self, stage: Stage, detail: str, prefix: bytes = b"", content_type: str = ""
    ) -> None:
        super().__init__(detail)
        self.stage = stage  # CONNECT, TLS, LOST, TRUNCATED, TOO_LARGE or REDIRECT
        self.detail = detail
        self.prefix = prefix
        self.content_type = content_type  # of the response whose prefix this is


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: its status, Content-Type and body, and why only a part of the body
    is there, if so."""

    status: int
    content: bytes
    problem: str | None = None  # set when only a prefix of the response arrived
    content_type: str = ""


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

    def _send(self, url: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        for _ in range(_MAX_REDIRECTS + 1):
            try:
                response = self.session.post(
                    url,
                    data=message,
                    headers=headers,
                    timeout=(self.load_timeout, self.operation_timeout),
                    stream=True,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                raise HttpFailure(classify(exc), short(exc)) from exc
            location = response.headers.get("Location")
            if response.status_code not in _REDIRECTS or not location:
                return response
            target = urljoin(url, location)
            response.close()
            if response.status_code in (307, 308) and origin(target) == origin(url):
                url = target  # the same POST, body and all, to the same host
                continue
            why = (
                "to another host"
                if origin(target) != origin(url)
                else "which would turn the POST into a GET"
            )
            raise HttpFailure(
                Stage.REDIRECT,
                f"the server redirects (HTTP {response.status_code}) to {mask_url(target)}, "
                f"{why}; put that address in endpoint",
            )
        raise HttpFailure(Stage.REDIRECT, f"more than {_MAX_REDIRECTS} redirects from {url}")

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        response = self._send(address, message, headers)
        ctype = response.headers.get("Content-Type", "")
        with closing(response):
            body = read_capped(response, self.cap)
        if body.over:
            raise HttpFailure(
                Stage.TOO_LARGE,
                f"the response exceeds max_response_size ({self.cap} bytes)",
                body.data,
                ctype,
            )
        if body.broke is not None:
            raise HttpFailure(
                Stage.TRUNCATED,
                f"the response broke off after {len(body.data)} bytes ({short(body.broke)})",
                body.data,
                ctype,
            ) from body.broke
        response._content = body.data
        return response


@dataclass(frozen=True)
class Body:
    """A response body read up to a cap: at most ``cap`` decoded bytes, whether more
    arrived (``over``), and why it broke off, if it did."""

    data: bytes
    over: bool = False
    broke: Exception | None = None


def read_capped(response: requests.Response, cap: int) -> Body:
    """``response``'s body (``stream=True``), decoded (gzip, deflate), never more than
    ``cap + 1`` decoded bytes in memory: each read asks for at most what is left of the cap
    plus one byte, and urllib3 inflates no more than it is asked for."""
    # a BytesIO hands its buffer over without a copy (getvalue), so a response costs its
    # size once, not two or three times (chunks, their join, a slice of it)
    buffer = io.BytesIO()
    total = 0
    try:
        # read1, not iter_content: a body that breaks off keeps the part that arrived
        while chunk := response.raw.read1(min(_CHUNK, cap + 1 - total), decode_content=True):
            buffer.write(chunk)
            total += len(chunk)
            if total > cap:
                buffer.truncate(cap)
                return Body(buffer.getvalue(), over=True)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return Body(buffer.getvalue(), broke=exc)
    return Body(buffer.getvalue())


def standard_schema(url: str) -> bytes | None:
    """The shipped copy of a standard schema named by ``url``, if it is one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    key = (parts.netloc + parts.path).rstrip("/")
    name = STANDARD_SCHEMAS.get(key)
    if name is None:
        return None
    return resources.files("dlrpoll.sources.soap").joinpath("schemas", name).read_bytes()


class WsdlLoader(zeep.transports.Transport):
    """zeep's transport for the WSDL and what it imports: standard schemas from package
    data, everything else only from the WSDL's own origin."""

    def __init__(self, wsdl: str, *, timeout: float, session: requests.Session, cap: int) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            timeout=timeout, operation_timeout=timeout, session=session
        )
        self.cap = cap  # each document's decoded size, like a call's response
        self.wsdl = wsdl
        self.remote = urlsplit(wsdl).scheme in ("http", "https")
        self.directory = None if self.remote else Path(_local_path(wsdl)).resolve().parent

    def load(self, url: str) -> bytes:
        shipped = standard_schema(url)
        if shipped is not None:
            return shipped
        if urlsplit(url).scheme in ("http", "https"):
            return self._get(url)
        path = Path(_local_path(url)).resolve()
        if self.directory is None or not path.is_relative_to(self.directory):
            where = f"the directory of {self.directory}" if self.directory else "no local files"
            raise Refused(
                f"the WSDL imports the local file {path}, outside what dlrpoll reads for it "
                f"({where}): keep its documents together, beside the WSDL"
            )
        return path.read_bytes()

    def _get(self, url: str) -> bytes:
        home = origin(self.wsdl) if self.remote else None
        for _ in range(_MAX_REDIRECTS + 1):
            if origin(url) != home:
                first = "" if home is None else f" ({home[0]}://{home[1]}:{home[2]})"
                raise Refused(
                    f"the WSDL leads to {mask_url(url)}, which is not on the WSDL's own "
                    f"origin{first}; dlrpoll follows imports and redirects only there: save "
                    "the documents beside a local copy of the WSDL and point wsdl at it"
                )
            response = self.session.get(
                url,
                timeout=(self.load_timeout, self.load_timeout),
                allow_redirects=False,
                stream=True,
            )
            with closing(response):
                location = response.headers.get("Location")
                if response.status_code in _REDIRECTS and location:
                    url = urljoin(url, location)
                    continue
                response.raise_for_status()
                body = read_capped(response, self.cap)
            if body.over:
                raise Refused(
                    f"{mask_url(url)} is larger than max_response_size ({self.cap} bytes); "
                    "raise it if the WSDL really is that large"
                )
            if body.broke is not None:
                raise requests.ConnectionError(
                    f"{mask_url(url)} broke off after {len(body.data)} bytes"
                ) from body.broke
            return body.data
        raise Refused(f"more than {_MAX_REDIRECTS} redirects loading {mask_url(url)}")


def _local_path(location: str) -> str:
    parts = urlsplit(location)
    if parts.scheme == "file":
        return url2pathname(parts.path)
    return os.path.expanduser(location)

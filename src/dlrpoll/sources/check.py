"""What ``dlrpoll check-config`` asks of each kind of source, before any poll.

Two kinds of check, both returning :class:`Check` lines (ok or failed, with what to do):

- ``local(config, cfg)``: what can be checked without the network (files the source
  reads: a CA bundle, a WSDL kept on disk);
- ``connect(config, cfg)`` (``check-config --connect``): connect, negotiate TLS, log in,
  load the WSDL and resolve the operation, items and fields, count what waits where the
  protocol allows it. A connect check never fetches, marks or deletes anything.

Each kind registers the module that implements both in :data:`CHECKS` (imported only when
used); a kind without one gets a line saying so.
"""

from __future__ import annotations

import importlib
import os
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from dlrpoll.config import LoadedConfig, SourceConfig
from dlrpoll.errors import DlrpollError


@dataclass(frozen=True)
class Check:
    """One check: ``what`` was checked; ``detail`` is the finding (on failure: the error
    and the fix). ``ok`` is None for a note that is neither."""

    ok: bool | None
    what: str
    detail: str = ""

    def line(self) -> str:
        mark = {True: "ok    ", False: "FAILED", None: "note  "}[self.ok]
        return f"{mark}  {self.what}" + (f": {self.detail}" if self.detail else "")


class KindChecks(Protocol):
    """The module a kind registers in :data:`CHECKS`."""

    def local(self, config: LoadedConfig, cfg: SourceConfig) -> Iterator[Check]: ...

    def connect(self, config: LoadedConfig, cfg: SourceConfig) -> Iterator[Check]: ...


#: ``kind`` → the module with that kind's ``local`` and ``connect`` checks
CHECKS: dict[str, str] = {
    "imap": "dlrpoll.sources.imap_check",
    "pop3": "dlrpoll.sources.pop3_check",
    "soap": "dlrpoll.sources.soap_check",
}


def _module(kind: str) -> KindChecks | None:
    name = CHECKS.get(kind)
    return None if name is None else importlib.import_module(name)


def local_checks(config: LoadedConfig, cfg: SourceConfig) -> list[Check]:
    """The checks of ``cfg`` that need no network."""
    module = _module(cfg.kind)
    return [] if module is None else list(module.local(config, cfg))


def connect_checks(config: LoadedConfig, cfg: SourceConfig) -> list[Check]:
    """The network checks of ``cfg``; never fetches, marks or deletes anything."""
    module = _module(cfg.kind)
    if module is None:
        return [Check(False, f"{cfg.name}: connect", f"no connect check for kind {cfg.kind!r}")]
    try:
        return list(module.connect(config, cfg))
    except DlrpollError as exc:  # a check that could not even start
        return [Check(False, f"{cfg.name}: connect", str(exc))]


def readable_file(what: str, path: str | os.PathLike[str], base: Path | None) -> Check:
    """That ``path`` (relative to the config file's directory) is a file this user can
    read."""
    file = Path(path).expanduser()
    if not file.is_absolute() and base is not None:
        file = base / file
    if not file.exists():
        return Check(False, what, f"{file} does not exist; fix the path or create the file")
    if not file.is_file():
        return Check(False, what, f"{file} is not a file")
    if not os.access(file, os.R_OK):
        return Check(False, what, f"{file} is not readable by this user; fix its permissions")
    return Check(True, what, str(file))


def tls_handshake(
    what: str, host: str, port: int, *, tls: bool, ca_file: str | None, timeout: float
) -> Check:
    """Connect to ``host:port`` and, with ``tls``, complete a verified TLS handshake; no
    byte of any protocol is sent."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if not tls:
                return Check(True, what, f"{host}:{port} accepts connections")
            ctx = ssl.create_default_context(cafile=ca_file)
            with ctx.wrap_socket(sock, server_hostname=host) as wrapped:
                return Check(True, what, f"{host}:{port}, TLS {wrapped.version()}, verified")
    except ssl.SSLCertVerificationError as exc:
        detail = exc.verify_message or str(exc)
        return Check(
            False,
            what,
            f"{host}:{port}: the certificate was rejected ({detail}); for a private CA set "
            "ca_file to its certificate",
        )
    except ssl.SSLError as exc:
        return Check(False, what, f"{host}:{port}: TLS failed ({exc.reason or exc})")
    except socket.gaierror as exc:
        return Check(False, what, f"cannot resolve {host!r} ({exc.strerror}); check the host")
    except TimeoutError:
        return Check(False, what, f"{host}:{port}: no answer within {timeout:g} s")
    except OSError as exc:
        return Check(False, what, f"{host}:{port}: {exc.strerror or exc}; check host and port")

"""Throwaway certificates for the private test servers, made with the ``openssl`` command.

EC P-256 keys (fast to make), valid two days. :func:`make_ca` gives a CA that clients trust
through ``ca_file``; :func:`make_server_cert` a leaf for ``localhost`` and ``127.0.0.1``
(so connecting to ``127.0.0.2`` fails host-name verification: see the shared note
"dovecot-for-tests").
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from tests.support.server import ServerError

__all__ = ["make_ca", "make_server_cert"]


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ServerError(f"openssl {' '.join(args[:2])} failed: {proc.stderr.strip()}")


def make_ca(directory: Path, name: str = "ca") -> tuple[Path, Path]:
    """A throwaway CA in ``directory``: ``(NAME.crt, NAME.key)``."""
    key, crt = directory / f"{name}.key", directory / f"{name}.crt"
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key.name, cwd=directory)
    _openssl(
        "req", "-x509", "-new", "-key", key.name, "-out", crt.name, "-days", "2",
        "-subj", f"/CN=dlrpoll test {name}", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    return crt, key


def make_server_cert(
    directory: Path,
    ca_crt: Path,
    ca_key: Path,
    names: Sequence[str] = ("DNS:localhost", "IP:127.0.0.1"),
    stem: str = "server",
) -> tuple[Path, Path]:
    """A server certificate signed by the CA, for the subjectAltName ``names``:
    ``(STEM.crt, STEM.key)`` in ``directory``."""
    key, csr, crt = directory / f"{stem}.key", directory / f"{stem}.csr", directory / f"{stem}.crt"
    ext = directory / f"{stem}.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        f"subjectAltName={','.join(names)}\n"
    )
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key.name, cwd=directory)
    _openssl("req", "-new", "-key", key.name, "-out", csr.name, "-subj", "/CN=localhost",
             cwd=directory)  # fmt: skip
    _openssl(
        "x509", "-req", "-in", csr.name, "-CA", str(ca_crt), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", crt.name, "-days", "2", "-extfile", ext.name,
        cwd=directory,
    )  # fmt: skip
    return crt, key

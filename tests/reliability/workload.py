"""Known receipts to load servers with, configs that point at them, and the check of the
promise ("every receipt a source handed over is stored exactly once"). Shared by the
reliability tests and ``scripts/chaos``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlrpoll.config import LoadedConfig, Secret, parse_settings
from tests.support.clock import STEP, T0, Clock

__all__ = ["STEP", "T0", "Clock"]


def message_id(tag: str, i: int) -> str:
    """A message id unique to one workload: ``tag`` keeps runs and sources apart."""
    return f"{tag}{i:07d}"


def smpp_text(msg_id: str, stat: str = "DELIVRD") -> str:
    """An SMPP Appendix B receipt, as providers send it."""
    return (
        f"id:{msg_id} sub:001 dlvrd:001 submit date:2611221200 done date:2611221201 "
        f"stat:{stat} err:000 text:"
    )


def email(msg_id: str, *, pad: int = 0) -> bytes:
    """A forwarded receipt e-mail (RFC 5322, CRLF) whose body is the receipt's text.
    ``pad`` adds a filler header to make the message bigger."""
    lines = [
        "From: dlr@provider.example",
        "To: receipts@example.com",
        f"Subject: DLR {msg_id}",
        f"Message-ID: <{msg_id}@provider.example>",
        "Date: Sun, 22 Nov 2026 12:01:00 +0000",
        "Content-Type: text/plain; charset=us-ascii",
    ]
    if pad:
        lines.append("X-Padding: " + "p" * pad)
    lines += ["", smpp_text(msg_id), ""]
    return "\r\n".join(lines).encode()


def pop3_source(
    name: str,
    port: int,
    user: str,
    *,
    ca_file: str | None = None,
    timeout: float = 1.0,
    retries: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    """A POP3 source on 127.0.0.1:``port``: POP3S when ``ca_file`` is given, else plain."""
    src: dict[str, Any] = {
        "name": name,
        "kind": "pop3",
        "host": "127.0.0.1",
        "port": port,
        "username": user,
        "password": {"env": "DLRPOLL_TEST_UNUSED"},  # resolved below, never from the env
        "profile": "smpp",
        "timeout": timeout,
        "retries": retries,
    }
    if ca_file:
        src |= {"tls": "ssl", "ca_file": ca_file}
    else:
        src |= {"tls": "none", "allow_plaintext": True}
    return src | extra


def loaded_config(
    sources: Iterable[Mapping[str, Any]],
    db_path: Path,
    passwords: Mapping[str, str] | None = None,
    soap_args: Mapping[str, Mapping[str, str]] | None = None,
) -> LoadedConfig:
    """A :class:`LoadedConfig` as ``load_config`` would give, secrets already resolved."""
    settings = parse_settings(
        {"database": {"path": str(db_path), "busy_timeout": 5}, "sources": list(sources)}
    )
    secrets: dict[tuple[str, ...], Secret] = {}
    for name, pw in (passwords or {}).items():
        secrets[(name, "password")] = Secret(pw, "test")
    for name, args in (soap_args or {}).items():
        for key, value in args.items():
            secrets[(name, "args", key)] = Secret(value, "test")
    return LoadedConfig(settings=settings, path=None, secrets=secrets)


@dataclass(frozen=True)
class Tally:
    """Promise 1 checked against what the servers were loaded with."""

    expected: int
    stored: int
    lost: int
    duplicated: int
    quarantined: int
    lost_ids: tuple[str, ...] = ()

    def line(self) -> str:
        return (
            f"receipts expected {self.expected}, stored {self.stored}, "
            f"lost {self.lost}, duplicated {self.duplicated}"
        )


def check_promise(db_path: Path, expected: Iterable[str], *, sources: Iterable[str] = ()) -> Tally:
    """Every expected message id in ``receipts`` exactly once (each was loaded once, with one
    state), or its raw bytes quarantined with a reason. Read with plain ``sqlite3``, as a
    reporting tool would."""
    want = set(expected)
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        where, params = "", tuple[str, ...]()
        names = tuple(sources)
        if names:
            where = f" WHERE source IN ({','.join('?' * len(names))})"
            params = names
        counts: dict[str, int] = {}
        for mid, n in conn.execute(
            f"SELECT message_id, COUNT(*) FROM receipts{where} GROUP BY message_id", params
        ):
            counts[mid] = n
        quarantined = conn.execute(
            f"SELECT COUNT(*) FROM raw_messages{where}"
            + (" AND" if where else " WHERE")
            + " parse_error IS NOT NULL AND format NOT IN ('soap-envelope')",
            params,
        ).fetchone()[0]
    finally:
        conn.close()
    stored = sum(1 for m in want if counts.get(m, 0) >= 1)
    duplicated = sum(counts[m] - 1 for m in want if counts.get(m, 0) > 1)
    lost_ids = tuple(sorted(m for m in want if m not in counts))
    # a quarantined item with its reason keeps the promise too, but none of ours should be
    lost = len(lost_ids)
    return Tally(len(want), stored, lost, duplicated, quarantined, lost_ids[:20])


def rows(db_path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()

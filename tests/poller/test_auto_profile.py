"""A source that names no profile reads with ``auto``: catalogue providers by their keys,
everything else as the kind's former default; match_id reaches the database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.config import LoadedConfig, parse_settings
from dlrpoll.poller import parser_for, poll_source
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.store import Store
from tests.support.clock import Clock
from tests.support.fake_source import FakeSource

PROVIDERS = Path(__file__).resolve().parent.parent / "fixtures" / "providers"
POP3 = {"kind": "pop3", "name": "box", "host": "127.0.0.1", "username": "u", "password": "x"}
SOAP = {"kind": "soap", "name": "inbox", "wsdl": "unused.wsdl"}
UNDELIV = b"id:7A3F0014 sub:001 dlvrd:000 submit date:2411051230 done date:2411051240 stat:UNDELIV"


def loaded(data: dict[str, Any]) -> LoadedConfig:
    return LoadedConfig(settings=parse_settings(data), path=None, secrets={})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'dlr.sqlite'}")
    yield s
    s.close()


def rows(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "dlr.sqlite") as conn:
        return conn.execute(sql).fetchall()


def test_sources_default_to_auto_with_their_kinds_fallback() -> None:
    config = loaded({"sources": [POP3, SOAP]})
    pop3, soap = config.settings.sources
    assert (pop3.profile, soap.profile) == ("auto", "auto")
    # Upside's UNDELIV is intermediate, SMPP's final: each kind reads as it used to
    assert parser_for(config, pop3).parse(1, RawItem("a", UNDELIV, "text")).receipts[0].final
    assert not parser_for(config, soap).parse(1, RawItem("a", UNDELIV, "text")).receipts[0].final


def test_a_poll_stores_detected_receipts_with_their_format_and_match_id(
    store: Store, tmp_path: Path
) -> None:
    config = loaded(
        {
            # the user's Twilio replaces the built-in, and auto reads with it
            "profiles": {
                "twilio": {
                    "fields": {"message_id": "MessageSid", "status": "MessageStatus"},
                    "states": {"delivered": "DELIVERED"},
                    "match_id": "upper",
                }
            },
            "sources": [POP3],
        }
    )
    items = [
        RawItem("1", (PROVIDERS / "infobip" / "failed.json").read_bytes(), RawFormat.TEXT),
        RawItem("2", (PROVIDERS / "twilio" / "delivered.txt").read_bytes(), RawFormat.TEXT),
        RawItem("3", (PROVIDERS / "smpp" / "delivered.txt").read_bytes(), RawFormat.TEXT),
    ]
    result = poll_source(
        config, config.settings.sources[0], FakeSource(queue=[items]), store, clock=Clock()
    )
    assert (result.outcome, result.stored, result.quarantined) == ("ok", 3, 0)
    assert rows(tmp_path, "SELECT message_id, match_id, format FROM receipts ORDER BY id") == [
        ("MESSAGE-ID-456-xyz", "MESSAGE-ID-456-xyz", "keyvalue:infobip"),
        (
            "SM1f0e8ae6ade43cb3c0ce4525424e404f",
            "SM1F0E8AE6ADE43CB3C0CE4525424E404F",
            "keyvalue:twilio",
        ),
        ("0042", "0042", "smpp"),
    ]
    assert rows(tmp_path, "SELECT match_id FROM message_status ORDER BY match_id") == [
        ("0042",),
        ("MESSAGE-ID-456-xyz",),
        ("SM1F0E8AE6ADE43CB3C0CE4525424E404F",),
    ]

"""``dlrpoll export`` and ``dlrpoll reparse``, called through ``main`` as a user would."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dlrpoll.cli import main
from dlrpoll.errors import ConfigError
from dlrpoll.export import parse_when
from dlrpoll.receipts.model import State
from dlrpoll.store import ParsedRaw, Store

from .helpers import at, item, receipt, rows

SMPP = (
    b"id:0A1B2C sub:001 dlvrd:001 submit date:2611221400 done date:2611221401 "
    b"stat:DELIVRD err:000 text:hello"
)


@pytest.fixture
def config(tmp_path: Path, db_path: Path) -> Path:
    path = tmp_path / "dlrpoll.toml"
    path.write_text(
        f"""
[database]
path = "{db_path.name}"

[[sources]]
name = "upside"
kind = "soap"
wsdl = "inbox.wsdl"
profile = "smpp"
dedupe_scope = "acme"

[[sources]]
name = "mailbox"
kind = "soap"
wsdl = "inbox.wsdl"
profile = "smpp"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def filled(store: Store) -> Store:
    """Receipts from two sources, stored at T0+1s and T0+1h."""
    a = store.journal("upside", [item("u1"), item("u2")], at(0))
    store.store_parsed(
        "upside",
        "acme",
        [
            ParsedRaw(a[0].raw_id, [receipt("M1", State.ENROUTE, done=10)]),
            ParsedRaw(a[1].raw_id, [receipt("M1", done=20)]),
        ],
        at(1),
    )
    b = store.journal("mailbox", [item("m1")], at(3600))
    store.store_parsed("mailbox", "mailbox", [ParsedRaw(b[0].raw_id, [receipt("M2")])], at(3600))
    return store


def test_export_receipts_as_csv(
    config: Path, filled: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--config", str(config)]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["id"], r["source"], r["message_id"], r["state"]) for r in table] == [
        ("1", "upside", "M1", "ENROUTE"),
        ("2", "upside", "M1", "DELIVERED"),
        ("3", "mailbox", "M2", "DELIVERED"),
    ]
    assert table[0]["client_ref"] == ""  # NULL is an empty cell
    assert table[0]["received_at"] == "2026-11-22T14:00:01.000000Z"


def test_export_filters_by_time_and_source(
    config: Path, filled: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["export", "--config", str(config), "--since", "2026-11-22T14:30", "--format", "jsonl"])
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["message_id"] for line in lines] == ["M2"]
    main(["export", "--config", str(config), "--source", "upside", "--until", "2026-11-22T14:30"])
    assert len(capsys.readouterr().out.splitlines()) == 1 + 2


def test_export_statuses_to_a_file(
    config: Path, filled: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out" / "status.jsonl"
    target.parent.mkdir()
    args = ["export", "--config", str(config), "--what", "status", "--format", "jsonl"]
    assert main([*args, "--source", "upside", "--output", str(target)]) == 0
    assert f"exported 1 statuses to {target}" in capsys.readouterr().out
    [status] = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    # --source picks the source's dedupe scope
    assert (status["scope"], status["message_id"], status["state"], status["receipts"]) == (
        "acme",
        "M1",
        "DELIVERED",
        2,
    )
    assert [p.name for p in target.parent.iterdir()] == ["status.jsonl"]  # no partial file left


def test_export_refuses_a_time_it_cannot_read(
    config: Path, filled: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--config", str(config), "--since", "yesterday"]) == 2
    assert "'yesterday' is not a time" in capsys.readouterr().err


def test_parse_when() -> None:
    now = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)
    assert parse_when("2026-11-21", now) == datetime(2026, 11, 21, tzinfo=UTC)
    assert parse_when("2026-11-22T15:00+01:00", now) == now
    assert parse_when("90m", now) == datetime(2026, 11, 22, 12, 30, tzinfo=UTC)
    assert parse_when("7d", now) == datetime(2026, 11, 15, 14, 0, tzinfo=UTC)
    with pytest.raises(ConfigError):
        parse_when("120", now)  # seconds or a year? refuse rather than guess


def test_reparse_stores_what_now_parses_once(
    config: Path, store: Store, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = store.journal("upside", [item("u1", SMPP), item("u2", b"still garbage")], at(0))
    store.store_parsed(
        "upside",
        "acme",
        [ParsedRaw(e.raw_id, [], "no profile matched (old config)") for e in entries],
        at(1),
    )
    assert main(["reparse", "--config", str(config), "--source", "upside"]) == 0
    assert "upside: stored 1, duplicates 0, still quarantined 1" in capsys.readouterr().out
    assert main(["reparse", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "upside: stored 0, duplicates 0, still quarantined 1" in out
    assert "mailbox: stored 0" in out
    assert rows(db_path, "SELECT scope, message_id, state FROM receipts") == [
        ("acme", "0A1B2C", "DELIVERED")
    ]
    assert rows(db_path, "SELECT remote_id, receipts FROM raw_messages ORDER BY id") == [
        ("u1", 1),
        ("u2", None),
    ]


def test_reparse_names_an_unknown_source(
    config: Path, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reparse", "--config", str(config), "--source", "nope"]) == 2
    assert "no source named 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["reparse", "export", "snapshot", "report"])
def test_help_has_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"dlrpoll {command}" in out

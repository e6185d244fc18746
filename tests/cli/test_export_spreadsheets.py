"""Export for spreadsheets: CSV never lets a value start a formula (unless --raw-csv); xlsx
keeps ids and error codes as text."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dlrpoll.cli import main
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.receipts import BUILTIN_PROFILES, parse_payload
from dlrpoll.store import ParsedRaw, Store

HOSTILE = b'id:000123 sub:001 dlvrd:001 stat:DELIVRD err:007 text:=HYPERLINK("x")'


@pytest.fixture
def config(tmp_path: Path) -> Path:
    with Store(f"sqlite:///{tmp_path / 'dlr.sqlite'}") as store:
        [entry] = store.journal("box", [RawItem("r1", HOSTILE, RawFormat.TEXT)], datetime.now(UTC))
        receipts = parse_payload(HOSTILE, "text", BUILTIN_PROFILES["smpp"], UTC)
        store.store_parsed("box", "box", [ParsedRaw(entry.raw_id, receipts)], datetime.now(UTC))
    path = tmp_path / "dlrpoll.toml"
    path.write_text(f'[database]\npath = "{tmp_path / "dlr.sqlite"}"\n')
    return path


def exported(config: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, str]:
    capsys.readouterr()
    assert main(["export", "--config", str(config), *extra]) == 0
    [row] = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    return row


def test_csv_neutralises_formulas_unless_raw(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    row = exported(config, capsys)
    assert row["text"] == '\'=HYPERLINK("x")'
    assert row["message_id"] == "000123" and row["error_code"] == "007"
    assert exported(config, capsys, "--raw-csv")["text"] == '=HYPERLINK("x")'


def test_xlsx_keeps_ids_and_codes_as_text(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    assert main(["export", "--format", "xlsx", "--output", str(out), "--config", str(config)]) == 0
    sheet = load_workbook(out, read_only=True)["dlrpoll"]
    header, values = list(sheet.iter_rows(values_only=True))
    row = dict(zip(header, values, strict=True))
    assert row["message_id"] == "000123" and row["error_code"] == "007"
    assert row["text"] == '=HYPERLINK("x")'  # a text cell, never a formula
    cells = list(next(sheet.iter_rows(min_row=2, max_row=2)))
    assert cells[header.index("text")].data_type == "s"
    assert cells[header.index("message_id")].data_type == "s"


def test_xlsx_needs_a_file(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--format", "xlsx", "--config", str(config)]) == 2
    assert "give --output FILE.xlsx" in capsys.readouterr().err

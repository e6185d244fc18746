"""``dlrpoll demo`` end to end in a temporary working directory."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dlrpoll.cli import main


def test_demo_runs_end_to_end_and_starts_fresh_each_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dlrpoll-demo.sqlite").write_bytes(b"an old file that is not a database")
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for name in ("upside-soap", "ginota-mail", "smsc-mail"):
        assert f"  {name}: ok (" in out
    assert "sqlite3 -header -column dlrpoll-demo.sqlite" in out
    assert "quarantined raw messages waiting for `dlrpoll reparse`: 2" in out
    db = tmp_path / "dlrpoll-demo.sqlite"
    with sqlite3.connect(db) as conn:
        states = dict(conn.execute("select message_id, state from message_status").fetchall())
        dups = conn.execute("select sum(duplicates) from poll_runs").fetchone()[0]
        quarantined = conn.execute(
            "select count(*) from raw_messages where parse_error is not null"
        ).fetchone()[0]
    # UNDELIV is "keep trying" for Upside: the later DELIVRD governs
    assert states["0A31F7"] == "DELIVERED"
    # Ginota's "4 Accepted" is intermediate
    assert states["18D64EC1EADE"] == "ACCEPTED"
    assert states["7F00A2"] == "EXPIRED"
    # the resent Ginota e-mail and 0A31F2 seen over SOAP and by e-mail are stored once
    assert dups == 2
    assert quarantined == 2
    # a second run replaces the file rather than adding to it
    assert main(["demo"]) == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from poll_runs").fetchone()[0] == 3

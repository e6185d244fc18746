"""``dlrpoll quarantine``: list, show (safely printed), dismiss; a dismissed item stays in the
journal and no longer counts in ``status``, the metric or ``reparse``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlrpoll.cli import main
from dlrpoll.sandbox.pop3_server import Pop3Sandbox
from tests.support.metrics import value

GOOD = b"Subject: DLR\r\n\r\nid:1 sub:001 dlvrd:001 stat:DELIVRD err:000 text:\r\n"
HOSTILE = b"Subject: hi\r\n\r\nnot a receipt \x1b[31mred\x1b[0m \xe2\x80\xae rtl\r\n"
BOUNCE = b"Subject: Undeliverable\r\n\r\nThe mail system could not deliver your message\r\n"


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    with Pop3Sandbox(password="pw") as box:
        for mail in (GOOD, HOSTILE, BOUNCE):
            box.add(mail)
        (tmp_path / "pw").write_text("pw\n")
        (tmp_path / "pw").chmod(0o600)  # a secret: not world-readable
        path = tmp_path / "dlrpoll.toml"
        path.write_text(
            '[database]\npath = "dlr.sqlite"\n\n[[sources]]\nname = "box"\nkind = "pop3"\n'
            f'host = "127.0.0.1"\nport = {box.port}\ntls = "none"\nallow_plaintext = true\n'
            'username = "dlr"\npassword = { file = "pw" }\nretries = 0\n'
        )
        assert main(["poll", "--quiet", "--config", str(path)]) == 0
        yield path


def ids(tmp_path: Path) -> list[int]:
    with sqlite3.connect(tmp_path / "dlr.sqlite") as db:
        got = [
            r[0] for r in db.execute("SELECT id FROM raw_messages WHERE parse_error IS NOT NULL")
        ]
    db.close()
    return got


def test_list_shows_source_id_reason_and_a_safe_preview(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["quarantine", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    hostile, bounce = ids(tmp_path)
    assert f"{hostile}  box  " in out and f"{bounce}  box  " in out
    assert "reason: " in out and "could not deliver" in out
    assert "\x1b" not in out and "\u202e" not in out  # no terminal escapes, no RTL override
    assert "\\x1b[31mred" in out and "\\u202e" in out


def test_show_prints_the_item_safely_or_raw(
    config: Path, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    hostile, _ = ids(tmp_path)
    assert main(["quarantine", "show", str(hostile), "--config", str(config)]) == 0
    out = capsysbinary.readouterr().out.decode()
    assert f"id: {hostile}" in out and "source: box" in out and "reason: " in out
    assert "\x1b" not in out and "\\x1b[31mred" in out
    assert main(["quarantine", "show", str(hostile), "--raw", "--config", str(config)]) == 0
    assert capsysbinary.readouterr().out == HOSTILE


def test_dismissed_items_leave_status_metrics_and_reparse_but_stay_journaled(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile, bounce = ids(tmp_path)
    assert main(["quarantine", "dismiss", str(hostile), "--config", str(config)]) == 0
    assert f"dismissed 1 item(s): {hostile}" in capsys.readouterr().out
    assert main(["status", "--json", "--config", str(config)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sources"][0]["waiting_reparse"] == 1
    assert data["quarantined_waiting_reparse"] == {"box": 1}
    metrics = tmp_path / "m.prom"
    assert main(["poll", "-q", "--config", str(config), "--metrics-file", str(metrics)]) == 0
    assert value(metrics.read_text(), "dlrpoll_quarantined", source="box") == 1
    capsys.readouterr()
    assert main(["reparse", "--config", str(config)]) == 0
    assert "still quarantined 1" in capsys.readouterr().out
    # the rest of the source; then nothing is left to count, and --all still lists both
    assert main(["quarantine", "dismiss", "--source", "box", "--config", str(config)]) == 0
    assert f"dismissed 1 item(s): {bounce}" in capsys.readouterr().out
    assert main(["status", "--json", "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out)["quarantined_waiting_reparse"] == {}
    assert main(["quarantine", "--config", str(config)]) == 0
    assert "nothing quarantined" in capsys.readouterr().out
    assert main(["quarantine", "list", "--all", "--config", str(config)]) == 0
    assert capsys.readouterr().out.count("(dismissed ") == 2
    with sqlite3.connect(tmp_path / "dlr.sqlite") as db:
        kept = db.execute("SELECT count(*) FROM raw_messages WHERE dismissed_at IS NOT NULL")
        assert kept.fetchone() == (2,)
    db.close()


def test_dismiss_by_reason_and_its_mistakes(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile, bounce = ids(tmp_path)
    args = ["--config", str(config)]
    assert main(["quarantine", "dismiss", "--reason-like", "nothing matches this", *args]) == 0
    assert "dismissed 0 item(s)" in capsys.readouterr().out
    assert main(["quarantine", "dismiss", *args]) == 2
    assert "name the items" in capsys.readouterr().err
    assert main(["quarantine", "dismiss", "--source", "typo", *args]) == 2
    assert "no source named 'typo' (sources: box)" in capsys.readouterr().err
    assert main(["quarantine", "dismiss", str(hostile), "999999", *args]) == 1
    captured = capsys.readouterr()
    assert f"dismissed 1 item(s): {hostile}" in captured.out
    assert "not quarantined or already dismissed: 999999" in captured.err
    assert main(["quarantine", "show", "999999", *args]) == 1
    assert "no raw item with id 999999" in capsys.readouterr().err
    assert bounce in ids(tmp_path)

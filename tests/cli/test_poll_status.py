"""``dlrpoll poll`` and ``dlrpoll status`` in-process, against the sandbox POP3 mailbox and a
port where nothing listens; the metrics file they write."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlrpoll.cli import main
from dlrpoll.sandbox.pop3_server import Pop3Sandbox
from tests.support.metrics import value

CONFIG = """\
[database]
path = "dlr.sqlite"

[[sources]]
name = "box"
kind = "pop3"
host = "127.0.0.1"
port = {port}
tls = "none"
allow_plaintext = true
username = "dlr"
password = {{ file = "pw" }}
retries = 0
timeout = 5

[[sources]]
name = "down"
kind = "pop3"
host = "127.0.0.1"
port = {closed}
tls = "none"
allow_plaintext = true
username = "dlr"
password = {{ file = "pw" }}
retries = 0
timeout = 5
"""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[Pop3Sandbox]:
    with Pop3Sandbox(password="pw-s3cret") as box:
        yield box


@pytest.fixture
def config(tmp_path: Path, mailbox: Pop3Sandbox) -> Path:
    (tmp_path / "pw").write_text("pw-s3cret\n", encoding="utf-8")
    (tmp_path / "pw").chmod(0o600)  # a secret: not world-readable
    path = tmp_path / "dlrpoll.toml"
    path.write_text(CONFIG.format(port=mailbox.port, closed=closed_port()), encoding="utf-8")
    return path


def test_poll_prints_a_line_per_source_and_fails_when_one_fails(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = tmp_path / "dlrpoll.prom"
    code = main(["poll", "--config", str(config), "--metrics-file", str(metrics)])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0] == "box: ok (fetched 0, stored 0, duplicates 0, quarantined 0)"
    assert out[1].startswith("down: error: source 'down'")
    text = metrics.read_text(encoding="utf-8")
    assert value(text, "dlrpoll_polls_total", source="box", outcome="ok") == 1
    assert value(text, "dlrpoll_polls_total", source="down", outcome="error") == 1
    assert value(text, "dlrpoll_last_poll_ok", source="down") == 0
    assert "pw-s3cret" not in text


def test_a_second_poll_inside_the_floor_is_skipped_and_exits_zero(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["poll", "--config", str(config), "--source", "box"]) == 0
    assert main(["poll", "--config", str(config), "--source", "box"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("box: ok")
    # which reason, by whom, and when the source is next allowed
    assert re.fullmatch(
        r"box: skipped: polled (\d\d:\d\d:\d\d) by [^,]+:\d+, next allowed "
        r"(\d\d:\d\d:\d\d) \(UTC\)",
        out[1],
    ), out[1]
    # the refused attempt is counted, not recorded as a run
    assert main(["status", "--config", str(config), "--json"]) == 0
    box = json.loads(capsys.readouterr().out)["sources"][0]
    assert (box["polls"], box["skipped_attempts"], box["lease"]) == (
        {"ok": 1, "skipped": 1},
        1,
        None,
    )


def test_an_unknown_source_is_a_configuration_error(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["poll", "--config", str(config), "--source", "nope"]) == 2
    assert "no source named 'nope' (sources: box, down)" in capsys.readouterr().err


def test_status_shows_last_poll_outcome_and_next_due(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["poll", "--config", str(config)])
    capsys.readouterr()
    assert main(["status", "--config", str(config), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {row["source"]: row for row in data["sources"]}
    assert rows["box"]["outcome"] == "ok" and rows["down"]["outcome"] == "error"
    assert rows["box"]["next_due"] > rows["box"]["last_poll"] > ""
    assert rows["box"]["polls"] == {"ok": 1}
    assert "connect" in rows["down"]["error"] or "refused" in rows["down"]["error"]
    assert data["quarantined_waiting_reparse"] == {}
    assert main(["status", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split()[:2] == ["source", "last"]
    assert "receipts in the last 24 h: none" in text
    assert "quarantined raw messages waiting for `dlrpoll reparse`: 0" in text

"""``status`` shows what waits for an operator: items left on a server (a partial poll) and
a source held by a poller that is gone; ``--local`` shows local times."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dlrpoll.cli import main
from dlrpoll.owner import Owner, machine
from dlrpoll.store import PollRun, Store


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid  # reaped: no process has this id now (until it is reused)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    now = datetime.now(UTC)
    with Store(f"sqlite:///{tmp_path / 'dlr.sqlite'}") as store:
        store.record_poll(
            PollRun(
                "big",
                now - timedelta(minutes=5),
                now - timedelta(minutes=5),
                "partial",
                error="1 item(s) left on the server: message 7 is 3.2 MiB, over max_size 1 MiB",
            )
        )
        # a holder recorded with its identity on this machine, whose process has ended
        owner = Owner(socket.gethostname(), dead_pid(), f"{machine()}/1")
        assert store.claim("stuck", now=now, interval=120, ttl=1200, owner=owner)
        assert store.claim("busy", now=now, interval=120, ttl=1200, owner=f"h:{os.getpid()}")
    path = tmp_path / "dlrpoll.toml"
    path.write_text(
        f'[database]\npath = "{tmp_path / "dlr.sqlite"}"\n'
        + "".join(
            f'[[sources]]\nname = "{n}"\nkind = "pop3"\nhost = "h"\nusername = "u"\n'
            'password = { env = "UNSET_FOR_STATUS" }\n'
            for n in ("big", "stuck", "busy")
        )
    )
    return path


def test_status_shows_items_left_and_a_dead_pollers_claim(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "big: waiting for an operator: 1 item(s) left on the server: message 7" in out
    stuck = next(line for line in out.splitlines() if line.startswith("  stuck: leased by "))
    assert "that process is gone" in stuck
    busy = next(line for line in out.splitlines() if line.startswith("  busy: being polled by h:"))
    assert "gone" not in busy  # another host: whether it runs is not known here
    # one line per held source, not a claim line and a lease line for the same row
    assert sum(line.startswith("  stuck: ") for line in out.splitlines()) == 1
    assert main(["status", "--json", "--config", str(config)]) == 0
    rows = {r["source"]: r for r in json.loads(capsys.readouterr().out)["sources"]}
    assert rows["stuck"]["claim_holder_alive"] is False
    assert rows["busy"]["claim_holder_alive"] is None and rows["big"]["claimed_by"] is None


def test_local_times(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30, no daylight saving
    import time

    time.tzset()
    try:
        assert main(["status", "--local", "--config", str(config)]) == 0
        out = capsys.readouterr().out
        assert "last poll (local)" in out
        assert main(["status", "--json", "--config", str(config)]) == 0
        [big] = [r for r in json.loads(capsys.readouterr().out)["sources"] if r["source"] == "big"]
        utc = datetime.fromisoformat(big["last_poll"].replace("Z", "+00:00"))
        shown = (utc + timedelta(hours=5, minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
        assert shown in out
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()

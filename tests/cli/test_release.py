"""``dlrpoll status`` shows who holds each source; ``dlrpoll release`` clears a lease whose
holder is gone, and refuses a live one without ``--force``."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dlrpoll.cli import main
from dlrpoll.owner import Owner
from dlrpoll.store import Store

CONFIG = """\
[database]
path = "dlr.sqlite"

[[sources]]
name = "box"
kind = "pop3"
host = "127.0.0.1"
port = 9
tls = "none"
allow_plaintext = true
username = "dlr"
password = "pw"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "dlrpoll.toml"
    path.write_text(CONFIG, encoding="utf-8")
    path.chmod(0o600)
    return path


def dead_owner() -> Owner:
    code = (
        "from dlrpoll.owner import Owner as O; o = O.this_process(); print(o.host, o.pid, o.start)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    host, pid, start = out.stdout.split()
    return Owner(host, int(pid), start)


def lease(config: Path, owner: Owner) -> None:
    with Store(f"sqlite:///{config.parent / 'dlr.sqlite'}") as store:
        assert store.claim("box", now=datetime.now(UTC), interval=120, ttl=600, owner=owner)


def status(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["status", "--config", str(config), "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)["sources"]
    assert isinstance(row, dict)
    return row


def test_a_gone_holder_is_shown_and_released(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = dead_owner()
    lease(config, dead)
    row = status(config, capsys)
    assert row["lease"] == {"holder": dead.name, "until": row["lease"]["until"], "state": "gone"}  # type: ignore[index]
    assert main(["status", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert f"box: leased by {dead.name} until " in text and "that process is gone" in text
    assert main(["release", "box", "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith(
        f"box: released the lease of {dead.name} (holder gone"
    )
    assert status(config, capsys)["lease"] is None
    assert main(["release", "box", "--config", str(config)]) == 0
    assert capsys.readouterr().out == "box: no lease to release\n"


def test_a_live_lease_is_refused_without_force(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = Owner("host-b", 4242, "boot-b/pid:[1]/77")  # another machine: only expiry frees it
    lease(config, other)
    row = status(config, capsys)
    assert row["lease"]["state"] == "held"  # type: ignore[index]
    assert main(["status", "--config", str(config)]) == 0
    assert "box: being polled by host-b:4242, lease until " in capsys.readouterr().out
    assert main(["release", "box", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("Error: box: the lease of host-b:4242 is live until ") and "--force" in err
    )
    assert status(config, capsys)["lease"] is not None
    assert main(["release", "box", "--force", "--config", str(config)]) == 0
    assert "released the lease of host-b:4242 (live" in capsys.readouterr().out
    row = status(config, capsys)
    assert row["lease"] is None and row["last_poll"] is None  # no poll run recorded
    # the floor stays: the forced release does not let a poll start inside it
    with Store(f"sqlite:///{config.parent / 'dlr.sqlite'}") as store:
        again = store.claim("box", now=datetime.now(UTC), interval=120, ttl=60, owner="me")
    assert not again and again.reason is not None and "by host-b:4242" in again.reason


def test_an_unknown_source_is_a_config_error(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["release", "nope", "--config", str(config)]) == 2
    assert "no source named 'nope'" in capsys.readouterr().err

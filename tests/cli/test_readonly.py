"""``status``, ``export`` and ``quarantine list`` as a reporting user: ``nobody`` (through
``setpriv``) who may read the config and the database but not write them or their
directory, and has none of the sources' secrets, against a database owned by root, both
while a poll holds it open and at rest. They must never create, migrate or write it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlrpoll.cli import main
from dlrpoll.sandbox.pop3_server import Pop3Sandbox

SECRET_ENV = "DLRPOLL_TEST_RO_PASSWORD"
RECEIPT = b"Subject: DLR\r\n\r\nid:{n} sub:001 dlvrd:001 stat:DELIVRD err:000 text:\r\n"
NOT_A_RECEIPT = b"Subject: hello\r\n\r\nplease call me back\r\n"


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory nobody may read but not write (pytest's tmp_path is root-only)."""
    if os.geteuid() != 0:
        pytest.fail("these tests switch to the user nobody with setpriv: run them as root")
    path = Path(tempfile.mkdtemp(prefix="dlrpoll-ro-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.fixture
def mailbox() -> Iterator[Pop3Sandbox]:
    with Pop3Sandbox(password="pw-s3cret") as box:
        yield box


def write_config(where: Path, port: int) -> Path:
    config = where / "dlrpoll.toml"
    config.write_text(
        '[database]\npath = "dlr.sqlite"\n\n[[sources]]\nname = "box"\nkind = "pop3"\n'
        f'host = "127.0.0.1"\nport = {port}\ntls = "none"\nallow_plaintext = true\n'
        f'username = "dlr"\npassword = {{ env = "{SECRET_ENV}" }}\nretries = 0\n',
        encoding="utf-8",
    )
    config.chmod(0o644)
    return config


def as_nobody(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
    env["HOME"] = str(cwd)
    return subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
        + [sys.executable, "-m", "dlrpoll", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )


def fill(mailbox: Pop3Sandbox, config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(3):
        mailbox.add(RECEIPT.replace(b"{n}", str(n).encode()))
    mailbox.add(NOT_A_RECEIPT)
    monkeypatch.setenv(SECRET_ENV, "pw-s3cret")
    assert main(["poll", "--quiet", "--config", str(config)]) == 0
    monkeypatch.delenv(SECRET_ENV)


def files(where: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(where.iterdir()) if p.is_file()}


def read_commands(config: Path, cwd: Path) -> None:
    status = as_nobody("status", "--json", "--config", str(config), cwd=cwd)
    assert status.returncode == 0, status.stderr
    row = json.loads(status.stdout)["sources"][0]
    assert (row["source"], row["receipts"], row["waiting_reparse"]) == ("box", 3, 1)
    export = as_nobody("--config", str(config), "export", "--format", "jsonl", cwd=cwd)
    assert export.returncode == 0, export.stderr
    assert sorted(json.loads(line)["message_id"] for line in export.stdout.splitlines()) == [
        "0",
        "1",
        "2",
    ]
    listing = as_nobody("quarantine", "list", "--config", str(config), cwd=cwd)
    assert listing.returncode == 0, listing.stderr
    assert "please call me back" in listing.stdout and "box" in listing.stdout


def test_read_only_commands_work_as_nobody_on_a_database_at_rest(
    shared_dir: Path, mailbox: Pop3Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(shared_dir, mailbox.port)
    fill(mailbox, config, monkeypatch)
    assert not (shared_dir / "dlr.sqlite-wal").exists()  # at rest: the poller closed it
    before = files(shared_dir)
    read_commands(config, shared_dir)
    assert files(shared_dir) == before  # nothing created, nothing written


def test_read_only_commands_work_as_nobody_while_a_poll_writes(
    shared_dir: Path, mailbox: Pop3Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(shared_dir, mailbox.port)
    fill(mailbox, config, monkeypatch)
    with sqlite3.connect(shared_dir / "dlr.sqlite") as db:  # past the two-minute floor
        db.execute("UPDATE source_state SET last_started_at = '2000-01-01T00:00:00.000000Z'")
    db.close()
    mailbox.add(RECEIPT.replace(b"{n}", b"99"))
    held = mailbox.hold_retr(1)
    poll = subprocess.Popen(
        [sys.executable, "-m", "dlrpoll", "poll", "--quiet", "--config", str(config)],
        env={**os.environ, SECRET_ENV: "pw-s3cret"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert held.wait(30), "the poll never reached RETR"
        assert (shared_dir / "dlr.sqlite-wal").exists()  # the poller has the file open
        read_commands(config, shared_dir)
    finally:
        mailbox.resume()
        out, err = poll.communicate(timeout=60)
    assert poll.returncode == 0, err
    stored = as_nobody("status", "--json", "--config", str(config), cwd=shared_dir)
    assert json.loads(stored.stdout)["sources"][0]["receipts"] == 4


def test_a_missing_database_is_never_created_by_a_reader(shared_dir: Path) -> None:
    config = write_config(shared_dir, 9)
    result = as_nobody("status", "--config", str(config), cwd=shared_dir)
    assert result.returncode == 1
    assert "no such database" in result.stderr and "Traceback" not in result.stderr
    assert not (shared_dir / "dlr.sqlite").exists()


def test_the_poller_itself_still_needs_its_secret(shared_dir: Path) -> None:
    config = write_config(shared_dir, 9)
    result = as_nobody("poll", "--config", str(config), cwd=shared_dir)
    assert result.returncode == 2
    assert f"environment variable {SECRET_ENV} is not set" in result.stderr

"""Whole polls of the second real POP3 server (popa3d), configured only through TOML: every
receipt stored once, and nothing left behind that was stored."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dlrpoll.config import load_config
from dlrpoll.poller import PollResult, poll_source
from dlrpoll.sources import RetryPolicy, make_source
from dlrpoll.store import Store
from tests.support.mail import receipt_email
from tests.support.popa3d import Mbox


def poll_with_toml(
    box: Mbox, tmp_path: Path, extra: str = "", polls: int = 1, first: int = 1
) -> PollResult:
    """Write a config for ``box``, then poll it ``polls`` times, ten minutes apart (the
    ``first``-th ten minutes from now first)."""
    path = tmp_path / "dlrpoll.toml"
    path.write_text(f"""
[database]
path = "{tmp_path / "dlrpoll.sqlite"}"

[[sources]]
name = "second"
kind = "pop3"
host = "{box.host}"
port = {box.port}
tls = "none"
allow_plaintext = true
username = "{box.user}"
password = {{ env = "DLRPOLL_TEST_SECOND_POP3" }}
timeout = 10
retries = 0
{extra}
""")
    os.chmod(path, 0o600)
    config = load_config(path)
    [cfg] = config.settings.sources
    start = datetime.now(UTC)
    with Store(config.database_url) as store:
        for n in range(first, first + polls):
            now = start + timedelta(minutes=10 * n)
            source = make_source(config, cfg, RetryPolicy(attempts=1))
            result = poll_source(config, cfg, source, store, clock=lambda now=now: now)
    return result


def message_ids(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "dlrpoll.sqlite") as db:
        return [r[0] for r in db.execute("SELECT message_id FROM receipts ORDER BY message_id")]


@pytest.fixture(autouse=True)
def _password(second_pop3: Mbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLRPOLL_TEST_SECOND_POP3", second_pop3.password)


def test_poll_stores_every_receipt_and_empties_the_mailbox(
    second_pop3: Mbox, tmp_path: Path
) -> None:
    second_pop3.deliver([receipt_email([f"B{n}a", f"B{n}b"]) for n in range(20)])

    result = poll_with_toml(second_pop3, tmp_path)

    assert (result.outcome, result.fetched, result.stored) == ("ok", 20, 40)
    assert message_ids(tmp_path) == sorted(f"B{n}{x}" for n in range(20) for x in "ab")
    assert second_pop3.count() == 0


def test_delete_never_keeps_the_mail_and_stores_nothing_twice(
    second_pop3: Mbox, tmp_path: Path
) -> None:
    second_pop3.deliver([receipt_email(f"K{n}") for n in range(5)])
    sessions = second_pop3.server.connections()

    result = poll_with_toml(second_pop3, tmp_path, 'delete = "never"', polls=2)

    assert second_pop3.server.connections() == sessions + 2
    assert (result.outcome, result.stored) == ("ok", 0)
    assert message_ids(tmp_path) == [f"K{n}" for n in range(5)]
    assert second_pop3.count() == 5


def test_an_oversize_message_waits_until_max_size_is_raised(
    second_pop3: Mbox, tmp_path: Path
) -> None:
    big = receipt_email("OBIG") + (b"o" * 98 + b"\r\n") * 400  # about 40 KiB
    second_pop3.deliver([receipt_email("OS1"), big, receipt_email("OS2")])

    held = poll_with_toml(second_pop3, tmp_path, 'max_size = "16KiB"', polls=2)

    assert (held.outcome, held.fetched) == ("partial", 0)  # recorded once, not re-fetched
    assert held.error is not None and "over max_size 16 KiB" in held.error
    assert message_ids(tmp_path) == ["OS1", "OS2"]
    [left] = second_pop3.messages()
    assert left == big.replace(b"\r\n", b"\n")  # whole, on the server
    with sqlite3.connect(tmp_path / "dlrpoll.sqlite") as db:
        [(fmt, reason)] = db.execute(
            "SELECT format, parse_error FROM raw_messages WHERE parse_error IS NOT NULL"
        ).fetchall()
    assert fmt == "email-headers" and "still on the server" in reason

    whole = poll_with_toml(second_pop3, tmp_path, 'max_size = "1MiB"', first=3)

    assert (whole.outcome, whole.fetched, whole.stored) == ("ok", 1, 1)
    assert message_ids(tmp_path) == ["OBIG", "OS1", "OS2"]
    assert second_pop3.count() == 0

"""Issue 12's behaviours that Dovecot itself can show: LIST sizes that disagree with the
messages (a Maildir file's ``S=``/``W=`` size fields edited), and a mailbox locked by
another session. Each: receipts stored == receipts held, and nothing the journal lacks is
deleted."""

from __future__ import annotations

import os
import poplib
import sqlite3
from pathlib import Path

from dlrpoll.config import Secret
from dlrpoll.poller import poll_source
from dlrpoll.sources.pop3 import Pop3Source
from dlrpoll.sources.retry import RetryPolicy
from dlrpoll.store import Store
from tests.pop3.conftest import SteppingClock, cfg_for, loaded_config
from tests.support.dovecot import MAIL_GID, MAIL_UID, Dovecot, Mailbox, receipt_email


def deliver_named(box: Mailbox, name: str, data: bytes) -> None:
    """A message whose Maildir file name (and so its ``S=``/``W=`` sizes) we choose."""
    path = box.maildir / "new" / name
    path.write_bytes(data)
    os.chown(path, MAIL_UID, MAIL_GID)


def left_on_server(box: Mailbox) -> set[bytes]:
    return {
        Path(entry.path).read_bytes()
        for sub in ("new", "cur")
        for entry in os.scandir(box.maildir / sub)
    }


def test_list_sizes_that_disagree_with_the_messages(mailbox: Mailbox, tmp_path: Path) -> None:
    small_listed_huge = receipt_email("LH")
    big_listed_small = receipt_email("BS") + (b"b" * 98 + b"\r\n") * 3000  # 300 KiB
    big = receipt_email("BIG") + (b"x" * 98 + b"\r\n") * 3000
    normal = [receipt_email(f"N{i}") for i in range(5)]
    deliver_named(mailbox, "1.a.host,S=9999999,W=9999999", small_listed_huge)
    deliver_named(mailbox, "2.b.host,S=300,W=300", big_listed_small)
    deliver_named(mailbox, "3.c.host", big)
    mailbox.deliver(normal)
    cfg = cfg_for(mailbox, "ssl", max_size="64KiB", pipeline_window=4)
    config = loaded_config(cfg, mailbox.password, str(tmp_path / "db.sqlite"))
    store = Store(config.database_url)
    try:
        source = Pop3Source(cfg, Secret(mailbox.password, "test"), RetryPolicy(attempts=1))
        result = poll_source(config, cfg, source, store, clock=SteppingClock())
    finally:
        store.close()

    # listed over max_size but small: fetched whole. Listed small but large: Dovecot sends
    # "+OK 300 octets" and an empty body; over max_size by its bytes: a record. Both stay,
    # and nothing else in their window is held up
    assert result.outcome == "partial", result.error
    assert result.error is not None and "2 item(s) left on the server" in result.error
    assert "empty message" in result.error and "over max_size 64 KiB" in result.error
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        stored = sorted(r[0] for r in conn.execute("SELECT message_id FROM receipts"))
        whole = {bytes(r[0]) for r in conn.execute(
            "SELECT payload FROM raw_messages WHERE format = 'email'")}  # fmt: skip
    assert stored == sorted(["LH"] + [f"N{i}" for i in range(5)])
    assert left_on_server(mailbox) == {big_listed_small, big}
    gone = {small_listed_huge, big_listed_small, big, *normal} - left_on_server(mailbox)
    assert gone <= whole


def test_a_mailbox_locked_by_another_session_is_retried(
    dovecot_locking: Dovecot, tmp_path: Path
) -> None:
    box = dovecot_locking.mailbox()
    box.deliver([receipt_email(f"LK{i}") for i in range(3)])
    holder = poplib.POP3("127.0.0.1", dovecot_locking.port, timeout=10)
    holder.user(box.user)
    holder.pass_(box.password)
    waits: list[float] = []

    class ReleaseOnWait(RetryPolicy):
        def sleep(self, seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 1:
                holder.quit()  # the other session ends while we wait

    cfg = cfg_for(box, "ssl")
    config = loaded_config(cfg, box.password, str(tmp_path / "db.sqlite"))
    store = Store(config.database_url)
    try:
        source = Pop3Source(cfg, Secret(box.password, "test"), ReleaseOnWait(attempts=4))
        result = poll_source(config, cfg, source, store, clock=SteppingClock())
    finally:
        store.close()
    assert (result.outcome, result.stored) == ("ok", 3), result.error
    assert len(waits) >= 1
    assert box.count() == 0

"""Real processes: two ``dlrpoll poll`` at once share the sources through the database
claim, and ``dlrpoll run`` stopped by SIGTERM in the middle of a poll loses nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from dlrpoll.sandbox.pop3_server import Pop3Sandbox
from dlrpoll.sandbox.soap_inbox import SoapInbox


def dlrpoll(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dlrpoll", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


SOAP_SOURCE = """
[[sources]]
name = "inbox{i}"
kind = "soap"
wsdl = "{wsdl}"
args = {{ token = {{ file = "token" }}, signature = {{ file = "signature" }} }}
retries = 0
timeout = 10
"""


@pytest.fixture
def inbox() -> Iterator[SoapInbox]:
    with SoapInbox(token="tok", signature="sig") as box:
        yield box


def test_two_polls_started_together_poll_each_source_once(tmp_path: Path, inbox: SoapInbox) -> None:
    (tmp_path / "token").write_text("tok\n")
    (tmp_path / "token").chmod(0o600)  # a secret: not world-readable
    (tmp_path / "signature").write_text("sig\n")
    (tmp_path / "signature").chmod(0o600)  # a secret: not world-readable
    n = 6
    text = '[database]\npath = "dlr.sqlite"\n' + "".join(
        SOAP_SOURCE.format(i=i, wsdl=inbox.wsdl_url) for i in range(n)
    )
    (tmp_path / "dlrpoll.toml").write_text(text)
    procs = [dlrpoll("poll", "--config", "dlrpoll.toml", cwd=tmp_path) for _ in range(2)]
    outs = []
    for p in procs:
        with p:
            outs.append(p.communicate(timeout=60))
    assert [p.returncode for p in procs] == [0, 0], outs
    runs = query(
        tmp_path / "dlr.sqlite",
        "select source, count(*), sum(outcome = 'ok') from poll_runs "
        "group by source order by source",
    )
    assert runs == [(f"inbox{i}", 1, 1) for i in range(n)]
    # the losing attempts are counted in source_state, not recorded as poll_runs rows
    skipped = query(tmp_path / "dlr.sqlite", "select source, skipped from source_state order by 1")
    assert skipped == [(f"inbox{i}", 1) for i in range(n)]
    assert inbox.calls["GetNewInboxMessages"] == n
    lines = [line for out, _err in outs for line in out.splitlines()]
    assert sum(": ok (" in line for line in lines) == n
    assert sum(": skipped: " in line for line in lines) == n


POP3_CONFIG = """\
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
profile = "smpp"
pipeline_window = 2
jitter = "0s"
retries = 0
timeout = 20
"""


def receipt_mail(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = "smsc@example.net"
    msg["To"] = "dlr@example.org"
    msg["Subject"] = f"receipt {n}"
    msg.set_content(
        f"id:{n:08d} sub:001 dlvrd:001 submit date:2611221200 done date:2611221201 "
        "stat:DELIVRD err:000 text:"
    )
    return msg.as_bytes()


def test_sigterm_mid_poll_exits_cleanly_and_loses_nothing(tmp_path: Path) -> None:
    with Pop3Sandbox(password="pw") as box:
        uids = [box.add(receipt_mail(n)) for n in range(6)]
        (tmp_path / "pw").write_text("pw\n")
        (tmp_path / "pw").chmod(0o600)  # a secret: not world-readable
        (tmp_path / "dlrpoll.toml").write_text(POP3_CONFIG.format(port=box.port))
        held = box.hold_retr(3)  # the poll freezes inside its second batch
        proc = dlrpoll("run", "--config", "dlrpoll.toml", cwd=tmp_path)
        stopping = threading.Event()
        log: list[str] = []

        def read_log() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                log.append(line)
                if "received SIGTERM" in line:
                    stopping.set()

        reader = threading.Thread(target=read_log, daemon=True)
        reader.start()
        with proc:  # closes the pipes on the way out
            try:
                assert held.wait(30), "".join(log)
                proc.send_signal(signal.SIGTERM)
                assert stopping.wait(10), "".join(log)
                box.resume()
                assert proc.wait(timeout=30) == 0, "".join(log)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            reader.join(10)
        remaining = set(box.uids())

    db = tmp_path / "dlr.sqlite"
    journaled = {r for (r,) in query(db, "select remote_id from raw_messages")}
    # the poll stopped at a safe point part-way: some messages taken, the rest left for later
    assert journaled and remaining, (journaled, remaining)
    # nothing lost: whatever left the server is in the journal, and everything is somewhere
    assert set(uids) - remaining <= journaled
    assert journaled | remaining == set(uids)
    assert query(db, "select count(*) from receipts") == [(len(journaled),)]
    # recorded as interrupted (issue 16), never ok: the rest waits on the server
    assert query(db, "select outcome, fetched from poll_runs") == [("interrupted", len(journaled))]

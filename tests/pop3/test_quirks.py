"""Whole polls against the scripted POP3 server, one misbehaviour of real servers at a time
(issue 12): bare LF lines, broken pipelining, ``-ERR`` to one ``RETR``, no UIDL, shared
UIDLs with identical headers, UIDLs with 8-bit bytes, LIST sizes that lie, a lock named
only in words, ``+ERR`` to PASS, no ``+OK`` after QUIT.

Every test checks the two halves of the promise: the receipts stored are the receipts the
server held, and no message left the server unless its whole bytes are in the journal."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.config import Pop3SourceConfig, Secret
from dlrpoll.poller import PollResult, poll_source
from dlrpoll.sources.pop3 import Pop3Source, session
from dlrpoll.sources.retry import RetryPolicy
from dlrpoll.store import Store
from tests.pop3.conftest import SteppingClock, loaded_config
from tests.pop3.scripted_server import PASSWORD, USER, Script, ScriptedPop3
from tests.support.dovecot import receipt_email


def crlf(message: bytes) -> bytes:
    """A message with CRLF line ends (how the server holds it, whatever it sends)."""
    return message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class Rig:
    """One scripted server and one database, polled the way the daemon would."""

    def __init__(self, script: Script, db: Path, **overrides: Any) -> None:
        self.script = script
        self.server = ScriptedPop3(script)
        self.db = db
        self.held = {crlf(m) for m in script.messages}
        self.expected = {mid for m in script.messages for mid in receipt_ids(m)}
        self.configure(**overrides)
        self.store = Store(self.config.database_url)
        self.clock = SteppingClock()

    def configure(self, **overrides: Any) -> None:
        values: dict[str, Any] = {
            "kind": "pop3",
            "name": "scripted",
            "host": "127.0.0.1",
            "port": self.server.port,
            "tls": "none",
            "allow_plaintext": True,
            "username": USER,
            "password": {"env": "UNUSED"},
            "timeout": 5,
            "pipeline_window": 4,
        }
        values.update(overrides)
        self.cfg = Pop3SourceConfig.model_validate(values)
        self.config = loaded_config(self.cfg, PASSWORD, str(self.db))

    def poll(
        self, retry: RetryPolicy | None = None, stop: threading.Event | None = None
    ) -> PollResult:
        source = Pop3Source(self.cfg, Secret(PASSWORD, "test"), retry or RetryPolicy(attempts=1))
        self.clock.jump()
        return poll_source(self.config, self.cfg, source, self.store, clock=self.clock, stop=stop)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql).fetchall()

    def stored(self) -> list[str]:
        return sorted(r[0] for r in self.rows("SELECT message_id FROM receipts"))

    def check_nothing_lost(self) -> None:
        """Every message gone from the server is in the journal, whole."""
        journaled = {
            crlf(bytes(r[0]))
            for r in self.rows("SELECT payload FROM raw_messages WHERE format = 'email'")
        }
        gone = self.held - {crlf(m) for m in self.server.remaining()}
        assert gone <= journaled, f"deleted but not journaled: {sorted(gone - journaled)[:2]}"

    def check_all_stored(self) -> None:
        stored = self.stored()
        assert len(stored) == len(set(stored)), "a receipt was stored twice"
        assert set(stored) == self.expected

    def close(self) -> None:
        self.store.close()
        self.server.close()


def receipt_ids(message: bytes) -> list[str]:
    return [
        line.split(b" ")[0].removeprefix(b"id:").decode()
        for line in message.split(b"\n")
        if line.startswith(b"id:")
    ]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Any]:
    made: list[Rig] = []

    def make(script: Script, **overrides: Any) -> Rig:
        r = Rig(script, tmp_path / f"db{len(made)}.sqlite", **overrides)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a fresh process would: no warning said yet."""
    monkeypatch.setattr(session, "_warned_pipelining", set())


def emails(tag: str, n: int) -> list[bytes]:
    return [receipt_email(f"{tag}{i}") for i in range(n)]


@pytest.mark.parametrize("pipelining", ["ok", None])
def test_bare_lf_lines_are_read_like_crlf(rig: Any, pipelining: str | None) -> None:
    tricky = b"Subject: dots\n\nid:LF-dot sub:001 dlvrd:001 stat:DELIVRD err:000\n.\n..x\n"
    r = rig(Script(emails("LF", 9) + [tricky], eol=b"\n", pipelining=pipelining))  # type: ignore[arg-type]

    result = r.poll()

    assert (result.outcome, result.fetched, result.quarantined) == ("ok", 10, 0)
    r.check_all_stored()
    assert r.server.remaining() == []
    [(payload,)] = r.rows("SELECT payload FROM raw_messages WHERE instr(payload, X'4C462D646F74')")
    assert payload == tricky  # unstuffed, line ends as the server sent them
    r.check_nothing_lost()


@pytest.mark.parametrize("fault", ["interleave", "reverse"])
def test_broken_pipelining_falls_back_and_goes_on(
    rig: Any, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    messages = emails("PL", 10)
    # a refused RETR in a window makes the order matter: the reversed answers must not
    # pin the refusal on another message (which would then be deleted unread)
    r = rig(Script(messages, pipelining=fault, retr_error={3: b"-ERR cannot open"}))  # type: ignore[arg-type]

    with caplog.at_level(logging.INFO):
        first = r.poll()
        r.script.retr_error.clear()
        second = r.poll()

    assert first.outcome == "partial" and "message 3 (UIDL m3)" in (first.error or "")
    assert "-ERR cannot open" in (first.error or "")
    assert second.outcome == "ok"
    r.check_all_stored()
    assert r.server.remaining() == []
    r.check_nothing_lost()
    warned = [x for x in caplog.records if "came out of order or mixed" in x.getMessage()]
    assert len(warned) == 1 and warned[0].levelno == logging.WARNING  # said once
    assert "pipeline_window = 1" in warned[0].getMessage()
    # the journal pins each message on its own key
    rows = r.rows("SELECT remote_id, payload FROM raw_messages")
    assert {k: crlf(bytes(p)) for k, p in rows} == {
        f"m{i + 1}": crlf(m) for i, m in enumerate(messages)
    }


def test_pipeline_window_one_never_pipelines(rig: Any, caplog: pytest.LogCaptureFixture) -> None:
    r = rig(Script(emails("W", 6), pipelining="interleave"), pipeline_window=1)
    with caplog.at_level(logging.WARNING):
        assert r.poll().outcome == "ok"
    assert "came out of order" not in caplog.text
    r.check_all_stored()
    assert len(r.server.sessions) == 1


def test_one_refused_retr_leaves_that_message_and_stores_the_rest(rig: Any) -> None:
    messages = emails("RE", 7)
    r = rig(Script(messages, retr_error={2: b"-ERR [SYS/PERM] content conversion failed"}))

    result = r.poll()

    assert (result.outcome, result.fetched, result.stored) == ("partial", 6, 6)
    assert result.error is not None
    assert "message 2 (UIDL m2)" in result.error and "content conversion failed" in result.error
    [(outcome, error)] = r.rows("SELECT outcome, error FROM poll_runs")
    assert outcome == "partial" and "content conversion failed" in error
    assert r.server.remaining() == [messages[1]]
    r.check_nothing_lost()

    r.script.retr_error.clear()  # the operator fixed the message on the server
    again = r.poll()
    assert (again.outcome, again.fetched, again.stored) == ("ok", 1, 1)
    r.check_all_stored()
    assert r.server.remaining() == []


def identical_headers(tag: str, n: int) -> list[bytes]:
    """``n`` receipts whose headers are byte for byte the same (a provider's template)."""
    head = receipt_email("X").split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    return [head + receipt_email(f"{tag}{i}").split(b"\r\n\r\n")[1] for i in range(n)]


@pytest.mark.parametrize("uidl", ["none", "shared"])
@pytest.mark.parametrize("delete", ["after-store", "never"])
def test_messages_without_their_own_uidl_are_keyed_by_content(
    rig: Any, uidl: str, delete: str
) -> None:
    same = identical_headers("ID", 5)
    twin = receipt_email("TWIN")
    r = rig(Script(same + [twin, twin] + emails("U", 3), uidl=uidl), delete=delete)  # type: ignore[arg-type]

    first = r.poll()
    second = r.poll()

    assert (first.outcome, first.fetched) == ("ok", 9)  # the twins are one: equal bytes
    assert (second.outcome, second.fetched, second.stored) == ("ok", 0, 0)
    r.check_all_stored()
    r.check_nothing_lost()
    assert r.server.remaining() == ([] if delete == "after-store" else r.script.messages)
    keys = [k for (k,) in r.rows("SELECT remote_id FROM raw_messages")]
    assert all(k.startswith("sha256 ") for k in keys) and len(set(keys)) == 9


def test_uidls_with_8bit_bytes_stay_distinct(rig: Any) -> None:
    messages = emails("U8", 3)
    uidls = [b"caf\xc3\xa9", b"caf\xc3\xa8", b"caf\xe9"]
    r = rig(Script(messages, uidl=uidls), delete="never")

    assert r.poll().fetched == 3
    assert r.poll().fetched == 0  # each recognised by its own key
    keys = sorted(k for (k,) in r.rows("SELECT remote_id FROM raw_messages"))
    assert keys == ["uidl caf%C3%A8", "uidl caf%C3%A9", "uidl caf%E9"]
    r.check_all_stored()


def test_list_sizes_are_not_trusted(rig: Any) -> None:
    small = emails("LS", 5)
    big = receipt_email("LBIG") + (b"z" * 98 + b"\r\n") * 700  # about 70 KiB
    # the server lists the small ones as huge and the big one as small
    sizes = [10_000_000] * 5 + [500]
    r = rig(Script(small + [big], list_sizes=sizes), max_size="64KiB")

    result = r.poll()

    assert (result.outcome, result.stored) == ("partial", 5)
    assert "over max_size 64 KiB" in (result.error or "")
    assert r.server.remaining() == [big]
    r.check_nothing_lost()
    r.configure(max_size="1MiB")
    assert r.poll().outcome == "ok"
    r.check_all_stored()
    assert r.server.remaining() == []


def test_a_lock_named_in_words_is_retried(rig: Any) -> None:
    r = rig(Script(emails("LK", 3), locked_logins=2))
    waits: list[float] = []

    class Recording(RetryPolicy):
        def sleep(self, seconds: float) -> None:
            waits.append(seconds)

    result = r.poll(retry=Recording(attempts=3))

    assert result.outcome == "ok" and len(waits) == 2
    r.check_all_stored()


def test_a_lock_that_stays_is_a_temporary_error(rig: Any) -> None:
    r = rig(Script(emails("LK", 1), locked_logins=5))
    result = r.poll()
    assert result.outcome == "error"
    assert "busy or locked" in (result.error or "")
    assert "Your mailbox is already locked" in (result.error or "")
    assert "refused the credentials" not in (result.error or "")


def test_plus_err_to_pass_quotes_the_server(rig: Any) -> None:
    r = rig(Script(emails("PE", 2), pass_answer=b"+ERR authentication backend down"))
    result = r.poll()
    assert result.outcome == "error"
    assert "+ERR authentication backend down" in (result.error or "")
    assert "LIST" not in (result.error or "")
    assert len(r.server.remaining()) == 2


@pytest.mark.parametrize("mode", ["silent-drop", "silent-apply"])
def test_no_ok_after_quit_is_a_warning_and_the_next_poll_confirms(
    rig: Any, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    r = rig(Script(emails("Q", 5), quit=mode))  # type: ignore[arg-type]

    with caplog.at_level(logging.WARNING):
        first = r.poll()

    assert (first.outcome, first.stored) == ("ok", 5)
    assert "deletion of 5 journaled message(s) is unconfirmed" in caplog.text
    r.check_nothing_lost()
    left = len(r.server.remaining())
    assert left == (5 if mode == "silent-drop" else 0)

    r.script.quit = "ok"
    second = r.poll()
    assert (second.outcome, second.fetched, second.stored) == ("ok", 0, 0)
    assert r.server.remaining() == []
    assert r.server.sessions[-1].count(b"DELE") == left  # what was still there, deleted
    r.check_all_stored()


def test_max_messages_never_starves_messages_keyed_by_content(rig: Any) -> None:
    r = rig(Script(emails("MM", 6), uidl="none"), delete="never", max_messages=2)
    fetched = [r.poll().fetched for _ in range(4)]
    assert fetched == [2, 2, 2, 0]
    r.check_all_stored()


def test_pipelining_broken_at_dele_only_deletes_later(
    rig: Any, caplog: pytest.LogCaptureFixture
) -> None:
    messages = emails("PD", 8)
    r = rig(Script(messages, pipelining="interleave", broken_verbs=(b"DELE",)))
    stop = threading.Event()
    stop.set()  # a shutdown: the poll ends after its first batch

    with caplog.at_level(logging.WARNING):
        first = r.poll(stop=stop)

    assert (first.outcome, first.fetched) == ("ok", 4)
    assert "ended without QUIT" in caplog.text
    assert len(r.server.remaining()) == 8  # the DELEs were never applied
    r.check_nothing_lost()

    second = r.poll()  # out of step at its first DELEs: a new connection, one at a time

    assert (second.outcome, second.fetched) == ("ok", 4)
    assert r.server.remaining() == []
    assert len(r.server.sessions) == 3
    r.check_all_stored()

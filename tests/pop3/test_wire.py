"""The pipelined POP3 reader on its own: framing, dot-unstuffing, limits, in-flight bounds.
No sockets: a scripted byte stream that arrives in chunks of any size."""

from __future__ import annotations

import hashlib
import poplib
import socket
import ssl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlrpoll.errors import (
    SourceAuthError,
    SourceConnectError,
    SourceProtocolError,
    SourceTimeoutError,
    SourceTLSError,
)
from dlrpoll.sources.pop3 import map_error
from dlrpoll.sources.pop3.errors import login_error
from dlrpoll.sources.pop3.wire import Wire, WireEOF, WireGarbled, WireTooLong


class Script:
    """The server's side: answers to hand out in chunks, and the commands received."""

    def __init__(self, data: bytes, chunk: int = 7) -> None:
        self.data = data
        self.pos = 0
        self.chunk = chunk
        self.sent: list[bytes] = []
        self.in_flight_at_send: list[int] = []
        self.wire: Wire | None = None

    def read1(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + min(n, self.chunk)]
        self.pos += len(out)
        return out

    def read(self, n: int = -1) -> bytes:
        return self.read1(n)

    def sendall(self, data: bytes) -> None:
        assert self.wire is not None
        self.in_flight_at_send.append(self.wire.in_flight)
        self.sent.append(data)


def wire_for(data: bytes, chunk: int = 7) -> tuple[Wire, Script]:
    script = Script(data, chunk)
    wire = Wire(script, script)  # type: ignore[arg-type]
    script.wire = wire
    return wire, script


def stuffed(body_lines: list[bytes]) -> bytes:
    """What a server sends for a message of these lines (RFC 1939 byte-stuffing)."""
    out = b"+OK message follows\r\n"
    for line in body_lines:
        out += (b"." + line if line.startswith(b".") else line) + b"\r\n"
    return out + b".\r\n"


line = st.binary(max_size=12).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
message = st.lists(st.one_of(line, st.sampled_from([b".", b"..", b".x", b""])), max_size=8)


@given(st.lists(message, min_size=1, max_size=5), st.integers(min_value=1, max_value=40))
def test_bodies_survive_framing_and_chunking(messages: list[list[bytes]], chunk: int) -> None:
    wire, script = wire_for(b"".join(stuffed(m) for m in messages), chunk)
    answers = list(
        wire.exchange(
            [b"RETR %d" % i for i in range(len(messages))], multiline=True, limit=10**6, depth=3
        )
    )
    assert [a.body for a in answers] == [b"".join(x + b"\r\n" for x in m) for m in messages]
    assert all(a.ok for a in answers)
    assert wire.clean
    assert b"".join(script.sent) == b"".join(b"RETR %d\r\n" % i for i in range(len(messages)))


def test_error_answers_have_no_body_and_keep_the_stream_in_step() -> None:
    data = b"-ERR no such message\r\n" + stuffed([b"hello"]) + b"+OK\r\n"
    wire, _ = wire_for(data)
    answers = list(wire.exchange([b"RETR 9", b"RETR 1"], multiline=True, limit=1000, depth=5))
    assert [(a.ok, a.body) for a in answers] == [(False, b""), (True, b"hello\r\n")]
    [dele] = wire.exchange([b"DELE 1"], multiline=False, limit=1000, depth=1)
    assert dele.ok and wire.clean


def test_empty_body() -> None:
    wire, _ = wire_for(b"+OK 0 messages\r\n.\r\n")
    [answer] = wire.exchange([b"LIST"], multiline=True, limit=100, depth=1)
    assert answer.ok and answer.body == b""


def test_depth_bounds_the_commands_in_flight() -> None:
    n = 300
    wire, script = wire_for(b"+OK\r\n" * n, chunk=50)
    answers = list(wire.exchange([b"DELE %d" % i for i in range(n)], multiline=False,
                                 limit=100, depth=100))  # fmt: skip
    assert len(answers) == n
    sent_counts = [chunk.count(b"\r\n") for chunk in script.sent]
    assert sum(sent_counts) == n
    assert max(before + count for before, count in zip(script.in_flight_at_send, sent_counts,
                                                       strict=True)) <= 100  # fmt: skip


def test_lock_step_when_depth_is_one() -> None:
    wire, script = wire_for(b"+OK\r\n" * 4)
    list(wire.exchange([b"DELE 1", b"DELE 2", b"DELE 3", b"DELE 4"], multiline=False, limit=100,
                       depth=1))  # fmt: skip
    assert script.sent == [b"DELE 1\r\n", b"DELE 2\r\n", b"DELE 3\r\n", b"DELE 4\r\n"]
    assert script.in_flight_at_send == [0, 0, 0, 0]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([b"+OK", b"+OK deleted", b"-ERR no such message", b"-ERR"]),
            st.sampled_from([b"\r\n", b"\n"]),
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(1, 64),
    st.integers(1, 50),
)
def test_one_line_answers_are_cut_in_bulk_whatever_the_chunks(
    answers: list[tuple[bytes, bytes]], chunk: int, depth: int
) -> None:
    """DELE answers are read many at a time: however the bytes arrive, each answer is its
    own line, in order, and the connection ends in step."""
    wire, script = wire_for(b"".join(a + end for a, end in answers), chunk=chunk)
    got = list(wire.exchange([b"DELE %d" % i for i in range(len(answers))], multiline=False,
                             limit=100, depth=depth))  # fmt: skip
    assert [(r.ok, r.status) for r in got] == [(a.startswith(b"+OK"), a) for a, _ in answers]
    assert wire.clean and wire.in_flight == 0
    assert max(script.in_flight_at_send) == 0  # a window is answered before the next one


def test_a_one_line_answer_out_of_step_is_garbled() -> None:
    wire, _ = wire_for(b"+OK\r\n+OK\r\nX-Header: from a body\r\n+OK\r\n")
    with pytest.raises(WireGarbled, match="not a POP3 answer"):
        list(wire.exchange([b"DELE 1", b"DELE 2", b"DELE 3"], multiline=False, limit=100,
                           depth=3))  # fmt: skip


def test_connection_closed_mid_answer_is_an_eof_and_unclean() -> None:
    wire, _ = wire_for(b"+OK\r\nFrom: x\r\n\r\nhalf a mess")
    with pytest.raises(WireEOF):
        list(wire.exchange([b"RETR 1"], multiline=True, limit=1000, depth=1))
    assert not wire.clean


def test_limits_stop_a_runaway_server() -> None:
    wire, _ = wire_for(b"+OK\r\n" + b"x" * 5000)
    with pytest.raises(WireTooLong):
        list(wire.exchange([b"RETR 1"], multiline=True, limit=1000, depth=1))
    wire, _ = wire_for(b"+OK" + b"y" * 10_000)
    with pytest.raises(WireTooLong):
        list(wire.exchange([b"NOOP"], multiline=False, limit=1000, depth=1))
    wire, _ = wire_for(b"HTTP/1.1 400 Bad Request\r\n")
    with pytest.raises(WireTooLong, match="not a POP3 answer"):
        list(wire.exchange([b"NOOP"], multiline=False, limit=1000, depth=1))


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), SourceTLSError),
        (ssl.SSLError(1, "wrong version number"), SourceTLSError),
        (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), SourceConnectError),
        (TimeoutError("timed out"), SourceTimeoutError),
        (ConnectionRefusedError(111, "Connection refused"), SourceConnectError),
        (ConnectionResetError(104, "Connection reset by peer"), SourceConnectError),
        (WireEOF("closed mid-answer"), SourceConnectError),
        (socket.gaierror(-2, "Name or service not known"), SourceConnectError),
        (OSError(113, "No route to host"), SourceConnectError),
        (poplib.error_proto(b"-ERR no"), SourceProtocolError),
        (WireTooLong("too long"), SourceProtocolError),
    ],
)
def test_every_io_error_maps_to_ours(exc: BaseException, expected: type) -> None:
    mapped = map_error("box", "RETR", exc, 30)
    assert type(mapped) is expected
    assert str(mapped).startswith("source 'box': RETR")


def test_our_errors_pass_through_unchanged() -> None:
    ours = SourceAuthError("box", "no")
    assert map_error("box", "login", ours, 30) is ours


def stuffed_with(body_lines: list[bytes], eol: bytes) -> bytes:
    out = b"+OK message follows" + eol
    for line in body_lines:
        out += (b"." + line if line.startswith(b".") else line) + eol
    return out + b"." + eol


@settings(deadline=None)  # a shared machine's load is no failure
@given(
    st.lists(st.tuples(message, st.sampled_from([b"\r\n", b"\n"])), min_size=1, max_size=5),
    st.integers(min_value=1, max_value=40),
)
def test_bare_lf_and_crlf_answers_read_alike(
    messages: list[tuple[list[bytes], bytes]], chunk: int
) -> None:
    data = b"".join(stuffed_with(m, eol) for m, eol in messages) + b"+OK\n"
    wire, _ = wire_for(data, chunk)
    answers = list(
        wire.exchange([b"RETR %d" % i for i in range(len(messages))], multiline=True,
                      limit=10**6, depth=3)
    )  # fmt: skip
    assert [a.body for a in answers] == [b"".join(x + eol for x in m) for m, eol in messages]
    assert [a.status for a in answers] == [b"+OK message follows"] * len(messages)
    [noop] = wire.exchange([b"NOOP"], multiline=False, limit=100, depth=1)
    assert noop.ok and noop.status == b"+OK" and wire.clean


@settings(deadline=None)  # a shared machine's load is no failure
@given(
    st.integers(min_value=0, max_value=3000),
    st.integers(min_value=1, max_value=2000),
    st.integers(min_value=1, max_value=700),
    st.sampled_from([b"\r\n", b"\n"]),
)
def test_a_body_over_its_cut_is_streamed_past_keeping_its_headers(
    filler: int, cut: int, chunk: int, eol: bytes
) -> None:
    head = [b"From: a@b.example", b"Subject: big"]
    lines = [*head, b"", *[b"." * (i % 3) + b"x" * (i % 50) for i in range(filler // 20)]]
    wire_body = b"".join((b"." + ln if ln.startswith(b".") else ln) + eol for ln in lines)
    data = stuffed_with(lines, eol) + b"-ERR next\r\n"
    wire, script = wire_for(data, chunk)

    [big, nxt] = wire.exchange([b"RETR 1", b"RETR 2"], multiline=True, limit=10**6, depth=2,
                               cut=cut)  # fmt: skip

    assert big.size == len(wire_body)
    if len(wire_body) <= cut:
        assert not big.over and big.body == b"".join(ln + eol for ln in lines)
    else:
        assert big.over
        assert big.body == b"".join(ln + eol for ln in head)
        assert big.digest == hashlib.sha256(wire_body).hexdigest()
    assert (nxt.ok, nxt.status) == (False, b"-ERR next")
    assert wire.clean


def test_streaming_past_keeps_memory_bounded() -> None:
    size = 20 * 1024 * 1024
    body = b"Subject: huge\r\n\r\n" + (b"y" * 1022 + b"\r\n") * (size // 1024)
    wire, _ = wire_for(b"+OK\r\n" + body + b".\r\n", chunk=256 * 1024)
    peak = 0
    fill = Wire._fill

    def watched(self: Wire) -> None:
        nonlocal peak
        fill(self)
        peak = max(peak, len(self._buf))

    Wire._fill = watched  # type: ignore[method-assign]
    try:
        [answer] = wire.exchange([b"RETR 1"], multiline=True, limit=10**9, depth=1, cut=1024)
    finally:
        Wire._fill = fill  # type: ignore[method-assign]
    assert answer.over and answer.size == len(body) and answer.body == b"Subject: huge\r\n"
    assert peak <= 2 * 256 * 1024  # a chunk or two, never the message


def test_a_runaway_body_still_stops_at_the_limit() -> None:
    wire, _ = wire_for(b"+OK\r\n" + b"x" * 50_000, chunk=1000)
    with pytest.raises(WireTooLong, match="longer than 20000"):
        list(wire.exchange([b"RETR 1"], multiline=True, limit=20_000, depth=1, cut=100))


def test_an_answer_out_of_step_is_garbled() -> None:
    wire, _ = wire_for(b"+OK\r\nbody\r\n.\r\nbody of another\r\n.\r\n")
    with pytest.raises(WireGarbled, match="not a POP3 answer"):
        list(wire.exchange([b"RETR 1", b"RETR 2"], multiline=True, limit=1000, depth=2))


def test_read_ahead_answers_come_before_anything_else() -> None:
    wire, script = wire_for(stuffed([b"one"]) + stuffed([b"two"]) + b"+OK\r\n")
    wire.send_ahead([b"RETR 1", b"RETR 2"], multiline=True, limit=1000)
    assert wire.ahead == 2 and not wire.clean
    wire.collect_ahead()
    [dele] = wire.exchange([b"DELE 1"], multiline=False, limit=100, depth=1)
    assert dele.ok
    assert [a.body for a in wire.take_ahead()] == [b"one\r\n", b"two\r\n"]
    assert wire.ahead == 0 and wire.clean


@pytest.mark.parametrize(
    ("answer", "expected", "words"),
    [
        (b"-ERR [IN-USE] Mailbox is locked by another POP3 session.", SourceConnectError, "busy"),
        (b"-ERR Your mailbox is already locked", SourceConnectError, "busy or locked"),
        (b"-ERR Unable to lock maildrop: try later", SourceConnectError, "busy or locked"),
        (b"-ERR [SYS/TEMP] backend down", SourceConnectError, "busy"),
        (b"-ERR [AUTH] Authentication failed.", SourceAuthError, "refused the credentials"),
        (b"-ERR account locked after failed logins", SourceAuthError, "refused"),
        (b"+ERR authentication failed", SourceAuthError, "'+ERR authentication failed'"),
        ("-ERR EOF", SourceConnectError, "connection broke"),
    ],
)
def test_login_answers_are_classified_by_code_and_words(
    answer: bytes | str, expected: type, words: str
) -> None:
    err = login_error("box", "logging in", poplib.error_proto(answer), "env DLR_PW")
    assert type(err) is expected
    assert words in str(err)
    if isinstance(answer, bytes):
        assert answer.decode() in str(err)  # the server's own line, quoted

"""Hostile input through the real poll path (promise 3): SOAP responses from the sandbox
inbox and e-mails from a private Dovecot, polled by ``poll_source`` into a real Store.

Each hostile input is refused or quarantined with a reason in ``raw_messages.parse_error``
(or, where it is only odd, stored correctly); the poll never crashes, never hangs (each poll
runs in a thread joined with a generous timeout: a hang check, not a timing) and its peak
memory, traced with ``tracemalloc`` over the whole poll, stays bounded. A clean poll after
each one still works: no hostile item wedges a source.
"""

from __future__ import annotations

import gc
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dlrpoll.config import LoadedConfig
from dlrpoll.poller import PollResult, poll_source
from dlrpoll.sandbox.soap_inbox import NAMESPACE, SOAP_ENV, Injected, SoapInbox
from dlrpoll.sources import RetryPolicy, make_source
from dlrpoll.store import Store
from tests.reliability.workload import Clock, loaded_config, pop3_source, rows, smpp_text
from tests.support.dovecot import Dovecot, Mailbox
from tests.support.faultproxy import FaultProxy

#: A poll that has not returned by then is hung (a generous bound for a slow CI machine).
HANG_GUARD = 60.0
MiB = 2**20
TOKEN, SIGNATURE = "hostile-token", "hostile-signature"
SOAP_ARGS = {"inbox": {"token": TOKEN, "signature": SIGNATURE}}

T = TypeVar("T")


def bounded(fn: Callable[[], T], timeout: float = HANG_GUARD) -> tuple[T, int]:
    """Run ``fn`` in a thread; fail if it is still running after ``timeout`` seconds.
    Returns its result and the peak memory traced (all threads) while it ran."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    gc.collect()
    tracemalloc.start()
    try:
        worker = threading.Thread(target=target, name="hostile-poll", daemon=True)
        worker.start()
        worker.join(timeout)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not worker.is_alive(), f"the poll hung: still running after {timeout:.0f} s"
    if "error" in box:
        raise box["error"]
    return box["result"], peak


@dataclass
class Rig:
    config: LoadedConfig
    store: Store
    db: Path
    clock: Clock

    def poll(self) -> tuple[PollResult, int]:
        cfg = self.config.settings.sources[0]
        source = make_source(self.config, cfg, RetryPolicy(attempts=1))
        self.clock.tick()
        return bounded(lambda: poll_source(self.config, cfg, source, self.store, clock=self.clock))

    def quarantined(self, fmt: str | None = None) -> list[tuple[bytes, str]]:
        sql = "SELECT payload, parse_error FROM raw_messages WHERE parse_error IS NOT NULL"
        params: tuple[str, ...] = ()
        if fmt:
            sql, params = sql + " AND format = ?", (fmt,)
        return [(bytes(p), e) for p, e in rows(self.db, sql + " ORDER BY id", *params)]

    def receipts(self) -> list[tuple[str, str, str | None]]:
        return [
            (m, s, t)
            for m, s, t in rows(
                self.db, "SELECT message_id, state, text FROM receipts ORDER BY message_id"
            )
        ]


@contextmanager
def _rig(tmp_path: Path, src: dict[str, Any], **secrets: Any) -> Iterator[Rig]:
    db = tmp_path / "dlr.sqlite"
    config = loaded_config([src], db, **secrets)
    store = Store(config.database_url, busy_timeout=5)
    try:
        yield Rig(config, store, db, Clock())
    finally:
        store.close()


# -- SOAP --------------------------------------------------------------------------------------


@pytest.fixture
def inbox() -> Iterator[SoapInbox]:
    with SoapInbox(token=TOKEN, signature=SIGNATURE, stall_seconds=5) as server:
        yield server


def soap_src(inbox: SoapInbox, endpoint: str | None = None, **extra: Any) -> dict[str, Any]:
    src = {
        "name": "inbox",
        "kind": "soap",
        "wsdl": inbox.wsdl_url,
        "profile": "smpp",
        "timeout": 5,
        "retries": 0,
        "args": {"token": {"env": "DLRPOLL_TEST_UNUSED"}, "signature": {"env": "UNUSED"}},
    }
    if endpoint:
        src["endpoint"] = endpoint
    return src | extra


@pytest.fixture
def soap(inbox: SoapInbox, tmp_path: Path) -> Iterator[Rig]:
    with _rig(tmp_path, soap_src(inbox), soap_args=SOAP_ARGS) as rig:
        yield rig


def envelope(data: str | bytes, *, prolog: bytes = b"") -> bytes:
    """A ``GetNewInboxMessages`` response holding one message whose ``<data>`` is ``data``,
    unescaped: the hostile part is the caller's."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return (
        prolog
        + f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>'
        f'<GetNewInboxMessagesResponse xmlns="{NAMESPACE}"><GetNewInboxMessagesResult>'
        "<NewSMSMessage><isValid>true</isValid><sender>1</sender><data>".encode()
        + raw
        + b"</data><name/><inboundnumber>5</inboundnumber><carriercode>X</carriercode>"
        b"<messageid>Mail-hostile-1</messageid></NewSMSMessage></GetNewInboxMessagesResult>"
        b"</GetNewInboxMessagesResponse></soap:Body></soap:Envelope>"
    )


_LAUGHS = "".join(
    f' <!ENTITY l{i} "{f"&l{i - 1};" * 10}">\n' for i in range(1, 10)
)  # l9 expands to 10**9 "lol"s
_BOMB_DTD = f'<!DOCTYPE s [\n <!ENTITY l0 "lol">\n{_LAUGHS}]>\n'.encode()
DEPTH = 100_000

# fmt: off
#: (case, what to inject, words the quarantine reason must contain)
SOAP_ENVELOPES: list[tuple[str, dict[str, Any], str]] = [
    ("dtd-only", {"kind": Injected.RAW, "body": envelope(
        "x", prolog=b'<?xml version="1.0"?>\n<!DOCTYPE Envelope SYSTEM "soap.dtd">\n')},
     "DTD"),
    ("billion-laughs", {"kind": Injected.BOMB}, "DTD"),
    ("external-entity", {"kind": Injected.EXTERNAL_ENTITY}, "DTD"),
    ("bomb-behind-a-long-comment", {"kind": Injected.RAW, "body": envelope(
        "&l9;", prolog=b"<!--" + b"c" * 200_000 + b"-->\n" + _BOMB_DTD)},
     "amplification"),  # past the DOCTYPE pre-check: libxml2's own guard refuses it
    ("deep-nesting", {"kind": Injected.RAW, "body": envelope(
        "<a>" * DEPTH + "x" + "</a>" * DEPTH)}, "not well-formed"),
    ("control-char-reference", {"kind": Injected.RAW, "body": envelope(
        smpp_text("CTL1").replace("CTL1", "C&#x1;1"))}, "not well-formed"),
    ("surrogate-char-reference", {"kind": Injected.RAW, "body": envelope(
        smpp_text("SUR1").replace("SUR1", "S&#xD800;1"))}, "not well-formed"),
    ("surrogate-as-utf8-bytes", {"kind": Injected.RAW, "body": envelope(
        smpp_text("SUR2").encode().replace(b"SUR2", b"S\xed\xa0\x801"))}, "not well-formed"),
    ("not-xml-at-all", {"kind": Injected.RAW, "body": b"\x00\xff" * 5000}, "not well-formed"),
]
# fmt: on


@pytest.mark.parametrize(
    ("case", "injection", "reason"), SOAP_ENVELOPES, ids=[c for c, _, _ in SOAP_ENVELOPES]
)
def test_hostile_soap_response_is_quarantined(
    soap: Rig, inbox: SoapInbox, case: str, injection: dict[str, Any], reason: str
) -> None:
    inbox.inject(**injection)
    result, peak = soap.poll()
    assert result.outcome == "error", f"{case}: {result.line()}"
    assert reason in (result.error or ""), result.error
    [(payload, error)] = soap.quarantined("soap-envelope")
    assert reason in error
    assert payload  # the bytes are kept for a human to look at
    assert soap.receipts() == []
    assert peak < 32 * MiB, f"{case}: peak {peak / MiB:.1f} MiB"
    # the source is not wedged: the next poll reads the next response normally
    inbox.load([smpp_text("AFTER1")])
    again, _ = soap.poll()
    assert again.outcome == "ok", again.error
    assert [m for m, _s, _t in soap.receipts()] == ["AFTER1"]


def test_raw_control_character_in_soap_data_quarantines_the_envelope(
    soap: Rig, inbox: SoapInbox
) -> None:
    """The sandbox puts the character into the XML as it is: XML 1.0 forbids it, so the
    whole response is refused and kept, not half-read."""
    inbox.load([smpp_text("OK1"), smpp_text("C\x01TL")])
    result, _ = soap.poll()
    assert result.outcome == "error"
    [(payload, error)] = soap.quarantined("soap-envelope")
    assert "not well-formed" in error and b"C\x01TL" in payload and b"OK1" in payload


def test_a_100_mb_response_is_cut_at_the_size_cap(inbox: SoapInbox, tmp_path: Path) -> None:
    """With the default max_response_size (32 MiB), a 100 MB body is read up to the cap
    and no further; what arrived is journaled with the reason. Peak memory stays under
    64 MiB: the cap, about once."""
    with FaultProxy("127.0.0.1", inbox.port) as proxy:
        src = soap_src(inbox, endpoint=f"http://127.0.0.1:{proxy.port}/SMS.asmx")
        with _rig(tmp_path, src, soap_args=SOAP_ARGS) as rig:
            cap = rig.config.settings.sources[0].max_response_size  # type: ignore[union-attr]
            assert cap == 32 * MiB
            inbox.load([smpp_text("BIG1")])
            inbox.inject(Injected.HUGE, size=100 * 10**6)
            result, peak = rig.poll()
            assert result.outcome == "error"
            assert "exceeds max_response_size" in (result.error or "")
            [(payload, error)] = rig.quarantined("soap-envelope")
            assert len(payload) == cap and b"BIG1" in payload
            assert "exceeds max_response_size" in error
            assert peak < 64 * MiB, f"peak {peak / MiB:.1f} MiB"
            assert proxy.wait_for(lambda p: p.active == 0, 10)
            # the cap, plus what socket buffers held: far from the 100 MB sent
            assert proxy.bytes_down < cap + 16 * MiB, proxy.bytes_down


# fmt: off
#: (case, the receipt text the inbox serves, words of the quarantine reason)
SOAP_ITEMS: list[tuple[str, str, str]] = [
    ("DEL-in-id",           smpp_text("D\x7fEL"),                         "control character"),
    ("C1-in-id",            smpp_text("C\x851"),                          "control character"),
    ("C1-in-error-code",    smpp_text("ERR1").replace("err:000", "err:0\x9b0"),
     "control character"),
    ("json-lone-surrogate", '{"messageId": "\\ud800X", "status": "DELIVRD"}', "lone surrogate"),
    ("json-control-char",   '{"messageId": "J\\u0007", "status": "DELIVRD"}', "control character"),
    ("overlong-id",         smpp_text("L" * 5000),                         "5000 characters"),
    ("megabyte-of-text",    "q" * 2**20,                                   "no id"),
]
# fmt: on


def test_hostile_receipts_inside_a_good_soap_response(soap: Rig, inbox: SoapInbox) -> None:
    """Item by item: each hostile receipt is quarantined with its reason, the good ones
    beside it are stored, and the poll is ok."""
    texts = [t for _c, t, _r in SOAP_ITEMS]
    inbox.load([smpp_text("GOOD1"), *texts, smpp_text("GOOD2")])
    result, peak = soap.poll()
    assert result.outcome == "ok", result.error
    assert (result.stored, result.quarantined) == (2, len(SOAP_ITEMS))
    assert [m for m, _s, _t in soap.receipts()] == ["GOOD1", "GOOD2"]
    got = soap.quarantined("text")
    assert len(got) == len(SOAP_ITEMS)
    for (case, _text, reason), (_payload, error) in zip(SOAP_ITEMS, got, strict=True):
        assert reason in error, f"{case}: {error}"
    assert peak < 64 * MiB, f"peak {peak / MiB:.1f} MiB"


def test_control_characters_in_the_free_text_are_replaced(soap: Rig, inbox: SoapInbox) -> None:
    """The message's text is informational: its control characters are replaced and an
    overlong one is cut, but the receipt is kept."""
    # (XML 1.0 allows DEL and the C1 controls, not C0: those refuse the whole response)
    inbox.load([smpp_text("TXT1") + "he\x7fllo\x9b31m", smpp_text("TXT2") + "z" * 5000])
    result, _ = soap.poll()
    assert (result.outcome, result.stored) == ("ok", 2)
    texts = dict((m, t) for m, _s, t in soap.receipts())
    assert texts["TXT1"] == "he\ufffdllo\ufffd31m"
    assert texts["TXT2"] == "z" * 1024


# -- e-mail ------------------------------------------------------------------------------------

R = (
    "id:{mid} sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
    "stat:DELIVRD err:000 text:"
)


def _mail(case: str, headers: str, body: bytes | str, ctype: str = "text/plain") -> bytes:
    head = (
        "From: dlr@provider.example\r\nTo: receipts@example.com\r\n"
        f"Message-ID: <{case}@hostile.example>\r\nX-Case: {case}\r\nMIME-Version: 1.0\r\n" + headers
    )
    if "Subject:" not in headers:
        head += "Subject: DLR\r\n"
    if "Content-Type:" not in headers:
        head += f"Content-Type: {ctype}\r\n"
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return head.encode("utf-8") + b"\r\n" + raw + b"\r\n"


def _many_parts(case: str, n: int) -> bytes:
    parts = "".join(
        f"--B\r\nContent-Type: text/plain\r\n\r\n{R.format(mid=case) if i == n - 1 else 'x'}\r\n"
        for i in range(n)
    )
    return _mail(case, 'Content-Type: multipart/mixed; boundary="B"\r\n', parts + "--B--")


def _deep_multipart(case: str, n: int) -> bytes:
    opening = "".join(
        f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n' for i in range(n)
    )
    inner = f"--b{n}\r\nContent-Type: text/plain\r\n\r\n{R.format(mid=case)}\r\n--b{n}--\r\n"
    closing = "".join(f"--b{i}--\r\n" for i in range(n - 1, -1, -1))
    return _mail(
        case, 'Content-Type: multipart/mixed; boundary="b0"\r\n', opening + inner + closing
    )


def _deep_rfc822(case: str, n: int) -> bytes:
    nested = "Content-Type: message/rfc822\r\n\r\n" * n
    return _mail(
        case,
        "Content-Type: message/rfc822\r\n",
        nested + f"Content-Type: text/plain\r\n\r\n{R.format(mid=case)}",
    )


def _charset(case: str, charset: str, mid: str) -> bytes:
    return _mail(case, f"Content-Type: text/plain; charset={charset}\r\n", R.format(mid=mid))


@dataclass(frozen=True)
class MailCase:
    name: str
    message: bytes
    #: the message id stored, or None when the e-mail must be quarantined
    stored: str | None = None
    #: words of the quarantine reason
    reason: str = ""


MEGA = 1_000_000

# fmt: off
MAIL_CASES: list[MailCase] = [
    MailCase("mime-5000-parts", _many_parts("MB1", 5000), reason="MIME part boundaries"),
    MailCase("mime-2000-deep", _deep_multipart("MB2", 2000), reason="nested"),
    MailCase("rfc822-2000-deep", _deep_rfc822("MB3", 2000), reason="nested"),
    MailCase("mime-40000-boundaries",
             _mail("MB5", "Content-Type: multipart/mixed; "
                   + "".join(f"boundary=b{i}; " for i in range(40_000)) + "\r\n",
                   "--b1\r\n\r\n" + R.format(mid="MB5")), reason="boundaries declared"),
    MailCase("mime-within-limits", _deep_multipart("MB4", 20), stored="MB4"),
    MailCase("unknown-charset", _charset("cs1", "x-no-such-charset", "CS1"), stored="CS1"),
    MailCase("codec-not-a-charset", _charset("cs2", "rot13", "CS2"), stored="CS2"),
    MailCase("zlib-charset", _charset("cs3", "zlib", "CS3"), stored="CS3"),
    # these codecs turn escapes into arbitrary code points: read as UTF-8 instead
    MailCase("unicode-escape-charset", _charset("cs4", "unicode_escape", r"CS4\ud800"),
             stored=r"CS4\ud800"),
    MailCase("utf-7-charset", _charset("cs5", "utf-7", "CS5+2AA-"), stored="CS5+2AA-"),
    MailCase("bytes-not-in-declared-charset",
             _mail("cs6", "Content-Type: text/plain; charset=utf-8\r\n",
                   R.format(mid="CS6").encode() + b"caf\xe9"), stored="CS6"),
    MailCase("8-bit-subject", _mail("cs7", "Subject: id:\xdc7 stat:DELIVRD\r\n", "hello"),
             stored="\xdc7"),
    MailCase("megabyte-header-line",
             _mail("hd1", "X-Padding: " + "p" * MEGA + "\r\n", R.format(mid="HD1")),
             stored="HD1"),
    MailCase("megabyte-subject-posing-as-receipts",
             _mail("hd2", "Subject: " + "id:1 stat:DELIVRD " * (MEGA // 18) + "\r\n", "hello"),
             reason="looks like a receipt"),
    MailCase("megabyte-body-line",
             _mail("hd3", "", "id:" * (MEGA // 3) + " stat:DELIVRD"),
             reason="looks like a receipt"),
    MailCase("html-script-bomb",
             _mail("ht1", "", "<p>" + R.format(mid="HT1") + "</p>" + "<script>" * 100_000,
                   "text/html"), stored="HT1"),
    MailCase("html-tag-bomb",
             _mail("ht2", "", "<br" * 200_000 + "\n<p>" + R.format(mid="HT2"), "text/html"),
             stored="HT2"),
    MailCase("control-char-in-id", _mail("cc1", "", R.format(mid="C\x01C1")),
             reason="control character"),
    MailCase("control-char-in-json",
             _mail("cc2", "", '{"messageId": "C\\u001bC2", "status": "DELIVRD"}',
                   "application/json"), reason="control character"),
    MailCase("lone-surrogate-in-json",
             _mail("su1", "", '{"messageId": "S\\udfffU1", "status": "DELIVRD"}',
                   "application/json"), reason="lone surrogate"),
    MailCase("xml-part-with-entities",
             _mail("xe1", "", '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM '
                   '"file:///etc/passwd">]><r><messageId>&e;</messageId>'
                   "<status>DELIVRD</status></r>", "text/xml"), reason="no receipt"),
    MailCase("xml-part-deeply-nested",
             _mail("xe2", "", '<?xml version="1.0"?>' + "<a>" * DEPTH + "</a>" * DEPTH,
                   "text/xml"), reason="no receipt"),
]
# fmt: on


def _pop3_rig(server: Dovecot, tmp_path: Path) -> Iterator[tuple[Rig, Mailbox]]:
    box = server.mailbox()
    # max_size raised so the megabyte cases are fetched whole, not as headers only
    src = pop3_source("box", server.port, box.user, timeout=10, max_size="8MiB")
    with _rig(tmp_path, src, passwords={"box": box.password}) as rig:
        yield rig, box


@pytest.fixture
def mailbox_rig(dovecot: Dovecot, tmp_path: Path) -> Iterator[tuple[Rig, Mailbox]]:
    yield from _pop3_rig(dovecot, tmp_path)


def _case_of(payload: bytes) -> str:
    start = payload.index(b"X-Case: ") + 8
    return payload[start : payload.index(b"\r\n", start)].decode()


def test_hostile_emails_are_refused_or_read_correctly(
    mailbox_rig: tuple[Rig, Mailbox],
) -> None:
    """Every hostile e-mail in one mailbox, one poll: each is quarantined with its reason or
    (when only odd) stored right; all are deleted from the server, none crashes the poll."""
    rig, box = mailbox_rig
    box.deliver([c.message for c in MAIL_CASES] + [_mail("good", "", R.format(mid="GOOD"))])
    result, peak = rig.poll()
    assert result.outcome == "ok", result.error
    assert result.fetched == len(MAIL_CASES) + 1
    assert box.count() == 0  # every one acknowledged: each is in the journal
    stored = {m for m, _s, _t in rig.receipts()}
    expected = {c.stored for c in MAIL_CASES if c.stored} | {"GOOD"}
    assert stored == expected
    reasons = {_case_of(p): e for p, e in rig.quarantined("email")}
    for case in MAIL_CASES:
        tag = _case_of(case.message)
        if case.stored is None:
            assert case.reason in reasons.get(tag, ""), f"{case.name}: {reasons.get(tag)}"
        else:
            assert tag not in reasons, f"{case.name}: {reasons[tag]}"
    assert len(reasons) == sum(1 for c in MAIL_CASES if c.stored is None)
    total = sum(len(c.message) for c in MAIL_CASES)
    assert peak < 64 * MiB, f"peak {peak / MiB:.1f} MiB for {total / MiB:.1f} MiB of mail"


@pytest.mark.parametrize(
    "case",
    [c for c in MAIL_CASES if c.name.startswith(("mime", "rfc822"))],
    ids=lambda c: c.name,
)
def test_a_mime_bomb_costs_little_memory(mailbox_rig: tuple[Rig, Mailbox], case: MailCase) -> None:
    """One MIME bomb per poll, its peak memory (the whole poll) measured on its own."""
    rig, box = mailbox_rig
    box.deliver([case.message])
    result, peak = rig.poll()
    assert result.outcome == "ok" and result.fetched == 1
    assert result.quarantined == (0 if case.stored else 1)
    assert peak < 16 * MiB, f"{case.name}: peak {peak / MiB:.1f} MiB"

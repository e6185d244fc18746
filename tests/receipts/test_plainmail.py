"""The plain-mail fast path (``receipts/plainmail.py``) reads exactly what the ``email``
package reads, and an e-mail parsed either way gives the same receipts or the same error."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from dlrpoll.errors import ParseError
from dlrpoll.receipts import build_profiles, parse_payload, resolve_profile
from dlrpoll.receipts import mail as mail_module
from dlrpoll.receipts.mail import MAX_TEXT
from dlrpoll.receipts.plainmail import read_plain_mail
from tests.support.mail import receipt_email

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "receipts"
AUTO = resolve_profile(build_profiles({}), "auto", "smpp")

_CONTENT_TYPES = [
    "text/plain",
    "text/plain; charset=utf-8",
    'text/plain; charset="ISO-8859-1"',
    "text/plain; format=flowed; charset=us-ascii",
    "text/plain; charset=utf-8; charset=latin-1",
    "text/plain; charset*=utf-8''utf-8",
    "text/plain;charset = utf-8 ;",
    "TEXT/HTML; charset=windows-1252",
    "application/json",
    "text/csv",
    "image/png",
    "multipart/mixed; boundary=b1",
    "message/rfc822",
    "garbage",
]
_ENCODINGS = ["7bit", "8bit ", "BINARY", "quoted-printable", "base64", "x-uuencode", ""]
_SUBJECTS = [
    "Delivery receipt",
    "id:77 stat:DELIVRD",
    "=?utf-8?q?Zustellbericht_f=C3=BCr_77?=",
    "Grüße",
    "",
    "   ",
    "a\x0cb",
]
_OTHER_NAMES = [
    "From",
    "To",
    "Status",
    "Message ID",  # not a header name (a space): the parser takes the body to start there
    "Message-ID",
    "MessageId",
    "Stat",
    "Done Date",
    "In-Reply-To",
    "Received",
    "X-Mailer",
    "From ",
    "",
]
_OTHER_VALUES = [
    "DELIVRD",
    "RO",
    "+44 7700 900123",
    "dlr@provider.example",
    "<77@provider.example>",
    "77",
    "2401011201",
    "",
]
_BODY_LINES = [
    "id:77 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD "
    "err:000 text:hello",
    "id:78 stat:UNDELIV err:005",
    "Message ID: 79",
    "Status: DELIVERED",
    "Your message to +447700900123 was delivered.",
    "<p>id:80 stat:DELIVRD err:000</p>",
    '{"messageId": "81", "status": "DELIVERED"}',
    "Grüße aus Köln",
    "=C3=BC",
    "",
    " ",
    "\x0c",
    "--b1",
]
_ENDS = ["\r\n", "\n", "\r"]


@st.composite
def emails(draw: st.DrawFn) -> bytes:
    """E-mails that are mostly plain, with every oddity the fast path must hand over."""
    end = st.sampled_from(_ENDS)
    header = st.one_of(
        st.tuples(
            st.sampled_from(["Content-Type", "content-type"]), st.sampled_from(_CONTENT_TYPES)
        ),
        st.tuples(st.just("Content-Transfer-Encoding"), st.sampled_from(_ENCODINGS)),
        st.tuples(st.sampled_from(["Subject", "SUBJECT"]), st.sampled_from(_SUBJECTS)),
        st.tuples(st.sampled_from(_OTHER_NAMES), st.sampled_from(_OTHER_VALUES)),
    )
    headers = draw(
        st.lists(
            st.tuples(header, st.booleans(), end),  # booleans: folded
            max_size=6,
        )
    )
    out = ""
    for (name, value), folded, eol in headers:
        out += f"{name}: {value}" + (f"{eol}\t{value}" if folded else "") + eol
    out += draw(st.sampled_from(["", *_ENDS]))  # the empty line, or none at all
    body = draw(st.lists(st.tuples(st.sampled_from(_BODY_LINES), end), max_size=5))
    out += "".join(line + eol for line, eol in body)
    charset = draw(st.sampled_from(["utf-8", "latin-1"]))
    return out.encode(charset)


def _full_path(payload: bytes) -> list[object] | str:
    """The receipts the ``email`` package's way gives, or the error it raises."""
    original = mail_module.read_plain_mail
    mail_module.read_plain_mail = lambda payload, max_body: None  # type: ignore[assignment]
    try:
        return _outcome(payload)
    finally:
        mail_module.read_plain_mail = original


def _outcome(payload: bytes) -> list[object] | str:
    try:
        return list(parse_payload(payload, "email", AUTO, UTC))
    except ParseError as exc:
        return f"ParseError: {exc}"


def _as_email_reads(payload: bytes) -> tuple[object, ...]:
    msg = email.message_from_bytes(payload, policy=email.policy.compat32)
    return (
        [(k, str(v)) for k, v in msg.items()],
        msg.get_content_type(),
        msg.get_content_charset(),
        msg.get_payload(decode=True),
    )


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(emails())
def test_fast_path_reads_what_the_email_package_reads(payload: bytes) -> None:
    plain = read_plain_mail(payload, MAX_TEXT)
    if plain is not None:
        assert (plain.headers, plain.content_type, plain.charset, plain.body) == (
            _as_email_reads(payload)
        )
    assert _outcome(payload) == _full_path(payload)


def test_generated_emails_take_both_paths() -> None:
    """The property above is only worth something if the fast path both fires and declines
    on what it is given."""
    # find raises NoSuchExample when the generator never gives such an e-mail
    taken = find(emails(), lambda m: read_plain_mail(m, MAX_TEXT) is not None)
    declined = find(emails(), lambda m: read_plain_mail(m, MAX_TEXT) is None)
    assert read_plain_mail(taken, MAX_TEXT) is not None
    assert read_plain_mail(declined, MAX_TEXT) is None


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.eml")))
def test_fixture_emails_give_the_same_receipts_both_ways(name: str) -> None:
    payload = (FIXTURES / name).read_bytes()
    assert _outcome(payload) == _full_path(payload)


def test_a_forwarded_receipt_with_folded_headers_takes_the_fast_path() -> None:
    payload = (
        b"Received: from mx.provider.example\r\n\tby mail.example.com; Mon, 1 Jan 2024\r\n"
        b"DKIM-Signature: v=1; a=rsa-sha256;\r\n d=provider.example; b=abc\r\n"
    ) + receipt_email("F1")
    plain = read_plain_mail(payload, MAX_TEXT)
    assert plain is not None
    assert plain.header("received") == (
        "from mx.provider.example\r\n\tby mail.example.com; Mon, 1 Jan 2024"
    )
    assert plain.charset == "us-ascii"
    [receipt] = _outcome(payload)
    assert receipt.message_id == "F1"  # type: ignore[attr-defined]
    assert _full_path(payload) == [receipt]


@pytest.mark.parametrize(
    "payload",
    [
        b"Subject: =?utf-8?q?x?=\r\n\r\nid:1 stat:DELIVRD\r\n",  # an encoded word
        b"Subject: Gr\xc3\xbc\xc3\x9fe\r\n\r\nid:1 stat:DELIVRD\r\n",  # 8-bit header
        b"Content-Transfer-Encoding: base64\r\n\r\naWQ6MSBzdGF0OkRFTElWUkQ=\r\n",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nid:1\r\n--x--\r\n",
        b"Subject: x\rFrom: y\r\n\r\nid:1 stat:DELIVRD\r\n",  # a bare CR ends a line
        b"Message ID: 1\r\nStatus: DELIVRD\r\n\r\n",  # no header at all: the body starts
        b"\tcontinued\r\nSubject: x\r\n\r\nid:1 stat:DELIVRD\r\n",
        b"Subject: no empty line\r\n",
    ],
)
def test_anything_unusual_takes_the_long_way(payload: bytes) -> None:
    assert read_plain_mail(payload, MAX_TEXT) is None
    assert _outcome(payload) == _full_path(payload)


def test_a_body_over_the_text_limit_takes_the_long_way() -> None:
    payload = b"Subject: big\r\n\r\n" + b"x" * 100
    assert read_plain_mail(payload, 99) is None
    assert read_plain_mail(payload, 100) is not None

"""The e-mail fast path (``receipts/mail_fast.py``) gives exactly what the ``email`` package
path gives, whatever the e-mail; and HTML blocks that open mid-line start a line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from dlrpoll.errors import ParseError
from dlrpoll.receipts import BUILTIN_PROFILES, parse_payload
from dlrpoll.receipts import mail as mail_module
from dlrpoll.receipts.mail import MAX_TEXT, parse_email
from dlrpoll.receipts.mail_fast import simple_text_email
from tests.support.mail import receipt_email

SMPP = BUILTIN_PROFILES["smpp"]

OTHER = st.sampled_from(
    [
        b"From: dlr@provider.example",
        b"To: receipts@example.com",
        b"Date: Mon, 01 Jan 2024 12:01:00 +0000",
        b"MIME-Version: 1.0",
        b"Received: from mx.example (mx.example [192.0.2.1])\r\n\tby us; Mon, 1 Jan 2024",
    ]
)
SUBJECT = st.sampled_from(
    [
        b"Subject: Delivery receipt",
        b"Subject: id:S1 sub:001 dlvrd:001 stat:DELIVRD err:000",
        b"Subject:   spaced   subject  ",
        b"Subject:",
        b"subject: lower case name",
        b"SUBJECT: id:S2 stat:UNDELIV err:001",
        b"Subject: =?utf-8?q?id=3AS3_stat=3ADELIVRD?=",
        b"Subject: folded\r\n id:S4 stat:DELIVRD",
        b"Subject: caf\xc3\xa9 id:S5 stat:DELIVRD",
    ]
)
CONTENT_TYPE = st.sampled_from(
    [
        b"Content-Type: text/plain",
        b"Content-Type: text/plain; charset=utf-8",
        b'Content-Type: text/plain; charset="ISO-8859-1"',
        b"Content-Type: TEXT/PLAIN;charset=UTF-8;format=flowed",
        b"Content-Type: text/plain; xcharset=koi8-r",
        b"Content-Type: text/plain; charset=utf-8; charset=latin-1",
        b"Content-Type: text/plain; charset*=utf-8''x",
        b"Content-Type: text/plain; charset=",
        b"Content-Type: text/plain; charset=x-unknown",
        b"Content-Type: text/plain;\r\n charset=utf-8",
        b"Content-Type: text/html; charset=utf-8",
        b"Content-Type: application/octet-stream",
        b"Content-Type: multipart/mixed; boundary=XX",
        b"Content-Type: text",
    ]
)
ENCODING = st.sampled_from(
    [
        b"Content-Transfer-Encoding: 7bit",
        b"Content-Transfer-Encoding:  8BIT ",
        b"Content-Transfer-Encoding: binary",
        b"Content-Transfer-Encoding: quoted-printable",
        b"Content-Transfer-Encoding: base64",
    ]
)
ODD = st.sampled_from(
    [
        b"X-Eight-Bit: \xe9t\xe9",
        b"no colon on this line",
        b":empty name",
        b"From someone@example Mon Jan  1 12:00:00 2024",
        b" continuation first",
    ]
)
BODY_LINES = st.one_of(
    st.builds(
        lambda n, stat: (
            b"id:B%d sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
            b"stat:%s err:000 text:hi" % (n, stat)
        ),
        st.integers(0, 50),
        st.sampled_from([b"DELIVRD", b"UNDELIV", b"EXPIRED", b"ENROUTE"]),
    ),
    st.sampled_from(
        [
            b"",
            b"Message-Id: K1",
            b"Status: delivered",
            b"messageId=Q1&deliveryStatus=0",
            b"caf\xc3\xa9 id:U1 stat:DELIVRD",
            b"\xe9t\xe9 id:L1 stat:DELIVRD",
            b"=3D=3D",
            b"id=3AQP1 sub=3A001 dlvrd=3A001 stat=3ADELIVRD err=3A000",
            b"aWQ6QjY0IHN1YjowMDEgZGx2cmQ6MDAxIHN0YXQ6REVMSVZSRCBlcnI6MDAw",
            b"--XX",
            b"\r\n".join([b"Content-Type: message/rfc822"] * 70),  # a MIME bomb's talk
            b"X: " + b" boundary=b" * 70,
            b"<p>id:H1 stat:DELIVRD</p>",
            b".",
        ]
    ),
    st.binary(max_size=30),
)
EOLS = st.sampled_from([b"\r\n", b"\n"])


@st.composite
def emails(draw: Callable[..., Any]) -> bytes:
    """E-mails of every shape around the common one: each relevant header present or not,
    plain or unusual, in any order; line ends CRLF, LF or mixed; bodies of receipts in
    plain, quoted-printable or base64 text, 8-bit bytes and noise."""
    eol = draw(EOLS)
    heads = draw(st.lists(OTHER, max_size=4))
    for choice in (SUBJECT, CONTENT_TYPE, ENCODING, ODD):
        if draw(st.booleans()):
            heads.append(draw(choice))
    if draw(st.integers(0, 9)) == 0:
        heads.append(draw(SUBJECT))  # a second Subject
    heads = draw(st.permutations(heads))
    body = draw(st.lists(BODY_LINES, max_size=6))
    mixed = draw(st.integers(0, 4)) == 0
    out = b""
    for h in heads:
        out += h.replace(b"\r\n", eol) + (draw(EOLS) if mixed else eol)
    out += draw(st.sampled_from([eol, eol, eol, b"\r\n", b"\n", b""]))
    out += eol.join(body) + draw(st.sampled_from([eol, b"", b"\r"]))
    return out


def outcome(payload: bytes, *, fast: bool) -> object:
    patcher = (
        mock.patch.object(mail_module, "simple_text_email", lambda payload, limit: None)
        if not fast
        else mock.patch.object(mail_module, "simple_text_email", simple_text_email)
    )
    with patcher:
        try:
            return parse_email(payload, SMPP, UTC)
        except ParseError as exc:
            return f"ParseError: {exc}"


@settings(max_examples=600, deadline=None)
@given(emails())
def test_fast_and_full_path_give_identical_receipts(payload: bytes) -> None:
    assert outcome(payload, fast=True) == outcome(payload, fast=False)


def test_the_property_test_meets_both_paths() -> None:
    seen = {True: 0, False: 0}

    @settings(max_examples=300, deadline=None, database=None)
    @given(emails())
    def count(payload: bytes) -> None:
        seen[simple_text_email(payload, MAX_TEXT) is not None] += 1

    count()
    assert seen[True] > 30 and seen[False] > 30, seen


def test_a_receipt_email_goes_the_fast_way_and_unusual_ones_do_not() -> None:
    assert simple_text_email(receipt_email("F1"), MAX_TEXT) == (
        "Delivery receipt",
        receipt_email("F1").split(b"\r\n\r\n", 1)[1],
        "us-ascii",
    )
    plain = b"Subject: x\r\n\r\nid:F2 stat:DELIVRD\r\n"
    unusual = [
        b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n",
        b"Subject: =?utf-8?b?aWQ6MQ==?=\r\n\r\nbody",
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nid=3A1",
        b"Subject: a\r\n b\r\n\r\nbody",
        b"Subject: \xe9\r\n\r\nbody",
        b"Subject: one\r\nSubject: two\r\n\r\nbody",
        b"no header\r\n\r\nbody",
        b"Subject: no body",
    ]
    assert simple_text_email(plain, MAX_TEXT) == ("x", b"id:F2 stat:DELIVRD\r\n", None)
    assert [simple_text_email(u, MAX_TEXT) for u in unusual] == [None] * len(unusual)
    assert simple_text_email(plain, 5) is None  # over the text limit: the long way


def test_html_blocks_opened_mid_line_start_a_line() -> None:
    html = (
        b"Subject: receipt\r\nContent-Type: text/html\r\n\r\n"
        b"<html><body>note<p>id:H1 sub:001 dlvrd:001 submit date:2401011200 done "
        b"date:2401011201 stat:DELIVRD err:000 text:x</p></body></html>\r\n"
    )
    [receipt] = parse_payload(html, "email", SMPP, UTC)
    assert (receipt.message_id, receipt.provider_status) == ("H1", "DELIVRD")


def test_html_paragraphs_stay_one_block() -> None:
    # closing then opening tags: one line end, no blank line (blank lines split blocks)
    html = (
        b"Content-Type: text/html\r\n\r\n<div>Message-Id: K7</div><div>Status: delivered</div>"
        b"\r\n<p>x</p>\r\n"
    )
    [receipt] = parse_payload(html, "email", SMPP, UTC)
    assert receipt.message_id == "K7"

"""Receipts inside e-mails: MIME, QP, base64, charsets, several receipts, non-receipts."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from dlrpoll.errors import ParseError
from dlrpoll.receipts import BUILTIN_PROFILES, State, parse_payload
from tests.receipts.conftest import fixture_bytes

SMPP = BUILTIN_PROFILES["smpp"]


def parse(name: str):  # type: ignore[no-untyped-def]
    return parse_payload(fixture_bytes(name), "email", SMPP, UTC)


def test_multipart_alternative_quoted_printable_utf8() -> None:
    [r] = parse("multipart_qp.eml")  # the HTML twin of the plain part is not a second receipt
    assert (r.message_id, r.state, r.text, r.format) == (
        "E1",
        State.DELIVERED,
        "Grüße aus Köln",
        "email+smpp",
    )


def test_base64_latin1_key_value_report() -> None:
    [r] = parse("base64_latin1.eml")
    assert (r.message_id, r.state, r.error_code, r.text) == (
        "E2",
        State.UNDELIVERABLE,
        "0B1",
        "Café déjà",
    )


def test_undeclared_charset_is_windows_1252() -> None:
    [r] = parse("undeclared_charset.eml")
    assert r.text == "“Hi” – 5 €"


def test_several_receipts_in_one_mail() -> None:
    got = parse("several_receipts.eml")
    assert [(r.message_id, r.state, r.format) for r in got] == [
        ("E4a", State.DELIVERED, "email+smpp"),
        ("E4b", State.UNDELIVERABLE, "email+smpp"),
        ("E4c", State.EXPIRED, "email+query"),
        ("E4d", State.REJECTED, "email+lines"),
        ("E4e", State.DELIVERED, "email+json"),
        ("E4f", State.ENROUTE, "email+json"),
    ]  # the subject repeats E4a: not a seventh receipt


def test_subject_only_and_html_table() -> None:
    [r] = parse("subject_only.eml")
    assert (r.message_id, r.state) == ("E6", State.DELIVERED)
    [r] = parse("html_table.eml")
    assert (r.message_id, r.state, r.dst_addr) == ("E7", State.DELIVERED, "+15550100")


def test_not_a_receipt() -> None:
    with pytest.raises(ParseError, match="no receipt in this e-mail.*Your invoice for January"):
        parse("not_a_receipt.eml")


def test_a_bad_receipt_rejects_the_whole_mail() -> None:
    with pytest.raises(ParseError, match="unknown status 'Borked'"):
        parse("bad_status.eml")


def test_garbage_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_payload(b"\xff\xfe\x00garbage\r\n\r\n--", "email", SMPP, UTC)


def test_sentence_in_the_subject_matched_by_in_reply_to() -> None:
    [r] = parse("sentence_subject.eml")
    assert (r.message_id, r.state, r.final, r.provider_status, r.dst_addr, r.format) == (
        "sms-4711@site.example",
        State.DELIVERED,
        True,
        "delivered",
        "+447700900555",
        "email+sentence",
    )


def test_sentences_in_the_body_with_their_ids() -> None:
    got = parse("sentence_body.eml")
    assert [(r.message_id, r.state, r.provider_status, r.dst_addr) for r in got] == [
        ("5512", State.UNDELIVERABLE, "could not be delivered", "+447700900555"),
        ("5513", State.DELIVERED, "delivered", "+447700900556"),
    ]


def test_a_sentence_without_a_message_id_says_so() -> None:
    with pytest.raises(ParseError) as info:
        parse("sentence_no_id.eml")
    assert str(info.value).startswith(
        "the e-mail reports 'delivered' for a message to +447700900557 but names no message id"
    )


@pytest.mark.parametrize(
    ("sentence", "state"),
    [
        ("Message to +447700900555 has not been delivered", State.UNDELIVERABLE),
        ("SMS to 447700900555 was not delivered", State.UNDELIVERABLE),
        ("Message to +447700900555 delivered to the network", State.ENROUTE),
        ("Text message to +44 7700 900555 expired", State.EXPIRED),
        ("Message to +447700900555 cannot be delivered", State.UNDELIVERABLE),
    ],
)
def test_sentence_wordings(sentence: str, state: State) -> None:
    mail = (
        "From: gw@sms.example\nTo: me@site.example\nIn-Reply-To: <m1@site.example>\n"
        f"Subject: Notice\n\n{sentence}.\n"
    ).encode()
    [r] = parse_payload(mail, "email", SMPP, UTC)
    number = "447700900555" if "SMS to" in sentence else "+447700900555"  # as written
    assert (r.message_id, r.state, r.dst_addr) == ("m1@site.example", state, number)
    assert r.state is not State.DELIVERED


def test_report_lines_without_a_blank_line_after_the_headers() -> None:
    [r] = parse("headers_no_blank.eml")
    assert (r.message_id, r.state, r.error_code, r.dst_addr) == (
        "H-1",
        State.DELIVERED,
        "000",
        "+447700900123",  # the report's To:, not the mail's
    )
    assert r.done_at is not None and r.done_at.isoformat() == "2024-11-05T12:02:00+00:00"


def test_mail_headers_alone_are_no_receipt() -> None:
    # mbox's Status: RO and the mail's own Message-ID are not a report's status and id
    mail = (
        b"From: a@example.com\nTo: b@example.com\nMessage-ID: <x@example.com>\n"
        b"Status: RO\nSubject: Hello\n\nHow are you?\n"
    )
    with pytest.raises(ParseError, match="no receipt in this e-mail"):
        parse_payload(mail, "email", SMPP, UTC)


def test_html_split_at_opening_block_tags() -> None:
    [r] = parse("html_open_tags.eml")
    assert (r.message_id, r.state, r.dst_addr) == ("H-2", State.DELIVERED, "+447700900124")
    assert r.done_at is not None and r.done_at.isoformat() == "2024-11-05T12:02:00+00:00"


def test_one_block_with_two_reports_is_two_receipts() -> None:
    mail = (
        b"From: a@example.com\nSubject: DLRs\nContent-Type: text/html\n\n"
        b"<div>Message ID: R1<br>Status: delivered<div>Message ID: R2<br>Status: expired</div>"
    )
    got = parse_payload(mail, "email", SMPP, UTC)
    assert [(r.message_id, r.state) for r in got] == [
        ("R1", State.DELIVERED),
        ("R2", State.EXPIRED),
    ]


def test_many_sentences_and_short_ids() -> None:
    body = "".join(f"Message {i} to +447700900555 delivered. " for i in range(300))
    got = parse_payload(f"From: a@b.example\nSubject: x\n\n{body}".encode(), "email", SMPP, UTC)
    assert [r.message_id for r in got] == [str(i) for i in range(300)]


def _mail(head: str, body: bytes) -> bytes:
    return ("From: dlr@smsc.example\r\nTo: dlr@site.example\r\n" + head).encode() + b"\r\n" + body


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ("<td>id:T1</td><td>stat:DELIVRD</td><td>err:000</td>", ("T1", "DELIVRD", "000")),
        ("<td>id:T2</td> <td>stat:DELIVRD</td>", ("T2", "DELIVRD", None)),
        ("<th>Message ID</th><td>T3</td><th>Status</th><td>DELIVRD</td>", ("T3", "DELIVRD", None)),
    ],
)
def test_html_table_cells_keep_their_own_colons(
    cells: str, expected: tuple[str, str, str | None]
) -> None:
    """An Appendix B receipt laid out a field per cell is read as its line, never as
    ``id:T1: stat:…`` (a message id ``T1:``); label/value cells become ``Key: value``."""
    payload = _mail(
        "Subject: DLR\r\nContent-Type: text/html\r\n", f"<table><tr>{cells}</tr></table>".encode()
    )
    [r] = parse_payload(payload, "email", SMPP, UTC)
    assert (r.message_id, r.provider_status, r.error_code) == expected


def test_a_folded_subject_is_unfolded() -> None:
    """Mail servers fold a subject over 78 characters; an Appendix B line is longer."""
    payload = _mail(
        "Subject: id:K6 sub:001 dlvrd:001 submit date:2401011200\r\n"
        " done date:2401011201 stat:DELIVRD err:000 text:Hi\r\n",
        b"Automatic report.\r\n",
    )
    [r] = parse_payload(payload, "email", SMPP, UTC)
    assert (r.message_id, r.state, r.text) == ("K6", State.DELIVERED, "Hi")
    assert r.done_at == datetime(2024, 1, 1, 12, 1, tzinfo=UTC)


def test_iso_8859_1_is_read_as_windows_1252() -> None:
    """Windows mailers label Windows-1252 text ISO-8859-1 (WHATWG reads it so too)."""
    payload = _mail(
        'Subject: DLR\r\nContent-Type: text/plain; charset="ISO-8859-1"\r\n',
        b"id:K5 stat:DELIVRD err:000 text:\x93quoted\x94 5\x80 caf\xe9\r\n",
    )
    [r] = parse_payload(payload, "email", SMPP, UTC)
    assert r.text == "\u201cquoted\u201d 5\u20ac caf\u00e9"


def test_a_transfer_encoding_with_a_trailing_blank_is_still_decoded() -> None:
    line = b"id:X2 sub:001 dlvrd:001 stat:DELIVRD err:000 text:hi"
    payload = _mail(
        "Subject: DLR\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64 \r\n",
        base64.b64encode(line) + b"\r\n",
    )
    [r] = parse_payload(payload, "email", SMPP, UTC)
    assert (r.message_id, r.state) == ("X2", State.DELIVERED)

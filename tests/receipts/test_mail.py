"""Receipts inside e-mails: MIME, QP, base64, charsets, several receipts, non-receipts."""

from __future__ import annotations

from datetime import UTC

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

"""SMPP Appendix B text: the seed's sample, the oddities real SMSCs send, and bad input."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from dlrpoll.errors import ParseError
from dlrpoll.receipts import BUILTIN_PROFILES, Receipt, State, parse_payload, parse_text
from dlrpoll.receipts.dates import smpp_date
from dlrpoll.receipts.model import RECEIPT_FIELDS, make_receipt, with_format
from tests.receipts.conftest import fixture_bytes, fixture_lines

SMPP = BUILTIN_PROFILES["smpp"]


def one(raw: bytes, profile=SMPP, tz=UTC) -> Receipt:  # type: ignore[no-untyped-def]
    [receipt] = parse_payload(raw, "text", profile, tz)
    return receipt


def test_seed_sample() -> None:
    r = one(fixture_bytes("smpp_appendix_b.txt"))
    when = datetime(2017, 2, 28, 14, 24, tzinfo=UTC)
    assert r == Receipt(
        message_id="123A456B",
        state=State.DELIVERED,
        final=True,
        provider_status="DELIVRD",
        format="smpp",
        error_code="0",
        submitted_at=when,
        done_at=when,
        sub=1,
        dlvrd=1,
        text="",
    )


def test_oddities() -> None:
    got = [one(line) for line in fixture_lines("smpp_oddities.txt")]
    by_id = {r.message_id: r for r in got}
    # id verbatim (leading zeros, case, dashes); text with spaces and colons
    r = by_id["0012-ab-CD"]
    assert r.text == "Hello: world, see you at 10:30"
    assert r.done_at == datetime(2024, 1, 2, 15, 30, 45, tzinfo=UTC)
    assert r.error_code == "000"
    # any order, a subset of fields, error code verbatim
    r = by_id["77"]
    assert (r.state, r.error_code, r.sub, r.submitted_at) == (
        State.UNDELIVERABLE,
        "00B",
        None,
        None,
    )
    # keys in any case
    r = by_id["88"]
    assert (r.state, r.sub, r.dlvrd, r.error_code, r.text) == (State.EXPIRED, 1, 0, "0000", "")
    # text: in the middle
    assert by_id["89"].text == "first words"
    assert by_id["89"].error_code == "000"
    # full SMPP absolute time with quarter-hour offsets and tenths
    r = by_id["90"]
    assert r.submitted_at == datetime(2024, 1, 2, 15, 30, 45, 100000, timezone(timedelta(hours=1)))
    assert r.done_at == datetime(2024, 1, 2, 16, 30, 45, 200000, timezone(timedelta(hours=-2)))
    assert r.state is State.ACCEPTED and r.final  # SMPP's ACCEPTED is final
    # all-zero dates are absent
    assert (by_id["91"].submitted_at, by_id["91"].done_at) == (None, None)
    # a prefix before id:, and a full state name
    assert by_id["92"].state is State.DELIVERED and by_id["92"].provider_status == "DELIVERED"
    # a vendor word; an intermediate state
    assert by_id["93"].state is State.UNDELIVERABLE and by_id["93"].final
    assert by_id["94"].state is State.ENROUTE and not by_id["94"].final
    # keys inside text: do not override the real ones
    r = by_id["95"]
    assert (r.message_id, r.state, r.text) == ("95", State.DELIVERED, "stat:UNDELIV id:999")


def test_trailing_nuls_and_whitespace() -> None:
    r = one(fixture_bytes("smpp_trailing_nuls.bin"))
    assert (r.message_id, r.text, r.state) == ("96", "", State.DELIVERED)


@pytest.mark.parametrize(
    ("line", "message"),
    list(
        zip(
            fixture_lines("smpp_bad.txt"),
            ["empty id", "no stat: field", "unknown status 'Borked'", "not a valid date", "sub:"],
            strict=True,
        )
    ),
)
def test_bad_receipts_say_what_is_wrong(line: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_payload(line, "text", SMPP, UTC)


def test_unknown_status_in_user_profile_names_the_fix() -> None:
    from dlrpoll.receipts import build_profiles

    acme = build_profiles({"acme": {"format": "smpp", "states": {"7": "DELIVERED"}}})["acme"]
    with pytest.raises(
        ParseError, match=r"unknown status 'Borked' — add it to profiles.acme.states"
    ):
        parse_payload(b"id:1 stat:Borked", "text", acme, UTC)


def test_utf16_is_refused_with_a_reason() -> None:
    with pytest.raises(ParseError, match="looks like UTF-16 bytes, not text"):
        parse_payload("id:1 stat:DELIVRD".encode("utf-16"), "text", SMPP, UTC)
    with pytest.raises(ParseError, match="UTF-16"):
        parse_payload("id:1 stat:DELIVRD".encode("utf-16-le"), "text", SMPP, UTC)


def test_dates_without_zone_use_the_given_zone_and_profile_zone_wins() -> None:
    paris = ZoneInfo("Europe/Paris")
    r = one(b"id:1 stat:DELIVRD done date:2407011200", tz=paris)
    assert r.done_at == datetime(2024, 7, 1, 12, 0, tzinfo=paris)
    assert r.done_at is not None and r.done_at.utcoffset() == timedelta(hours=2)
    from dlrpoll.receipts import build_profiles

    tokyo = build_profiles({"t": {"format": "smpp", "timezone": "Asia/Tokyo"}})["t"]
    r = one(b"id:1 stat:DELIVRD done date:2407011200", profile=tokyo, tz=paris)
    assert r.done_at is not None and r.done_at.utcoffset() == timedelta(hours=9)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2401021530", datetime(2024, 1, 2, 15, 30, tzinfo=UTC)),
        ("240102153059", datetime(2024, 1, 2, 15, 30, 59, tzinfo=UTC)),
        ("240102153059900+", datetime(2024, 1, 2, 15, 30, 59, 900000, UTC)),
        (
            "240102153059922-",
            datetime(2024, 1, 2, 15, 30, 59, 900000, timezone(-timedelta(hours=5, minutes=30))),
        ),
        ("0000000000", None),
        ("000000000000000+", None),
        ("000001000000000R", None),  # relative time: absent (documented)
    ],
)
def test_smpp_dates(value: str, expected: datetime | None) -> None:
    assert smpp_date(value, UTC) == expected
    assert smpp_date(value, UTC) == expected  # again, from the cache


@pytest.mark.parametrize(
    "value",
    ["2413011200", "240102156000", "240102153060", "24010215301", "2401021530451", "abcdefghij"],
)
def test_bad_smpp_dates(value: str) -> None:
    for _ in range(2):  # the second time the minute may be cached
        with pytest.raises(ParseError):
            smpp_date(value, UTC)


def test_fast_and_slow_paths_agree() -> None:
    standard = (
        b"id:1 sub:002 dlvrd:001 submit date:2401021530 done date:240102153112 "
        b"stat:DELIVRD err:000 text:hi: there"
    )
    odd = (
        b"ID:1 SUB:002 DLVRD:001 SUBMIT DATE:2401021530 DONE DATE:240102153112 "
        b"STAT:DELIVRD ERR:000 TEXT:hi: there"
    )
    assert one(standard) == one(odd)


def test_make_receipt_is_an_ordinary_frozen_receipt() -> None:
    args = (
        "1",
        State.DELIVERED,
        True,
        "DELIVRD",
        "smpp",
        "0",
        None,
        None,
        1,
        1,
        None,
        None,
        None,
        "",
    )
    fast = make_receipt(*args)
    assert type(fast) is Receipt
    assert fast == Receipt(*args) and hash(fast) == hash(Receipt(*args))
    with pytest.raises(AttributeError):
        fast.message_id = "2"  # type: ignore[misc]


def test_with_format_is_dataclasses_replace() -> None:
    """Every field carried over, match_id included when it is not the message id."""
    base = Receipt(
        "ab-1",
        State.UNDELIVERABLE,
        True,
        "UNDELIV",
        "keyvalue:twilio",
        "30003",
        datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2024, 1, 2, 3, 4, 6, tzinfo=UTC),
        2,
        0,
        "+441",
        "+442",
        "ref",
        "text",
        "AB1",
    )
    fast = with_format(base, "email+keyvalue:twilio")
    assert type(fast) is Receipt
    assert fast == dataclasses.replace(base, format="email+keyvalue:twilio")
    assert [getattr(fast, f) for f in RECEIPT_FIELDS if f != "format"] == [
        getattr(base, f) for f in RECEIPT_FIELDS if f != "format"
    ]


def test_unknown_format_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="unknown payload format 'soap-envelope'"):
        parse_payload(b"id:1 stat:DELIVRD", "soap-envelope", SMPP, UTC)


def test_empty_payload() -> None:
    with pytest.raises(ParseError, match="empty receipt"):
        parse_payload(b" \x00\r\n", "text", SMPP, UTC)


@pytest.mark.parametrize(
    ("bad", "good", "expected"),
    [
        # the minute cache is shared: each case uses a minute no other test reads
        ("3307141201x5", "330714120159", datetime(2033, 7, 14, 12, 1, 59, tzinfo=UTC)),
        ("330714120259\u0661", "330714120259", datetime(2033, 7, 14, 12, 2, 59, tzinfo=UTC)),
        (
            "33071412035x004+",
            "330714120359004+",
            datetime(2033, 7, 14, 12, 3, 59, tzinfo=timezone(timedelta(hours=1))),
        ),
    ],
)
def test_a_bad_date_does_not_spoil_its_minute_for_good_ones(
    bad: str, good: str, expected: datetime
) -> None:
    with pytest.raises(ParseError, match="not an SMPP date"):
        smpp_date(bad, UTC)
    assert smpp_date(good, UTC) == expected
    line = f"id:1 sub:001 dlvrd:001 submit date:{good} done date:{good} stat:DELIVRD err:0 text:"
    assert one(line.encode()).done_at == expected  # the fast path's inline lookup agrees


def test_an_offset_beyond_a_day_is_an_invalid_date() -> None:
    with pytest.raises(ParseError, match="not a valid date"):
        smpp_date("240102153059999+", UTC, "submit date")
    line = b"id:1 sub:1 dlvrd:1 submit date:240102153059999+ done date:2401021530 stat:DELIVRD"
    with pytest.raises(ParseError, match="submit date '240102153059999\\+' is not a valid date"):
        parse_payload(line + b" err:0 text:", "text", SMPP, UTC)


STANDARD = (
    "id:{id} sub:001 dlvrd:001 submit date:{d} done date:{d} stat:DELIVRD err:000 text:{text}"
)


@pytest.mark.parametrize(
    "raw",
    [
        STANDARD.format(id="A1", d="2401021530", text="").encode(),
        STANDARD.format(id="A2", d="240102153059", text="  hi: there \r\n").encode(),
        STANDARD.format(id="A3", d="240102153059104-", text="x").encode(),
        STANDARD.format(id="A4", d="000000000000", text="").encode(),
        "\ufeff".encode() + STANDARD.format(id="A5", d="2401021530", text="é").encode(),
        STANDARD.format(id="A6", d="2401021530", text="caf\xe9").encode("cp1252"),
        STANDARD.format(id="A7", d="2401021530", text="a\x00b").encode(),
        STANDARD.format(id="A8", d="2401021530", text="").encode() + b"\x00\x00\r\n",
        b"prefix " + STANDARD.format(id="A9", d="2401021530", text="").encode(),
        STANDARD.format(id="", d="2401021530", text="").encode(),
        STANDARD.format(id="B1", d="", text="").encode(),
        STANDARD.format(id="B2", d="2401021530", text="").encode().replace(b"001", b"0x1", 1),
        b"ID:B3 stat:DELIVRD",
        b"messageId=B4&status=DELIVRD",
        b"",
    ],
)
def test_parse_payload_fast_path_agrees_with_parse_text(raw: bytes) -> None:
    """parse_payload's bytes fast path must give what the full path gives, error or not."""

    def outcome(fn, payload):  # type: ignore[no-untyped-def]
        try:
            return fn(payload, SMPP, UTC)
        except ParseError as exc:
            return str(exc)

    expected = outcome(parse_text, raw)
    assert outcome(lambda p, pr, tz: parse_payload(p, "text", pr, tz), raw) == expected
    assert outcome(lambda p, pr, tz: parse_payload(p, "text", pr, tz), bytearray(raw)) == expected


def test_repeated_keys_are_read_in_one_pass_and_errors_stay_short() -> None:
    """'id:id:id:…' once made the standard-order search quadratic (a 120 KB SOAP data field
    took 11 s); a hostile value quoted in an error is cut so parse_error stays small."""
    profile = BUILTIN_PROFILES["smpp"]
    [receipt] = parse_payload(b"id:" * 40000 + b" stat:DELIVRD", "text", profile, UTC)
    assert receipt.message_id.startswith("id:id:") and receipt.provider_status == "DELIVRD"
    with pytest.raises(ParseError) as info:
        parse_payload(b"stat:" * 100000 + b"id:1", "text", profile, UTC)
    message = str(info.value)
    assert message.startswith("unknown status 'stat:stat:")
    assert len(message) < 1100 and message.endswith("more characters)")

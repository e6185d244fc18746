"""The look-alikes of real receipts issue 13 lists, verbatim, with the values they must give.

Each once failed (rejected) or, worse, was read wrongly without a word.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dlrpoll.receipts import BUILTIN_PROFILES, Receipt, State, build_profiles, parse_payload
from tests.receipts.conftest import fixture_lines

SMPP = BUILTIN_PROFILES["smpp"]
LINES = fixture_lines("lookalikes.txt")


def one(raw: bytes, profile=SMPP) -> Receipt:  # type: ignore[no-untyped-def]
    [receipt] = parse_payload(raw, "text", profile, UTC)
    return receipt


def test_the_fixture_holds_the_issue_lines_verbatim() -> None:
    assert LINES[0] == (
        b"id:77001 sub:001 dlvrd:000 submit date:2411051200 done date:2411051202 "
        b"stat:DELIVERED TO CARRIER err:003 text:"
    )
    assert LINES[5] == b"https://example.net/dlr? msgid=9&status=DELIVRD"
    assert len(LINES) == 7


def test_multi_word_status_is_never_a_final_delivered() -> None:
    r = one(LINES[0])
    assert r.provider_status == "DELIVERED TO CARRIER"
    assert r.state is not State.DELIVERED and not r.final
    assert (r.state, r.error_code, r.sub, r.dlvrd) == (State.ENROUTE, "003", 1, 0)


def test_multi_word_status_through_a_profile_state_with_spaces() -> None:
    profiles = build_profiles(
        {
            "carrier": {
                "format": "smpp",
                "states": {"DELIVERED TO CARRIER": {"state": "ENROUTE", "final": False}},
            },
            # a different meaning, to show the profile's table is what decides
            "handover": {
                "format": "smpp",
                "states": {"DELIVERED TO CARRIER": {"state": "ACCEPTED", "final": False}},
            },
        }
    )
    r = one(LINES[0], profiles["carrier"])
    assert (r.state, r.final, r.provider_status) == (State.ENROUTE, False, "DELIVERED TO CARRIER")
    r = one(LINES[0], profiles["handover"])
    assert (r.state, r.final) == (State.ACCEPTED, False)


def test_null_optional_fields_are_absent() -> None:
    assert one(LINES[1]) == Receipt(
        message_id="ab12",
        state=State.DELIVERED,
        final=True,
        provider_status="DELIVRD",
        format="smpp",
        error_code=None,
        submitted_at=datetime(2024, 10, 1, 12, 30, tzinfo=UTC),
        done_at=datetime(2024, 10, 1, 12, 31, tzinfo=UTC),
        sub=None,
        dlvrd=None,
        text="x",
    )


def test_unix_seconds_and_milliseconds() -> None:
    r = one(LINES[2])
    assert (r.message_id, r.state, r.final) == ("Q77", State.DELIVERED, True)
    assert r.done_at == datetime(2024, 11, 5, 9, 46, 40, tzinfo=UTC)
    assert r.done_at.isoformat() == "2024-11-05T09:46:40+00:00"
    ms = one(LINES[2].replace(b"1730800000", b"1730800000123"))
    assert ms.done_at == datetime(2024, 11, 5, 9, 46, 40, 123000, tzinfo=UTC)


def test_nested_results_with_status_and_error_objects() -> None:
    assert parse_payload(LINES[3], "text", SMPP, UTC) == [
        Receipt(
            message_id="AB-1",
            state=State.DELIVERED,
            final=True,
            provider_status="DELIVERED_TO_HANDSET",
            format="json",
            error_code="0",
            done_at=datetime(2024, 11, 5, 10, 0, tzinfo=UTC),
            dst_addr="447700900123",
        )
    ]


def test_unencoded_plus_in_e164_and_iso_offset() -> None:
    r = one(LINES[4])
    assert (r.message_id, r.dst_addr) == ("abc", "+447700900555")
    assert r.done_at == datetime(2024, 11, 5, 10, 0, 5, tzinfo=UTC)
    assert r.done_at is not None and r.done_at.utcoffset() is not None


def test_stray_space_after_the_question_mark() -> None:
    r = one(LINES[5])
    assert (r.message_id, r.state, r.provider_status, r.format) == (
        "9",
        State.DELIVERED,
        "DELIVRD",
        "query",
    )


def test_sixteen_digit_dates_with_hundredths() -> None:
    r = one(LINES[6])
    assert r.submitted_at == datetime(2024, 11, 5, 12, 0, 0, tzinfo=UTC)
    assert r.done_at == datetime(2024, 11, 5, 12, 0, 1, tzinfo=UTC)
    assert (r.message_id, r.state, r.error_code) == ("a1b2", State.DELIVERED, "000")


@pytest.mark.parametrize("line", LINES, ids=[f"line{i}" for i in range(len(LINES))])
def test_every_lookalike_parses_in_every_way_it_is_read(line: bytes) -> None:
    """As a SOAP item ("text"), through --format keyvalue where it is key/value, and as a
    str: the same receipts."""
    got = parse_payload(line, "text", SMPP, UTC)
    assert parse_payload(line.decode(), "text", SMPP, UTC) == got
    if not line.startswith(b"id:"):
        assert parse_payload(line, "keyvalue", SMPP, UTC) == got
    else:
        assert parse_payload(line, "smpp", SMPP, UTC) == got

"""Dates in every form receipts write them, read the one way they can be read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dlrpoll.errors import ParseError
from dlrpoll.receipts import BUILTIN_PROFILES, build_profiles, parse_payload
from dlrpoll.receipts.anydate import any_date, iso_date
from dlrpoll.receipts.dates import digit_date, smpp_date
from tests.receipts.conftest import fixture_lines

SMPP = BUILTIN_PROFILES["smpp"]
PLUS1 = timezone(timedelta(hours=1))


def receipts(name: str) -> dict[str, tuple[datetime | None, datetime | None]]:
    out = {}
    for line in fixture_lines(name):
        [r] = parse_payload(line, "text", SMPP, UTC)
        out[r.message_id] = (r.submitted_at, r.done_at)
    return out


def test_appendix_b_dates() -> None:
    assert receipts("dates_smpp.txt") == {
        # YYYYMMDDhhmmss
        "D1": (
            datetime(2024, 11, 5, 12, 0, tzinfo=UTC),
            datetime(2024, 11, 5, 12, 1, 30, tzinfo=UTC),
        ),
        # YYYYMMDDhhmmss and hundredths
        "D2": (
            datetime(2024, 11, 5, 12, 0, tzinfo=UTC),
            datetime(2024, 11, 5, 12, 1, 30, 250000, tzinfo=UTC),
        ),
        # 12 digits that are only valid as YYYYMMDDhhmm
        "D3": (datetime(2024, 11, 5, 12, 0, tzinfo=UTC), datetime(2024, 11, 5, 12, 1, tzinfo=UTC)),
        # 200105120000 is valid both ways: the SMPP reading wins; 241105120100 is SMPP only
        "D4": (datetime(2020, 1, 5, 12, 0, tzinfo=UTC), datetime(2024, 11, 5, 12, 1, tzinfo=UTC)),
        # empty and null: absent, on the fast path
        "D5": (None, None),
        # all zeros with separators: absent; ISO with a space
        "D6": (None, datetime(2024, 11, 5, 12, 1, 30, tzinfo=UTC)),
        "D7": (
            datetime(2024, 11, 5, 13, 0, tzinfo=PLUS1),
            datetime(2024, 11, 5, 12, 1, 30, tzinfo=UTC),
        ),
        "D8": (None, None),
        "D9": (
            datetime(2024, 11, 5, 12, 0, tzinfo=PLUS1),
            datetime(2024, 11, 5, 12, 1, tzinfo=UTC),
        ),
    }


def test_key_value_dates() -> None:
    got = receipts("dates_keyvalue.txt")
    unix = datetime(2024, 11, 5, 9, 46, 40, tzinfo=UTC)
    assert got == {
        "K1": (None, unix),
        "K2": (None, unix + timedelta(milliseconds=123)),
        "K3": (None, datetime(2024, 11, 5, 10, 0, tzinfo=UTC)),
        "K4": (None, datetime(2024, 11, 5, 11, 0, 0, 123000, tzinfo=PLUS1)),
        "K5": (None, datetime(2024, 11, 5, 11, 0, tzinfo=PLUS1)),
        "K6": (None, datetime(2024, 11, 5, 10, 0, 5, tzinfo=UTC)),  # "+" as the separator
        "K7": (None, datetime(2024, 11, 5, 11, 0, 5, tzinfo=PLUS1)),  # "+01:00" became " 01:00"
        "K8": (None, datetime(2024, 11, 5, 10, 0, 5, 123456, tzinfo=UTC)),  # ns cut to µs
        "K9": (None, datetime(2024, 11, 5, 10, 0, 5, tzinfo=UTC)),
        "K10": (None, unix + timedelta(milliseconds=500)),
        "K11": (None, datetime(2024, 11, 5, 10, 0, tzinfo=UTC)),  # 2046 is no Unix time here
        "K12": (None, None),
        "K13": (
            datetime(2024, 11, 5, 9, 59, tzinfo=UTC),
            datetime(2024, 11, 5, 5, 0, 5, tzinfo=timezone(-timedelta(hours=5))),
        ),
        "K14": (datetime(2024, 11, 5, 9, 59, tzinfo=UTC), unix + timedelta(milliseconds=123)),
        "K15": (None, datetime(2024, 11, 5, 10, 0, tzinfo=UTC)),
    }
    assert all(d is None or d.tzinfo is not None for pair in got.values() for d in pair)


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (
            0,
            "done date '1701021530' reads two ways: YYMMDDhhmm 2017-01-02T15:30:00+00:00 or Unix "
            "time 2023-11-26T17:58:50+00:00; dlrpoll does not guess — set the profile's dates to "
            '"smpp" or "unix"',
        ),
        (
            1,
            "done date '1730800000' is not a valid date (month must be in 1..12) — it looks like "
            "Unix time 2024-11-05T09:46:40+00:00",
        ),
        (
            2,
            "done date '240102153045104' has 15 digits: an SMPP time YYMMDDhhmmsstnn ends in '+' "
            "or '-'; a '+' that arrived as a space",
        ),
        (3, "done date '2024-13-05T10:00:00Z' is not a valid date (month must be in 1..12)"),
        (4, "done date '05/11/2024 10:00' is not a date we can read; expected"),
    ],
)
def test_bad_dates_say_what_they_look_like(index: int, message: str) -> None:
    line = fixture_lines("dates_bad.txt")[index]
    with pytest.raises(ParseError) as info:
        parse_payload(line, "text", SMPP, UTC)
    assert str(info.value).startswith(message)
    assert "Appendix B" not in str(info.value) or line.startswith(b"id:")


def test_the_profile_says_how_to_read_digits() -> None:
    profiles = build_profiles({"u": {"dates": "unix"}, "s": {"dates": "smpp"}})
    line = fixture_lines("dates_bad.txt")[0]
    [r] = parse_payload(line, "text", profiles["u"], UTC)
    assert r.done_at == datetime(2023, 11, 26, 17, 58, 50, tzinfo=UTC)
    [r] = parse_payload(line, "text", profiles["s"], UTC)
    assert r.done_at == datetime(2017, 1, 2, 15, 30, tzinfo=UTC)
    # never Unix: a value only a Unix time can be is an error, not a guess
    with pytest.raises(ParseError, match="not a valid date"):
        parse_payload(
            b"messageId=1&status=delivered&doneDate=1730800000", "text", profiles["s"], UTC
        )
    # kannel's %T is Unix seconds, whatever SMPP could read in it
    [r] = parse_payload(b"smsid=1&status=1&ts=1701021530", "text", BUILTIN_PROFILES["kannel"], UTC)
    assert r.done_at == datetime(2023, 11, 26, 17, 58, 50, tzinfo=UTC)


def test_a_bad_dates_setting_is_a_profile_problem() -> None:
    from dlrpoll.errors import ProfileError

    with pytest.raises(ProfileError) as info:
        build_profiles({"a": {"dates": "epoch"}})
    assert info.value.problems == [
        "profiles.a.dates: 'epoch' is not a way to read dates; use 'auto', 'smpp', 'unix', "
        'or a format per field like { done_at = "epoch" }'
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20241105120000", datetime(2024, 11, 5, 12, tzinfo=UTC)),
        ("2024110512000099", datetime(2024, 11, 5, 12, 0, 0, 990000, tzinfo=UTC)),
        ("202411051200", datetime(2024, 11, 5, 12, tzinfo=UTC)),
        ("241105120000", datetime(2024, 11, 5, 12, tzinfo=UTC)),
        ("null", None),
        ("", None),
        ("0000-00-00 00:00:00", None),
        ("2024-11-05T12:00:00 00:00", datetime(2024, 11, 5, 12, tzinfo=UTC)),
    ],
)
def test_smpp_date_reads_every_appendix_b_form(value: str, expected: datetime | None) -> None:
    for _ in range(2):  # again, with the minute cached
        assert smpp_date(value, UTC) == expected


@pytest.mark.parametrize(
    "value",
    ["19691231235959", "21000101000000", "20241305120000", "2024110512000", "1730800000123"],
)
def test_digit_dates_out_of_range_or_width(value: str) -> None:
    with pytest.raises(ParseError):
        digit_date(value, UTC, "date", unix=False)


def test_unix_window_and_forced_unix() -> None:
    # inside 2001-09-09 .. 2038-01-19 a 10-digit value may be Unix time
    assert any_date("1000000000", UTC) == datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)
    assert any_date("2147483647", UTC) == datetime(2038, 1, 19, 3, 14, 7, tzinfo=UTC)
    # beyond it, only the SMPP reading is left
    assert any_date("2401021530", UTC) == datetime(2024, 1, 2, 15, 30, tzinfo=UTC)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert any_date("2401021530", UTC, unix=True) == epoch + timedelta(seconds=2401021530)
    with pytest.raises(ParseError, match="not a Unix time"):
        digit_date("12ab", UTC, "date", unix=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-11-05T10:00:00Z", datetime(2024, 11, 5, 10, tzinfo=UTC)),
        (
            "2024-11-05T10:00:00.5+02:00",
            datetime(2024, 11, 5, 10, 0, 0, 500000, timezone(timedelta(hours=2))),
        ),
        (
            "2024-11-05T10:00:00-0130",
            datetime(2024, 11, 5, 10, tzinfo=timezone(-timedelta(hours=1, minutes=30))),
        ),
        ("2024-11-05T10:00+01", datetime(2024, 11, 5, 10, tzinfo=PLUS1)),
        ("2024-11-05 10:00:05", datetime(2024, 11, 5, 10, 0, 5, tzinfo=UTC)),
        ("2024/11/05 10:00:05 UTC", datetime(2024, 11, 5, 10, 0, 5, tzinfo=UTC)),
        ("20241105T100005Z", datetime(2024, 11, 5, 10, 0, 5, tzinfo=UTC)),
        ("2024-11-05", datetime(2024, 11, 5, tzinfo=UTC)),
        ("2024-11-05T10:00:05 0100", datetime(2024, 11, 5, 10, 0, 5, tzinfo=PLUS1)),
        ("20241105", None),  # digits: digit_date's, not ISO's
        ("05.11.2024", None),
    ],
)
def test_iso_forms(text: str, expected: datetime | None) -> None:
    assert iso_date(text, UTC, "date") == expected

"""match_id rules: the id in the form the site's sending application stores."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlrpoll.errors import ParseError
from dlrpoll.receipts.matchid import RULES, MatchRule, match_rule


def rule(spec: object) -> MatchRule:
    problems: list[str] = []
    got = match_rule(spec, "profiles.acme.match_id", problems)
    assert got is not None, problems
    return got


@pytest.mark.parametrize(
    ("spec", "message_id", "expected"),
    [
        ("verbatim", "0A1b-00", "0A1b-00"),
        ("lower", "0A1B2C3D", "0a1b2c3d"),
        ("upper", "ab-12cd", "AB-12CD"),
        ("strip-leading-zeros", "000123", "123"),
        ("strip-leading-zeros", "000", "0"),
        ("strip-leading-zeros", "A00", "A00"),
        ("decimal-to-hex", "169552957", "a1b2c3d"),
        ({"rule": "decimal-to-hex", "case": "upper"}, "169552957", "A1B2C3D"),
        ({"rule": "decimal-to-hex", "case": "upper", "width": 8}, "169552957", "0A1B2C3D"),
        ("hex-to-decimal", "0A1B2C3D", "169552957"),
        ("hex-to-decimal", "0x0a1b2c3d", "169552957"),
        ({"rule": "hex-to-decimal", "width": 12}, "a1b2c3d", "000169552957"),
        # a 64-bit id, beyond what a float would keep exact
        ("hex-to-decimal", "FFFFFFFFFFFFFFFF", "18446744073709551615"),
        ("decimal-to-hex", "18446744073709551615", "ffffffffffffffff"),
    ],
)
def test_rules(spec: object, message_id: str, expected: str) -> None:
    assert rule(spec).apply(message_id) == expected


@pytest.mark.parametrize(
    ("spec", "message_id"),
    [
        ("decimal-to-hex", "AB-12"),
        ("decimal-to-hex", "12.5"),
        ("decimal-to-hex", "١٢٣"),  # Arabic-Indic digits are digits to str.isdigit, not to us
        ("hex-to-decimal", "0x"),
        ("hex-to-decimal", "12G4"),
        ("hex-to-decimal", "1" * 65),
    ],
)
def test_a_rule_that_cannot_apply_rejects_the_receipt(spec: str, message_id: str) -> None:
    with pytest.raises(ParseError, match=f"match_id rule '{spec}'"):
        rule(spec).apply(message_id)


@given(st.integers(min_value=0, max_value=2**128))
def test_hex_and_decimal_round_trip(n: int) -> None:
    to_hex = rule({"rule": "decimal-to-hex", "case": "upper"})
    to_dec = rule("hex-to-decimal")
    assert to_dec.apply(to_hex.apply(str(n))) == str(n)
    assert int(to_hex.apply(str(n)), 16) == n


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("reverse", "profiles.acme.match_id: 'reverse' is not a match_id rule; use one of"),
        ({"case": "upper"}, "profiles.acme.match_id.rule: is required"),
        ({"rule": "lower", "width": 4}, "profiles.acme.match_id.width: only decimal-to-hex"),
        ({"rule": "decimal-to-hex", "case": "title"}, "profiles.acme.match_id.case: 'title'"),
        ({"rule": "hex-to-decimal", "case": "upper"}, "profiles.acme.match_id.case: only"),
        ({"rule": "decimal-to-hex", "width": -1}, "profiles.acme.match_id.width: must be"),
        ({"rule": "decimal-to-hex", "pad": 2}, "profiles.acme.match_id.pad: is not a known"),
        (3, "profiles.acme.match_id: must be a rule name or a table"),
    ],
)
def test_bad_rules_are_reported_by_key_path(spec: object, problem: str) -> None:
    problems: list[str] = []
    assert match_rule(spec, "profiles.acme.match_id", problems) is None
    assert any(p.startswith(problem) for p in problems), problems


def test_every_rule_writes_back_as_it_was_given() -> None:
    for name in RULES:
        assert rule(name).spec() == name
    spec = {"rule": "decimal-to-hex", "case": "upper", "width": 16}
    assert rule(spec).spec() == spec

"""Key/value shapes as providers send them: request lines, brackets, encodings, '+'."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dlrpoll.errors import ParseError
from dlrpoll.receipts import BUILTIN_PROFILES, Receipt, State, parse_payload
from dlrpoll.receipts.keyvalue import query_pairs
from tests.receipts.conftest import fixture_bytes, fixture_lines

SMPP = BUILTIN_PROFILES["smpp"]


def by_id(name: str, profile=SMPP) -> dict[str, Receipt]:  # type: ignore[no-untyped-def]
    out = {}
    for line in fixture_lines(name):
        [r] = parse_payload(line, "text", profile, UTC)
        out[r.message_id] = r
    return out


def test_query_shapes() -> None:
    got = by_id("keyvalue_shapes.txt")
    assert list(got) == ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7"]
    assert {k: (r.state, r.dst_addr) for k, r in got.items()} == {
        "Q1": (State.DELIVERED, "+447700900111"),  # GET … HTTP/1.1 in front
        "Q2": (State.DELIVERED, None),  # a space after "?"
        "Q3": (State.DELIVERED, "+447700900333"),  # receiver[number]
        "Q4": (State.DELIVERED, "+447700900444"),  # dr-msg; the query's "to" fills in
        "Q5": (State.DELIVERED, None),
        "Q6": (State.DELIVERED, "+447700900666"),  # an unencoded E.164 keeps its "+"
        "Q7": (State.DELIVERED, "+447700900777"),  # to[0], and an empty to[1]
    }
    # empty values are absent, not ""
    assert (got["Q5"].error_code, got["Q5"].done_at, got["Q5"].src_addr) == (None, None, None)
    # a "+" elsewhere in a form value is a space
    assert got["Q6"].src_addr == "ACME Ltd"


def test_kannel_dr_msg_holding_appendix_b_encoded_twice() -> None:
    line = fixture_lines("keyvalue_shapes.txt")[3]
    for profile in (SMPP, BUILTIN_PROFILES["kannel"]):
        [r] = parse_payload(line, "text", profile, UTC)
        assert r == Receipt(
            message_id="Q4",
            state=State.DELIVERED,
            final=True,
            provider_status="DELIVRD",
            format="query+smpp",
            error_code="000",
            submitted_at=datetime(2024, 11, 5, 12, 0, tzinfo=UTC),
            done_at=datetime(2024, 11, 5, 12, 2, tzinfo=UTC),
            sub=1,
            dlvrd=1,
            dst_addr="+447700900444",
            text="",
        )


def test_http_request_bodies() -> None:
    [form] = parse_payload(fixture_bytes("http_post_form.txt"), "text", SMPP, UTC)
    assert (form.message_id, form.state, form.dst_addr, form.format) == (
        "Q8",
        State.DELIVERED,
        "+447700900888",
        "query",
    )
    [js] = parse_payload(fixture_bytes("http_post_json.txt"), "text", SMPP, UTC)
    assert (js.message_id, js.state, js.error_code, js.format) == (
        "Q9",
        State.UNDELIVERABLE,
        "EC34",
        "json",
    )


def test_bracket_keys_nest() -> None:
    pairs = query_pairs("/dlr?msgid=1&price[amount]=0.01&price[currency]=EUR&to[]=a&to[]=b")
    assert pairs == [
        ("msgid", "1"),
        ("price[amount]", "0.01"),
        ("price[currency]", "EUR"),
        ("to[]", "a"),
        ("to[]", "b"),
    ]
    with pytest.raises(ParseError, match=r"to holds 2 values here; .* as to\[0\]"):
        parse_payload(b"msgid=1&status=delivered&to[]=a&to[]=b", "text", SMPP, UTC)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("to=+447700900555", "+447700900555"),
        ("to=%2B447700900555", "+447700900555"),
        ("to=%252B447700900555", "+447700900555"),  # encoded twice
        ("to=+44+7700+900555", " 44 7700 900555"),  # not one E.164 number: form spaces
        ("text=Hello+World%21", "Hello World!"),
    ],
)
def test_plus_in_form_values(raw: str, value: str) -> None:
    assert query_pairs("msgid=1&" + raw)[1][1] == value


def test_url_input_is_not_answered_with_appendix_b_advice() -> None:
    for raw in (b"https://example.net/dlr? msgid=9", b"GET /dlr?msgid=9 HTTP/1.1"):
        with pytest.raises(ParseError) as info:
            parse_payload(raw, "text", SMPP, UTC)
        assert "id:…" not in str(info.value) and "Appendix B" not in str(info.value)
        assert str(info.value).startswith("no status field (looked for ")
        assert "it has msgid" in str(info.value)
    with pytest.raises(ParseError) as info:  # forced through the SMPP parser: says what it is
        parse_payload(b"https://example.net/dlr?msgid=9&status=DELIVRD", "smpp", SMPP, UTC)
    assert "this is a URL or query string" in str(info.value)

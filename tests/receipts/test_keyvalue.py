"""Key/value receipts: Ginota's sample URL, Kannel, lines, JSON, XML; profiles' statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dlrpoll.errors import ParseError
from dlrpoll.receipts import BUILTIN_PROFILES, State, build_profiles, parse_payload
from tests.receipts.conftest import fixture_bytes, fixture_lines

P = BUILTIN_PROFILES


def test_ginota_sample_and_codes() -> None:
    got = [
        parse_payload(line, "text", P["ginota"], UTC)[0]
        for line in fixture_lines("ginota_sample.txt")
    ]
    first = got[0]
    assert (first.message_id, first.state, first.final, first.provider_status) == (
        "18D64EC1EADD",
        State.DELIVERED,
        True,
        "0",
    )
    assert (first.dst_addr, first.src_addr, first.text) == ("60123456789", "MyCampany", "Delivered")
    accepted = got[1]  # "4 Accepted" is accepted by the operator: intermediate
    assert (accepted.state, accepted.final, accepted.client_ref) == (
        State.ACCEPTED,
        False,
        "order-0042",
    )
    assert [r.state for r in got[2:]] == [
        State.UNDELIVERABLE,
        State.EXPIRED,
        State.REJECTED,
        State.UNKNOWN,
    ]
    assert got[3].src_addr == "My Campany"  # a value percent-encoded twice
    assert got[4].message_id == "18D64EC1EAE1"  # the whole query percent-encoded


def test_bare_number_is_never_guessed() -> None:
    with pytest.raises(ParseError, match="unknown status '0'"):
        parse_payload(b"messageId=1&deliveryStatus=0", "text", P["smpp"], UTC)


def test_ginota_unknown_code() -> None:
    with pytest.raises(ParseError, match="unknown status '2'"):
        parse_payload(b"messageId=1&deliveryStatus=2", "text", P["ginota"], UTC)


def test_kannel_codes_and_epoch_dates() -> None:
    got = [parse_payload(line, "text", P["kannel"], UTC)[0] for line in fixture_lines("kannel.txt")]
    assert [(r.message_id, r.state, r.final) for r in got] == [
        ("K1", State.DELIVERED, True),
        ("K2", State.UNDELIVERABLE, True),
        ("K3", State.ACCEPTED, False),
        ("K4", State.REJECTED, True),
        ("K5", State.ENROUTE, False),
    ]
    assert got[0].done_at == datetime(2024, 1, 2, 15, 30, tzinfo=UTC)
    assert got[0].dst_addr == "+4917000"


def test_upside_status_words() -> None:
    got = [
        parse_payload(line, "text", P["upside"], UTC)[0]
        for line in fixture_lines("upside_status.txt")
    ]
    final = {r.provider_status: r.final for r in got}
    assert final == {
        "DELIVRD": True,
        "ERROR": True,
        "FAILED": True,
        "REJECTD": True,
        "UNIDNTFY": True,
        "UNKNOWN": True,
        "SENT": False,
        "UNDELIV": False,  # keep trying: not final for this provider, unlike SMPP
        "UNDETRM": False,
    }
    assert {r.provider_status: r.error_code for r in got}["UNDETRM"] == "007"


def test_lines_json_xml() -> None:
    [lines] = parse_payload(fixture_bytes("keyvalue_lines.txt"), "text", P["smpp"], UTC)
    assert (lines.message_id, lines.state, lines.error_code, lines.dst_addr, lines.src_addr) == (
        "KV-0001",
        State.DELIVERED,
        "000",
        "+15551234567",
        "ACME",
    )
    assert lines.done_at == datetime(2024, 1, 2, 15, 31, tzinfo=UTC)
    [js] = parse_payload(fixture_bytes("keyvalue.json"), "text", P["smpp"], UTC)
    assert (js.message_id, js.sub, js.dlvrd, js.format) == ("J-001", 1, 1, "json")
    xml = parse_payload(fixture_bytes("keyvalue.xml"), "text", P["smpp"], UTC)
    assert [(r.message_id, r.state, r.error_code) for r in xml] == [
        ("X-001", State.UNDELIVERABLE, "0B1"),
        ("X-002", State.EXPIRED, None),
    ]
    assert xml[1].done_at == datetime(2024, 1, 2, 15, 31, tzinfo=timezone(timedelta(hours=2)))


def test_xml_with_entities_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x><id>&a;</id></x>'
    with pytest.raises(ParseError, match="DTD"):
        parse_payload(bomb, "text", P["smpp"], UTC)


def test_user_profile_exactly_as_in_the_issue() -> None:
    profiles = build_profiles(
        {
            "acme": {
                "format": "keyvalue",
                "fields": {
                    "message_id": "MsgId",
                    "status": "Status",
                    "error_code": "Err",
                    "done_at": "DoneDate",
                    "dst_addr": "To",
                },
                "states": {
                    "3": "DELIVERED",
                    "1": "ENROUTE",
                    "9": {"state": "UNDELIVERABLE", "final": False},
                },
            }
        }
    )
    acme = profiles["acme"]
    assert set(profiles) >= {"smpp", "ginota", "kannel", "upside", "acme"}
    [r] = parse_payload(
        b"msgid=0007&STATUS=9&err=00B&donedate=2401021530&to=555", "text", acme, UTC
    )
    assert (r.message_id, r.state, r.final, r.error_code, r.dst_addr) == (
        "0007",
        State.UNDELIVERABLE,
        False,
        "00B",
        "555",
    )
    [r] = parse_payload(b"MsgId: 8\nStatus: 3\n", "text", acme, UTC)
    assert (r.state, r.final) == (State.DELIVERED, True)
    [r] = parse_payload(b"MsgId=9&Status=1", "text", acme, UTC)
    assert (r.state, r.final) == (State.ENROUTE, False)
    with pytest.raises(ParseError, match="no MsgId field"):
        parse_payload(b"id=9&Status=1", "text", acme, UTC)
    with pytest.raises(
        ParseError, match=r"unknown status 'Borked' — add it to profiles.acme.states"
    ):
        parse_payload(b"MsgId=9&Status=Borked", "text", acme, UTC)


def test_self_naming_words_without_a_profile_table() -> None:
    for word, state in [
        ("delivered", State.DELIVERED),
        ("failed", State.UNDELIVERABLE),
        ("Expired", State.EXPIRED),
        ("en route", State.ENROUTE),
    ]:
        [r] = parse_payload(f"messageId=1&deliveryStatus={word}".encode(), "text", P["ginota"], UTC)
        assert r.state is state


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (
            {"states": {"9": {"state": "DELIVERD"}}},
            "profiles.acme.states.9.state: 'DELIVERD' is not a state; "
            "use one of SCHEDULED, ENROUTE",
        ),
        ({"states": {"9": "DELIVERD"}}, "profiles.acme.states.9: 'DELIVERD' is not a state"),
        (
            {"states": {"9": {"state": "DELIVERED", "final": "yes"}}},
            "profiles.acme.states.9.final: must be true or false",
        ),
        ({"fields": {"msgid": "X"}}, "profiles.acme.fields.msgid: not a receipt field"),
        ({"format": "csv"}, "profiles.acme.format: 'csv' is not a format"),
        ({"timezone": "Mars/Base"}, "profiles.acme.timezone: unknown time zone"),
    ],
)
def test_bad_profiles_name_the_key_path(spec: dict[str, object], problem: str) -> None:
    from dlrpoll.errors import ProfileError

    with pytest.raises(ProfileError) as info:
        build_profiles({"acme": spec})
    assert any(p.startswith(problem) for p in info.value.problems), info.value.problems

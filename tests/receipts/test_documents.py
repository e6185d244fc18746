"""Nested JSON and XML documents, and the tree paths profiles name their fields with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dlrpoll.errors import ParseError
from dlrpoll.receipts import BUILTIN_PROFILES, State, build_profiles, parse_payload
from dlrpoll.receipts.tree import from_json, from_pairs, parse_path, path_text, resolve
from tests.receipts.conftest import FIXTURES, fixture_bytes

SMPP = BUILTIN_PROFILES["smpp"]


def parse(name: str, profile=SMPP):  # type: ignore[no-untyped-def]
    return parse_payload(fixture_bytes(name), "text", profile, UTC)


def test_results_array_with_status_and_error_objects() -> None:
    got = parse("nested_results.json")
    assert [(r.message_id, r.state, r.final, r.provider_status, r.error_code) for r in got] == [
        ("N1", State.DELIVERED, True, "DELIVERED_TO_HANDSET", "0"),
        ("N2", State.ENROUTE, False, "PENDING", "0"),
        ("N3", State.UNDELIVERABLE, True, "UNDELIVERED", "27"),
    ]
    assert got[0].submitted_at == datetime(2024, 11, 5, 9, 59, 58, 120000, tzinfo=UTC)
    assert got[0].done_at == datetime(2024, 11, 5, 10, 0, tzinfo=UTC)
    assert got[1].done_at == datetime(2024, 11, 5, 10, 0, 3, 500000, tzinfo=UTC)
    assert [r.dst_addr for r in got] == ["447700900201", "447700900202", "447700900203"]


def test_data_payload_wrapper_and_a_list_of_one_recipient() -> None:
    [r] = parse("nested_data_payload.json")
    assert (r.message_id, r.state, r.dst_addr) == ("N4", State.DELIVERED, "+447700900204")
    assert r.done_at == datetime(2024, 11, 5, 10, 0, 5, tzinfo=UTC)  # "timestamp", Unix


def test_an_envelope_with_its_own_id_and_status_holds_the_reports() -> None:
    got = parse("nested_envelope.json")
    assert [(r.message_id, r.state, r.error_code, r.dst_addr) for r in got] == [
        ("N5", State.DELIVERED, "000", "+447700900205"),
        ("N6", State.EXPIRED, "001", "+447700900206"),
    ]


def test_a_top_level_array_and_address_objects() -> None:
    got = parse("nested_array.json")
    assert [(r.message_id, r.state, r.error_code, r.src_addr, r.dst_addr) for r in got] == [
        ("N7", State.UNDELIVERABLE, "EC1", "ACME", None),
        ("N8", State.DELIVERED, None, None, "+447700900208"),
    ]


def test_nested_xml_with_an_external_dtd_named() -> None:
    got = parse("nested.xml")
    assert [(r.message_id, r.state, r.provider_status, r.error_code, r.dst_addr) for r in got] == [
        ("X3", State.DELIVERED, "DELIVERED", None, "+447700900301"),
        ("X4", State.UNDELIVERABLE, "UNDELIVERABLE", "EC27", "+447700900302"),
    ]
    assert got[0].done_at == datetime(2024, 11, 5, 10, 0, tzinfo=UTC)
    [r] = parse("doctype_public.xml")
    assert (r.message_id, r.state, r.dst_addr) == ("X5", State.DELIVERED, "+447700900305")


def test_dtd_features_stay_refused() -> None:
    with pytest.raises(ParseError, match="internal DTD subset is refused"):
        parse("xml_internal_subset.xml")
    with pytest.raises(ParseError, match="refers to the entity &delivered;, which is never"):
        parse("xml_entity_ref.xml")
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x><id>&a;</id></x>'
    with pytest.raises(ParseError, match="DTD"):
        parse_payload(bomb, "text", SMPP, UTC)


def test_an_external_dtd_is_never_loaded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    dtd = tmp_path / "dlr.dtd"
    dtd.write_text('<!ENTITY st "DELIVRD"><!ATTLIST dlr status CDATA "DELIVRD">')
    doc = f'<!DOCTYPE dlr SYSTEM "{dtd.as_uri()}"><dlr id="1"/>'.encode()
    # were the DTD read, its default attribute would make this a DELIVERED receipt
    with pytest.raises(ParseError, match="no status field"):
        parse_payload(doc, "text", SMPP, UTC)


def test_a_status_object_without_a_known_inner_key_names_the_path() -> None:
    with pytest.raises(ParseError) as info:
        parse("status_object_unknown.json")
    assert str(info.value) == (
        "status is an object here (keys: groupId, groupName); name its inner key as "
        "status.groupName in the profile's fields "
        '([profiles.NAME] fields = { status = "status.groupName" })'
    )
    acme = build_profiles({"acme": {"fields": {"status": "status.groupName"}}})["acme"]
    [r] = parse("status_object_unknown.json", acme)
    assert (r.message_id, r.state, r.provider_status) == ("N9", State.DELIVERED, "DELIVERED")


def test_errors_inside_a_document_say_where() -> None:
    doc = (
        b'{"results":[{"messageId":"A","status":"delivered"},{"messageId":"B","status":"Borked"}]}'
    )
    with pytest.raises(ParseError, match=r"^results\[1\]: unknown status 'Borked'"):
        parse_payload(doc, "text", SMPP, UTC)
    with pytest.raises(ParseError, match="no receipt in this JSON document .top-level keys: a, b."):
        parse_payload(b'{"a": 1, "b": {"c": 2}}', "text", SMPP, UTC)
    with pytest.raises(ParseError, match=r"^no status field .*; it has messageId, result"):
        parse_payload(b'{"messageId":"A","result":{"code":1}}', "text", SMPP, UTC)


def test_profile_paths_with_indexes_and_brackets() -> None:
    acme = build_profiles(
        {
            "acme": {
                "fields": {
                    "message_id": "ids[1]",
                    "status": "report.state.code",
                    "dst_addr": "receiver[number]",
                }
            }
        }
    )["acme"]
    doc = b'{"ids":["x","M1"],"report":{"state":{"code":"delivered"}},"receiver":{"number":"+44"}}'
    [r] = parse_payload(doc, "text", acme, UTC)
    assert (r.message_id, r.state, r.dst_addr) == ("M1", State.DELIVERED, "+44")


def test_parse_path_and_resolve() -> None:
    assert parse_path("results[0].status.name") == ("results", 0, "status", "name")
    assert parse_path("receiver[number]") == ("receiver", "number")
    assert parse_path("to.0") == ("to", 0)
    assert parse_path("Message ID") == ("messageid",)
    for bad in ("", "a..b", "[]", "a]b"):
        with pytest.raises(ParseError):
            parse_path(bad)
    tree = from_json({"Results": [{"Status": {"Name": "X"}}], "to": ["+1"]})
    assert tree is not None
    assert resolve(tree, parse_path("results[0].status.name")) == "X"
    assert resolve(tree, parse_path("to[0]")) == "+1"
    assert resolve(tree, parse_path("to[1]")) is None
    assert resolve(tree, parse_path("results.status")) is None
    assert path_text(("results", 0, "status"), ["Results", "0", "Status"]) == "Results[0].Status"
    pairs = from_pairs(
        [("price[amount]", "1"), ("to[]", "a"), ("to[]", "b"), ("x", "1"), ("x[y]", "2")]
    )
    assert resolve(pairs, ("price", "amount")) == "1"
    assert resolve(pairs, ("to", 1)) == "b"
    assert resolve(pairs, ("x",)) == "1"  # the first value stays


def test_every_json_and_xml_fixture_reads_alike_as_str() -> None:
    for path in sorted(FIXTURES.glob("nested*")) + [FIXTURES / "doctype_public.xml"]:
        data = path.read_bytes()
        assert parse_payload(data.decode(), "keyvalue", SMPP, UTC) == parse_payload(
            data, "text", SMPP, UTC
        )


def test_timestamps_in_json_numbers() -> None:
    doc = b'{"id":"T1","status":"delivered","doneAt":1730800000.25,"submitted":1730799990}'
    [r] = parse_payload(doc, "text", SMPP, UTC)
    unix = datetime(2024, 11, 5, 9, 46, 40, tzinfo=UTC)
    assert (r.done_at, r.submitted_at) == (
        unix + timedelta(milliseconds=250),
        unix - timedelta(seconds=10),
    )

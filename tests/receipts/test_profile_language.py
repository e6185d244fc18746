"""The profile language users write in ``[profiles.NAME]``: paths, items, dates per field,
fallbacks, states with spaces and wildcards, match_id — and every mistake reported by key
path, in ``check-config`` too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.cli import main
from dlrpoll.errors import ParseError, ProfileError
from dlrpoll.receipts import State, build_profiles, parse_payload


def read(spec: dict[str, Any], text: str, tz: Any = UTC) -> list[Any]:
    profile = build_profiles({"acme": spec})["acme"]
    return parse_payload(text.encode("utf-8"), "text", profile, tz)


def problems(spec: dict[str, Any]) -> list[str]:
    with pytest.raises(ProfileError) as info:
        build_profiles({"acme": spec})
    return info.value.problems


# --- paths ---------------------------------------------------------------------------------


def test_dotted_keys_and_array_indexes_into_json() -> None:
    [r] = read(
        {
            "fields": {
                "message_id": "data.id",
                "status": "data.status.name",
                "dst_addr": "data.to[0].phone_number",
                "error_code": "data.errors[1].code",
            }
        },
        '{"data": {"id": "M1", "status": {"name": "delivered", "group": 3}, "to": '
        '[{"phone_number": "+447700900123"}, {"phone_number": "+447700900999"}], '
        '"errors": [{"code": "a"}, {"code": "b"}]}}',
    )
    assert (r.message_id, r.state, r.dst_addr, r.error_code) == (
        "M1",
        State.DELIVERED,
        "+447700900123",
        "b",
    )


def test_nested_xml_elements_and_attributes() -> None:
    [r] = read(
        {
            "fields": {
                "message_id": "MSG.REFERENCE",
                "status": "MSG.STATUS.CODE",
                "done_at": "MSG@RECEIVED",
                "dst_addr": "MSG@to",
            },
            "states": {"2": "DELIVERED"},
        },
        '<MESSAGES><MSG RECEIVED="2024-11-05T12:30:05Z" to="31612345678"><REFERENCE>r-1'
        "</REFERENCE><STATUS><CODE>2</CODE></STATUS></MSG></MESSAGES>",
    )
    assert (r.message_id, r.state, r.dst_addr) == ("r-1", State.DELIVERED, "31612345678")
    assert r.done_at == datetime(2024, 11, 5, 12, 30, 5, tzinfo=UTC)


def test_the_root_elements_name_as_the_status() -> None:
    spec = {
        "fields": {"message_id": "MessageId", "status": "#root"},
        "states": {"MessageDelivered": "DELIVERED", "MessageFailed": "UNDELIVERABLE"},
    }
    [ok] = read(spec, "<MessageDelivered><MessageId>m1</MessageId></MessageDelivered>")
    [bad] = read(
        spec, "<ns:MessageFailed xmlns:ns='urn:x'><MessageId>m2</MessageId></ns:MessageFailed>"
    )
    assert (ok.state, ok.provider_status) == (State.DELIVERED, "MessageDelivered")
    assert (bad.state, bad.provider_status) == (State.UNDELIVERABLE, "MessageFailed")


def test_a_json_document_has_no_root_name() -> None:
    with pytest.raises(ParseError, match="no #root field"):
        read({"fields": {"message_id": "id", "status": "#root"}}, '{"id": "1"}')


# --- items ---------------------------------------------------------------------------------


def test_items_each_become_a_receipt() -> None:
    spec = {"items": "reports", "fields": {"message_id": "ref", "status": "state"}}
    got = read(spec, '{"id": "batch-9", "state": "ok", "reports": [{"ref": "a", "state": '
                     '"delivered"}, {"ref": "b", "state": "failed"}]}')  # fmt: skip
    assert [(r.message_id, r.state) for r in got] == [
        ("a", State.DELIVERED),
        ("b", State.UNDELIVERABLE),
    ]


def test_a_document_without_the_items_place_is_one_report() -> None:
    spec = {"items": ["reports", "data.reports"], "fields": {"message_id": "ref"}}
    [r] = read(spec, '{"ref": "only", "status": "delivered"}')
    assert r.message_id == "only"
    got = read(spec, '{"data": {"reports": {"ref": "one", "status": "expired"}}}')
    assert [(r.message_id, r.state) for r in got] == [("one", State.EXPIRED)]


def test_a_top_level_list_is_its_items() -> None:
    got = read(
        {"items": "nowhere"}, '[{"id": "1", "status": "sent"}, {"id": "2", "status": "delivered"}]'
    )
    assert [r.message_id for r in got] == ["1", "2"]


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "value", "expected"),
    [
        ("smpp", "2411051230", datetime(2024, 11, 5, 12, 30, tzinfo=UTC)),
        ("smpp", "241105123005", datetime(2024, 11, 5, 12, 30, 5, tzinfo=UTC)),
        ("iso", "2024-11-05T12:30:05+01:00", datetime(2024, 11, 5, 11, 30, 5, tzinfo=UTC)),
        ("iso", "2024-11-05 12:30:05", datetime(2024, 11, 5, 12, 30, 5, tzinfo=UTC)),
        ("epoch", "1730800000", datetime(2024, 11, 5, 9, 46, 40, tzinfo=UTC)),
        ("epoch", "1730800000.250", datetime(2024, 11, 5, 9, 46, 40, 250000, tzinfo=UTC)),
        ("epoch-ms", "1730800000123", datetime(2024, 11, 5, 9, 46, 40, 123000, tzinfo=UTC)),
        ("%d/%m/%Y %H:%M", "05/11/2024 12:30", datetime(2024, 11, 5, 12, 30, tzinfo=UTC)),
        ("%d.%m.%y %H:%M %z", "05.11.24 12:30 %2B0200", datetime(2024, 11, 5, 10, 30, tzinfo=UTC)),
    ],
)
def test_a_date_format_per_field(fmt: str, value: str, expected: datetime) -> None:
    [r] = read({"dates": {"done_at": fmt}}, f"id=1&status=delivered&done={value}")
    assert r.done_at == expected


def test_a_2410011230_read_as_epoch_is_not_an_smpp_date() -> None:
    # 10 digits that are both YYMMDDhhmm and a Unix time: the profile's format decides
    [smpp] = read({"dates": {"done_at": "smpp"}}, "id=1&status=delivered&done=2410011230")
    [unix] = read({"dates": {"done_at": "epoch"}}, "id=1&status=delivered&done=2410011230")
    assert smpp.done_at == datetime(2024, 10, 1, 12, 30, tzinfo=UTC)
    assert unix.done_at == datetime.fromtimestamp(2410011230, UTC)


def test_the_profiles_timezone_applies_to_zoneless_formats_only() -> None:
    spec = {"dates": {"done_at": "%Y%m%d%H%M", "submitted_at": "epoch"}, "timezone": "Asia/Tokyo"}
    [r] = read(spec, "id=1&status=delivered&done=202411051230&submitted=1730800000")
    assert r.done_at == datetime(2024, 11, 5, 12, 30, tzinfo=timezone(timedelta(hours=9)))
    assert r.submitted_at == datetime(2024, 11, 5, 9, 46, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fmt", "value", "message"),
    [
        ("epoch", "1730800000123", "beyond the year 2100 as a Unix time — milliseconds?"),
        ("epoch", "2024-11-05", "is not a Unix time in seconds"),
        ("iso", "1730800000", "is not an ISO-8601 date"),
        ("smpp", "2024-11-05T10:00:00Z", "is not an SMPP date"),
        ("%d/%m/%Y", "2024-11-05", "does not match the profile's format '%d/%m/%Y'"),
    ],
)
def test_a_date_not_in_the_named_format_is_rejected_naming_it(
    fmt: str, value: str, message: str
) -> None:
    with pytest.raises(ParseError, match=message):
        read({"dates": {"done_at": fmt}}, f"id=1&status=delivered&done={value}")


def test_absent_dates_are_absent_in_every_format() -> None:
    for fmt in ("smpp", "iso", "epoch", "epoch-ms", "%Y"):
        [r] = read({"dates": {"done_at": fmt}}, "id=1&status=delivered&done=null")
        assert r.done_at is None


# --- fallbacks -----------------------------------------------------------------------------


def test_fallbacks_are_tried_in_order() -> None:
    spec = {"fields": {"message_id": ["MessageSid", "SmsSid"], "status": ["A", "B"]}}
    [first] = read(spec, "SmsSid=S2&MessageSid=S1&B=sent&A=delivered")
    [second] = read(spec, "SmsSid=S2&B=sent")
    assert (first.message_id, first.provider_status) == ("S1", "delivered")
    assert (second.message_id, second.provider_status) == ("S2", "sent")


def test_an_absent_value_falls_through_to_the_next_key() -> None:
    [r] = read({"fields": {"message_id": ["a", "b"]}}, "a=null&b=B1&status=delivered")
    assert r.message_id == "B1"


# --- states --------------------------------------------------------------------------------


def test_states_with_spaces_and_any_case() -> None:
    spec = {
        "format": "smpp",
        "states": {"delivered to carrier": {"state": "ENROUTE", "final": False}},
    }
    [r] = read(
        spec,
        "id:77001 sub:001 dlvrd:000 submit date:2411051200 done date:2411051202 "
        "stat:DELIVERED TO CARRIER err:003 text:",
    )
    assert (r.state, r.final, r.provider_status) == (State.ENROUTE, False, "DELIVERED TO CARRIER")
    [kv] = read(
        {"states": {"Keep Trying": {"state": "ENROUTE", "final": False}}},
        "id=1&status=kEEP%20tRYING",
    )
    assert (kv.state, kv.final) == (State.ENROUTE, False)


def test_wildcard_states_the_longest_prefix_and_exact_keys_win() -> None:
    spec = {
        "states": {
            "ERR_*": "REJECTED",
            "ERR_TEMP_*": {"state": "ENROUTE", "final": False},
            "ERR_TEMP_FINAL": "EXPIRED",
        }
    }
    got = {
        word: (r.state, r.final)
        for word in ("ERR_X", "err_temp_busy", "ERR_TEMP_FINAL")
        for r in read(spec, f"id=1&status={word}")
    }
    assert got == {
        "ERR_X": (State.REJECTED, True),
        "err_temp_busy": (State.ENROUTE, False),
        "ERR_TEMP_FINAL": (State.EXPIRED, True),
    }


# --- match_id ------------------------------------------------------------------------------


def test_match_id_in_key_value_and_appendix_b_receipts() -> None:
    hexed = {"match_id": {"rule": "decimal-to-hex", "case": "upper", "width": 8}}
    [kv] = read(hexed, "id=169552957&status=delivered")
    [smpp] = read({**hexed, "format": "smpp"}, "id:169552957 stat:DELIVRD err:000")
    assert (kv.message_id, kv.match_id) == ("169552957", "0A1B2C3D")
    assert (smpp.message_id, smpp.match_id) == ("169552957", "0A1B2C3D")
    [plain] = read({}, "id=00042&status=delivered")
    assert plain.match_id == "00042"


def test_a_match_id_rule_that_cannot_apply_rejects() -> None:
    with pytest.raises(ParseError, match="match_id rule 'hex-to-decimal'"):
        read({"match_id": "hex-to-decimal"}, "id=AB-12&status=delivered")


# --- mistakes, by key path -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"fields": {"status": "status..name"}}, "profiles.acme.fields.status: path"),
        ({"fields": {"status": ["ok", ""]}}, "profiles.acme.fields.status[1]: must name"),
        ({"fields": {"status": []}}, "profiles.acme.fields.status: an empty list"),
        ({"fields": {"colour": "c"}}, "profiles.acme.fields.colour: not a receipt field"),
        ({"items": "results[]"}, "profiles.acme.items: path"),
        ({"dates": {"done_at": "unixtime"}}, "profiles.acme.dates.done_at: 'unixtime' is not"),
        ({"dates": {"done_at": "%Y-%Q"}}, "profiles.acme.dates.done_at: '%Y-%Q' is not a strf"),
        ({"dates": {"sent": "iso"}}, "profiles.acme.dates.sent: not a date field"),
        ({"dates": "sometimes"}, "profiles.acme.dates: 'sometimes' is not a way"),
        ({"match_id": "reverse"}, "profiles.acme.match_id: 'reverse' is not a match_id rule"),
        ({"states": {"a b": "DELIVERD"}}, "profiles.acme.states.\"a b\": 'DELIVERD'"),
        ({"states": {"*": "DELIVERED"}}, 'profiles.acme.states."*": an empty status'),
        ({"embedded": [3]}, "profiles.acme.embedded[0]: must name"),
        ({"colour": "blue"}, "profiles.acme.colour: is not a known setting"),
    ],
)
def test_every_mistake_is_reported_by_key_path(spec: dict[str, Any], problem: str) -> None:
    got = problems(spec)
    assert any(p.startswith(problem) for p in got), got


def test_auto_cannot_be_defined() -> None:
    with pytest.raises(ProfileError, match="profiles.auto"):
        build_profiles({"auto": {}})


CONFIG = """\
[profiles.acme]
items = "results"
match_id = "{rule}"
[profiles.acme.fields]
status = "{path}"
[profiles.acme.dates]
done_at = "{date}"

[[sources]]
name = "box"
kind = "pop3"
host = "127.0.0.1"
username = "u"
password = {{ env = "DLRPOLL_TEST_LANG_PW" }}
profile = "acme"
"""


def test_check_config_lists_a_bad_path_date_format_and_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLRPOLL_TEST_LANG_PW", "pw")
    path = tmp_path / "dlrpoll.toml"
    path.write_text(CONFIG.format(rule="rot13", path="status[", date="epoch-us"))
    assert main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert any(
        line.startswith("Error: profiles.acme.fields.status: path 'status['") for line in err
    )
    assert any(line.startswith("Error: profiles.acme.dates.done_at: 'epoch-us'") for line in err)
    assert any(line.startswith("Error: profiles.acme.match_id: 'rot13'") for line in err)
    # the source's profile exists: only the profile's own settings are wrong
    assert not any("sources[0]" in line for line in err)
    path.write_text(CONFIG.format(rule="upper", path="status.name", date="%d/%m/%Y"))
    assert main(["check-config", "--config", str(path)]) == 0

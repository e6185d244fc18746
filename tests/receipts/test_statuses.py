"""Statuses: multi-word ones read whole, self-naming words, profile states with spaces."""

from __future__ import annotations

from datetime import UTC

import pytest

from dlrpoll.config import parse_settings
from dlrpoll.errors import ParseError, ProfileError
from dlrpoll.receipts import BUILTIN_PROFILES, State, build_profiles, parse_payload
from tests.receipts.conftest import fixture_lines

SMPP = BUILTIN_PROFILES["smpp"]


def test_status_words() -> None:
    got = {}
    for line in fixture_lines("statuses.txt"):
        [r] = parse_payload(line, "text", SMPP, UTC)
        got[r.message_id] = (r.provider_status, r.state, r.final)
    assert got == {
        "S1": ("DELIVERED TO CARRIER", State.ENROUTE, False),
        "S2": ("Delivered to Operator", State.ENROUTE, False),
        "S3": ("delivered_to_handset", State.DELIVERED, True),
        "S4": ("success", State.DELIVERED, True),
        "S5": ("delivery_failed", State.UNDELIVERABLE, True),
        "S6": ("UNDELIVERED", State.UNDELIVERABLE, True),
        "S7": ("Failed", State.UNDELIVERABLE, True),
        "S8": ("sent", State.ENROUTE, False),
        "S9": ("queued", State.ENROUTE, False),
        "S10": ("BUFFERED", State.ENROUTE, False),
        # the word "accepted" (by a gateway, an operator) is on its way; SMPP's ACCEPTD is final
        "S11": ("accepted", State.ACCEPTED, False),
        "S12": ("expired", State.EXPIRED, True),
        "S13": ("Rejected", State.REJECTED, True),
        "S14": ("DELIVERED_TO_HANDSET", State.DELIVERED, True),
        # the status ends at the next key, known (err:) or not (network:)
        "S15": ("EN ROUTE", State.ENROUTE, False),
        "S16": ("ACCEPTD", State.ACCEPTED, True),
    }


@pytest.mark.parametrize("word", ["2", "0", "007"])
def test_a_bare_number_is_still_never_guessed(word: str) -> None:
    with pytest.raises(ParseError, match=f"unknown status '{word}'"):
        parse_payload(f"id:1 stat:{word} err:0".encode(), "text", SMPP, UTC)


def test_unknown_multi_word_status_is_rejected_whole() -> None:
    with pytest.raises(ParseError, match="unknown status 'HANDED OVER TO PARTNER'"):
        parse_payload(b"id:1 stat:HANDED OVER TO PARTNER err:0 text:", "text", SMPP, UTC)


def test_case_variants_of_self_naming_words() -> None:
    for word in (
        "SUCCESS",
        "Success",
        "Delivery_Failed",
        "DELIVERY-FAILED",
        "Delivered To Handset",
    ):
        [r] = parse_payload(f"messageId=1&status={word}".encode(), "text", SMPP, UTC)
        assert r.provider_status == word and r.final


def test_profile_states_with_spaces_from_a_config_file() -> None:
    settings = parse_settings(
        {
            "profiles": {
                "acme": {
                    "format": "smpp",
                    "states": {
                        "DELIVERED TO CARRIER": {"state": "ENROUTE", "final": False},
                        "Handed Over": "ACCEPTED",
                    },
                }
            }
        }
    )
    profiles = build_profiles({n: p.model_dump() for n, p in settings.profiles.items()})
    line = fixture_lines("statuses.txt")[0]
    [r] = parse_payload(line, "text", profiles["acme"], UTC)
    assert (r.state, r.final, r.provider_status) == (State.ENROUTE, False, "DELIVERED TO CARRIER")
    [r] = parse_payload(b"id:2 stat:handed over err:0", "text", profiles["acme"], UTC)
    assert (r.state, r.final) == (State.ACCEPTED, True)


def test_a_state_with_spaces_is_named_by_its_quoted_key_path() -> None:
    with pytest.raises(ProfileError) as info:
        build_profiles({"acme": {"states": {"DELIVERED TO CARRIER": {"state": "ENRUTE"}}}})
    assert info.value.problems[0].startswith(
        "profiles.acme.states.\"DELIVERED TO CARRIER\".state: 'ENRUTE' is not a state"
    )

"""Config: sources must name a known profile; user profiles must build."""

from __future__ import annotations

import pytest

from dlrpoll.config import parse_settings
from dlrpoll.errors import ConfigError

POP3 = {
    "kind": "pop3",
    "name": "box",
    "host": "127.0.0.1",
    "username": "u",
    "password": {"env": "PW"},
}


def test_unknown_source_profile() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"sources": [{**POP3, "profile": "acm"}]})
    assert info.value.problems == [
        "sources[0].profile: unknown profile 'acm'; built-in: auto, smpp, ginota, kannel, "
        "upside, twilio, vonage, telnyx, plivo, messagebird, infobip, sinch, africastalking, "
        "clickatell, clicksend, esendex, bulksms, smsglobal, textmagic, cm, messente, jasmin; "
        "or define [profiles.acm]"
    ]


def test_user_profile_is_known_and_checked() -> None:
    settings = parse_settings(
        {
            "profiles": {"acme": {"states": {"3": "DELIVERED"}}},
            "sources": [{**POP3, "profile": "acme"}],
        }
    )
    assert settings.sources[0].profile == "acme"
    with pytest.raises(ConfigError) as info:
        parse_settings(
            {
                "profiles": {"acme": {"states": {"9": {"state": "DELIVERD"}}}},
                "sources": [{**POP3, "profile": "acme"}],
            }
        )
    assert info.value.problems[0].startswith(
        "profiles.acme.states.9.state: 'DELIVERD' is not a state"
    )
    assert len(info.value.problems) == 1  # the source's profile exists, only its table is wrong

"""The config is the edge where the profile language's problems become config problems:
the same words and key paths, raised as :class:`ConfigError` (exit 2), never as the
receipts layer's :class:`ProfileError`."""

from __future__ import annotations

from typing import Any

import pytest

from dlrpoll.config import LoadedConfig, Settings, configured_profiles, source_profile
from dlrpoll.errors import ConfigError, ProfileError
from dlrpoll.parsing import parser_for
from dlrpoll.receipts import build_profiles

POP3 = {"kind": "pop3", "name": "box", "host": "127.0.0.1", "username": "u", "password": "x"}
BAD = {"acme": {"states": {"9": {"state": "DELIVERD"}}, "dates": "epoch"}}


def settings(data: dict[str, Any]) -> Settings:
    # the model alone, without load's profile check: what reaches the other edges when a
    # caller builds settings itself
    return Settings.model_validate(data)


def test_a_bad_profile_is_a_config_error_with_the_profile_languages_problems() -> None:
    with pytest.raises(ProfileError) as receipts_said:
        build_profiles(BAD)
    with pytest.raises(ConfigError) as info:
        configured_profiles(settings({"profiles": BAD}))
    assert not isinstance(info.value, ProfileError)
    assert info.value.problems == receipts_said.value.problems
    assert info.value.problems == [
        "profiles.acme.dates: 'epoch' is not a way to read dates; use 'auto', 'smpp', "
        "'unix', or a format per field like { done_at = \"epoch\" }",
        "profiles.acme.states.9.state: 'DELIVERD' is not a state; use one of "
        + info.value.problems[1].split("use one of ", 1)[1],
    ]


def test_configured_profiles_add_the_users_to_the_built_ins() -> None:
    profiles = configured_profiles(settings({"profiles": {"acme": {"states": {"3": "DELIVERED"}}}}))
    assert "acme" in profiles and "smpp" in profiles
    assert not profiles["acme"].builtin


def test_a_source_naming_an_unknown_profile_is_a_config_error() -> None:
    config = settings({"sources": [{**POP3, "profile": "acm"}]})
    with pytest.raises(ConfigError, match=r"^unknown profile 'acm'; known: auto, smpp, ") as info:
        source_profile(configured_profiles(config), config.sources[0])
    assert not isinstance(info.value, ProfileError)
    loaded = LoadedConfig(settings=config, path=None, secrets={})
    with pytest.raises(ConfigError, match=r"or define \[profiles\.acm\] in the config$"):
        parser_for(loaded, config.sources[0])


def test_a_source_reads_with_the_profile_it_names() -> None:
    config = settings({"sources": [{**POP3, "profile": "kannel"}]})
    assert source_profile(configured_profiles(config), config.sources[0]).name == "kannel"

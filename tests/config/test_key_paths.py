"""One key-path style in every message: a source's table is ``sources[N]`` (0-based, its
position among the file's ``[[sources]]``), at load time (pydantic's location) and at run
time (the source knows its key path from the config; ``sources/`` never computes it)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dlrpoll.config import (
    ConfigError,
    ImapSourceConfig,
    LoadedConfig,
    Settings,
    SoapSourceConfig,
    load_config,
    parse_settings,
)
from dlrpoll.sources.oauth.signin import sign_in_for

POP3 = {"kind": "pop3", "host": "127.0.0.1", "username": "u", "password": "x"}
SOAP = {"kind": "soap", "wsdl": "inbox.wsdl"}


def three() -> Settings:
    return parse_settings(
        {"sources": [{**POP3, "name": "a"}, {**POP3, "name": "b"}, {**SOAP, "name": "upside"}]}
    )


def test_a_source_knows_the_key_path_load_time_messages_give_it() -> None:
    settings = three()
    assert [s.key_path for s in settings.sources] == ["sources[0]", "sources[1]", "sources[2]"]
    assert settings.sources[2].where("items") == "source 'upside': sources[2].items"
    assert settings.sources[2].where() == "source 'upside': sources[2]"
    # the same base as pydantic's location in a load-time message
    with pytest.raises(ConfigError) as info:
        parse_settings({"sources": [{**POP3, "name": "a"}, {**POP3, "name": "b"}, SOAP]})
    assert [p.split(":")[0] for p in info.value.problems] == ["sources[2].name"]


def test_a_copy_keeps_its_place_and_a_source_placed_again_is_copied() -> None:
    settings = three()
    soap = settings.sources[2]
    assert isinstance(soap, SoapSourceConfig)
    # the SOAP source resolves a relative WSDL path with model_copy
    assert soap.model_copy(update={"wsdl": "/abs.wsdl"}).key_path == "sources[2]"
    other = Settings(sources=[soap])
    assert other.sources[0].key_path == "sources[0]"
    assert soap.key_path == "sources[2]", "the first config's source was moved"


def test_settings_made_on_their_own_have_no_place() -> None:
    alone = SoapSourceConfig.model_validate({**SOAP, "name": "upside"})
    assert alone.where("items") == "source 'upside': sources[?].items"


def test_an_unresolved_secret_is_named_by_its_source_and_key_path() -> None:
    config = LoadedConfig(settings=three(), path=None, secrets={})
    with pytest.raises(ConfigError) as info:
        config.secret("b", "password")
    assert info.value.problems == [
        "source 'b': sources[1].password: this command did not resolve secrets"
    ]


def test_a_missing_token_library_is_named_by_the_source_and_key_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dlrpoll.toml"
    path.write_text(
        '[[sources]]\nname = "other"\nkind = "pop3"\nhost = "h"\nusername = "u"\n'
        'password = { env = "PW" }\n'
        '[[sources]]\nname = "m365-keypath"\nkind = "imap"\nhost = "h"\nusername = "u"\n'
        'after_store = "keep"\n'
        'auth = { mechanism = "xoauth2", token = { microsoft = { tenant = "t", '
        'client_id = "c", client_secret = { env = "SECRET" } } } }\n'
    )
    monkeypatch.setenv("PW", "pw")
    monkeypatch.setenv("SECRET", "s")
    monkeypatch.setitem(sys.modules, "msal", None)  # `import msal` fails as if not installed
    config = load_config(path)
    cfg = config.settings.sources[1]
    assert isinstance(cfg, ImapSourceConfig)
    with pytest.raises(ConfigError) as info:
        sign_in_for(config, cfg)
    assert info.value.problems == [
        "source 'm365-keypath': sources[1].auth.token.microsoft needs the msal library: "
        "pip install 'dlrpoll[msal]'"
    ]

"""Microsoft (msal) and Google (google-auth) token flows against a local HTTPS token endpoint
with a throwaway CA: tokens issued and used to sign in to Dovecot, refreshed shortly before
they expire, and a refused secret reported with the provider's reason and the fix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.config import GoogleToken, LoadedConfig, MicrosoftToken, Secret, parse_settings
from dlrpoll.errors import SourceAuthError, SourceConnectError
from dlrpoll.sources import RetryPolicy, make_source
from dlrpoll.sources.oauth import TokenCache
from dlrpoll.sources.oauth.google import GoogleTokenSource
from dlrpoll.sources.oauth.jwt import claims
from dlrpoll.sources.oauth.microsoft import MicrosoftTokenSource
from tests.support.dovecot import Dovecot, Mailbox
from tests.support.token_server import TENANT, TokenServer

NOW = 2_000_000_000.0


@pytest.fixture
def box(dovecot_imap: Dovecot) -> Mailbox:
    return dovecot_imap.mailbox()


@pytest.fixture(scope="module")
def token_server(dovecot_imap: Dovecot) -> Iterator[TokenServer]:
    endpoint = dovecot_imap.token_endpoint
    with TokenServer(on_issue=lambda user, token: endpoint.grant(user, token)) as server:
        yield server


@pytest.fixture
def tokens(token_server: TokenServer) -> TokenServer:
    """The token endpoint; every token it issues is one Dovecot accepts for its user."""
    token_server.reset()
    return token_server


def microsoft(tokens: TokenServer, **more: Any) -> MicrosoftToken:
    values = {
        "tenant": TENANT,
        "client_id": tokens.client_id,
        "client_secret": {"env": "UNUSED"},
        "authority_host": tokens.url,
        "ca_file": str(tokens.ca_file),
    } | more
    return MicrosoftToken.model_validate(values)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


# -- Microsoft ---------------------------------------------------------------------------
def test_microsoft_client_secret_gives_an_exchange_token(tokens: TokenServer) -> None:
    source = MicrosoftTokenSource("m365", microsoft(tokens), Secret(tokens.client_secret, "t"), 10)
    token = source.fetch(NOW)
    assert token.expires_at == NOW + 3600
    found = claims(token.value)
    assert found is not None and found.audience == ("https://outlook.office365.com",)
    [request] = tokens.token_requests()
    assert request["grant_type"] == "client_credentials"
    assert request["scope"] == "https://outlook.office365.com/.default"


def test_microsoft_refreshes_shortly_before_expiry(tokens: TokenServer) -> None:
    clock = Clock()
    source = MicrosoftTokenSource("m365", microsoft(tokens), Secret(tokens.client_secret, "t"), 10)
    cache = TokenCache(source, clock=clock)
    first, _ = cache.get()
    clock.now = NOW + 3600 - 301
    assert cache.get() == (first, False)
    assert len(tokens.token_requests()) == 1
    clock.now = NOW + 3600 - 299
    second, fresh = cache.get()
    assert fresh and second != first
    assert len(tokens.token_requests()) == 2


def test_microsoft_refused_secret_says_why_and_what_to_do(tokens: TokenServer) -> None:
    source = MicrosoftTokenSource("m365", microsoft(tokens), Secret("wrong", "env X"), 10)
    with pytest.raises(SourceAuthError) as info:
        source.fetch(NOW)
    text = str(info.value)
    assert "invalid_client" in text and "AADSTS7000215" in text
    assert "copy the secret's *value*" in text
    assert "wrong" not in text.replace("wrong:", "")  # the secret itself is never shown


def test_microsoft_certificate_credential(tokens: TokenServer) -> None:
    cfg = microsoft(tokens, client_secret=None, certificate={"file": "/unused.pem"})
    pem = tokens.client_key + tokens.client_cert
    token = MicrosoftTokenSource("m365", cfg, Secret(pem, "t"), 10).fetch(NOW)
    assert claims(token.value) is not None
    assert "client_assertion" in tokens.token_requests()[0]


def test_microsoft_unreachable_is_temporary(tokens: TokenServer) -> None:
    cfg = microsoft(tokens, authority_host="https://127.0.0.1:9")  # nothing listens there
    source = MicrosoftTokenSource("m365", cfg, Secret(tokens.client_secret, "t"), 5)
    with pytest.raises(SourceConnectError, match="cannot reach"):
        source.fetch(NOW)


@pytest.mark.parametrize("kind", ["imap", "pop3"])
def test_microsoft_token_signs_in_to_the_mailbox(
    tokens: TokenServer, box: Mailbox, kind: str
) -> None:
    tokens.mailbox = box.user
    token_cfg = microsoft(tokens).model_dump(mode="json", exclude_none=True)
    loaded = _config(box, kind, {"microsoft": token_cfg})
    loaded = LoadedConfig(
        loaded.settings,
        None,
        {
            ("mail", "auth", "token", "microsoft", "client_secret"): Secret(
                tokens.client_secret, "t"
            )
        },
    )
    _sign_in(loaded)
    # the JWT went to the server
    assert box.server.token_endpoint.requests[-1].token.count(".") == 2


# -- Google ------------------------------------------------------------------------------
def test_google_service_account_with_delegation(
    tokens: TokenServer, box: Mailbox, tmp_path: Path
) -> None:
    sa = tokens.service_account_file(tmp_path)
    loaded = _config(box, "imap", {"google": {"service_account_file": str(sa),
                                              "ca_file": str(tokens.ca_file)}})  # fmt: skip
    _sign_in(loaded)  # subject defaults to the source's username
    [request] = tokens.token_requests()
    assert request["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert box.server.token_endpoint.requests[-1].token.startswith("ya29.")


def test_google_refresh_token_flow_and_refresh(tokens: TokenServer) -> None:
    cfg = GoogleToken.model_validate(
        {"client_id": tokens.client_id, "client_secret": {"env": "A"}, "refresh_token":
         {"env": "B"}, "token_uri": f"{tokens.url}/token", "ca_file": str(tokens.ca_file)}
    )  # fmt: skip
    secrets = {
        "client_secret": Secret(tokens.client_secret, "t"),
        "refresh_token": Secret(tokens.refresh_token, "t"),
    }
    clock = Clock()
    source = GoogleTokenSource("gmail", cfg, subject="x", secrets=secrets, timeout=10)
    cache = TokenCache(source, clock=clock)
    first, _ = cache.get()
    assert first.value.startswith("ya29.")
    assert first.expires_at is not None and abs(first.expires_at - (NOW + 3600)) < 5
    clock.now = first.expires_at - 301
    assert cache.get()[1] is False
    clock.now = first.expires_at - 299
    assert cache.get()[1] is True
    assert [r["grant_type"] for r in tokens.token_requests()] == ["refresh_token"] * 2


def test_google_revoked_refresh_token(tokens: TokenServer) -> None:
    cfg = GoogleToken.model_validate(
        {"client_id": "c", "client_secret": {"env": "A"}, "refresh_token": {"env": "B"},
         "token_uri": f"{tokens.url}/token", "ca_file": str(tokens.ca_file)}
    )  # fmt: skip
    secrets = {
        "client_secret": Secret(tokens.client_secret, "t"),
        "refresh_token": Secret("1//revoked", "t"),
    }
    source = GoogleTokenSource("gmail", cfg, subject="x", secrets=secrets, timeout=10)
    with pytest.raises(SourceAuthError, match="invalid_grant.*revoked, expired"):
        source.fetch(NOW)


def test_google_bad_service_account_file(tmp_path: Path) -> None:
    bad = tmp_path / "sa.json"
    bad.write_text("{}")
    cfg = GoogleToken.model_validate({"service_account_file": str(bad)})
    with pytest.raises(SourceAuthError, match="cannot use service_account_file"):
        GoogleTokenSource("gmail", cfg, subject="x", secrets={}, timeout=10)


# -- helpers -----------------------------------------------------------------------------
def _config(box: Mailbox, kind: str, token: dict[str, Any]) -> LoadedConfig:
    server = box.server
    source: dict[str, Any] = {
        "name": "mail",
        "kind": kind,
        "host": "127.0.0.1",
        "port": server.imaps_port if kind == "imap" else server.ssl_port,
        "ca_file": str(server.ca_file),
        "username": box.user,
        "auth": {"mechanism": "xoauth2", "token": token},
    }
    if kind == "imap":
        source["after_store"] = "keep"
    return LoadedConfig(parse_settings({"sources": [source]}), None, {})


def _sign_in(loaded: LoadedConfig) -> None:
    cfg = loaded.settings.sources[0]
    with make_source(loaded, cfg, RetryPolicy(attempts=1)).open():
        pass

"""SASL messages and challenges, and reading a JWT's claims: pure functions."""

from __future__ import annotations

import base64
import json

import pytest

from dlrpoll.sources.oauth import challenge_answer, decode_challenge, oauthbearer, xoauth2
from dlrpoll.sources.oauth.jwt import claims, expiry
from tests.support.token_server import fake_jwt


def test_xoauth2_message() -> None:
    assert xoauth2("dlr@example.com", "TOKEN") == (
        b"user=dlr@example.com\x01auth=Bearer TOKEN\x01\x01"
    )


def test_oauthbearer_message_escapes_the_authzid() -> None:
    # RFC 7628 §3.1 with RFC 5801's saslname escaping of "=" and ","
    assert oauthbearer("a=b,c@example.com", "T", "imap.example.com", 993) == (
        b"n,a=a=3Db=2Cc@example.com,\x01host=imap.example.com\x01port=993\x01auth=Bearer T\x01\x01"
    )


@pytest.mark.parametrize("bad", ["tok\x01en", "tok\nen", "tok\ren"])
def test_a_separator_in_a_value_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        xoauth2("dlr", bad)
    with pytest.raises(ValueError, match="control character"):
        oauthbearer(bad, "t", "h", 1)


def test_challenge_answers() -> None:
    assert challenge_answer("xoauth2") == b""
    assert challenge_answer("oauthbearer") == b"\x01"


def test_decode_challenge_quotes_the_json() -> None:
    sent = b'{"status":"401","schemes":"bearer","scope":"mail"}'
    assert decode_challenge(base64.b64encode(sent)) == sent.decode()
    assert decode_challenge(b'{"status": "invalid_token"}', is_base64=False) == (
        '{"status":"invalid_token"}'
    )
    # not base64, not JSON, control characters: shown, never raised
    assert decode_challenge(b"not base64!") == "not base64!"
    assert decode_challenge(b"a\x00b", is_base64=False) == "a\\x00b"
    assert len(decode_challenge(base64.b64encode(b"x" * 5000))) < 500


def test_claims_of_a_jwt_and_of_an_opaque_token() -> None:
    token = fake_jwt(
        {"aud": "https://outlook.office365.com", "roles": ["IMAP.AccessAsApp"], "exp": 1900000000,
         "iss": "https://sts.windows.net/t/", "tid": "t", "appid": "app", "scp": "a b"}
    )  # fmt: skip
    found = claims(token)
    assert found is not None
    assert found.audience == ("https://outlook.office365.com",)
    assert found.roles == ("IMAP.AccessAsApp",)
    assert found.scopes == ("a", "b")
    assert (found.expires_at, found.tenant, found.app_id) == (1900000000.0, "t", "app")
    assert found.microsoft
    assert expiry(token) == 1900000000.0
    assert claims("ya29.opaque-google-token") is None
    assert claims("a.b.c") is None  # three parts, but no JSON
    assert claims("x." + base64.urlsafe_b64encode(json.dumps([1]).encode()).decode() + ".y") is None

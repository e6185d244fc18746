"""``check-config --connect``'s report for mail sources: capabilities, the mechanism used,
what a JWT access token says, and hints for the usual Microsoft 365 steps."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from dlrpoll.config import LoadedConfig, Secret, parse_settings
from dlrpoll.sources.oauth import AccessToken
from dlrpoll.sources.oauth.report import check_connection, token_lines
from tests.support.dovecot import Dovecot, Mailbox
from tests.support.token_server import TENANT, TokenServer, fake_jwt

NOW = 2_000_000_000.0
M365 = {"iss": f"https://sts.windows.net/{TENANT}/", "tid": TENANT, "appid": "app-1"}


def test_an_exchange_token_with_everything_needs_no_hint() -> None:
    token = fake_jwt(M365 | {"aud": "https://outlook.office365.com", "exp": NOW + 600,
                             "roles": ["IMAP.AccessAsApp"]})  # fmt: skip
    lines, hints = token_lines(AccessToken(token), "imap", NOW)
    text = "\n".join(lines)
    assert "audience: https://outlook.office365.com" in text
    assert "roles: IMAP.AccessAsApp" in text
    assert "(in 10 min)" in text
    assert hints == []
    assert token not in text


@pytest.mark.parametrize(
    ("claims", "protocol", "hint"),
    [
        ({"aud": "https://graph.microsoft.com", "roles": ["IMAP.AccessAsApp"]}, "imap",
         "not Exchange Online"),
        ({"aud": "https://outlook.office365.com", "roles": ["Mail.Read"]}, "imap",
         "application permission IMAP.AccessAsApp"),
        ({"aud": "https://outlook.office365.com", "roles": ["IMAP.AccessAsApp"]}, "pop3",
         "POP.AccessAsApp"),
        ({"aud": "https://outlook.office365.com", "scp": "Mail.Read"}, "imap",
         "IMAP.AccessAsUser.All"),
        ({"aud": "https://outlook.office365.com", "roles": ["IMAP.AccessAsApp"],
          "exp": NOW - 60}, "imap", "has expired"),
    ],
)  # fmt: skip
def test_a_missing_microsoft_step_gets_a_hint(
    claims: dict[str, Any], protocol: str, hint: str
) -> None:
    _, hints = token_lines(AccessToken(fake_jwt(M365 | claims)), protocol, NOW)
    assert any(hint in h for h in hints), hints


def test_an_opaque_token_is_said_to_be_opaque() -> None:
    lines, hints = token_lines(AccessToken("ya29.opaque"), "imap", NOW)
    assert "opaque" in lines[0] and hints == []


@pytest.fixture(scope="module")
def granting() -> dict[str, bool]:
    return {"on": True}


@pytest.fixture(scope="module")
def tokens(dovecot_imap: Dovecot, granting: dict[str, bool]) -> Iterator[TokenServer]:
    def issue(user: str, token: str) -> None:
        if granting["on"]:
            dovecot_imap.token_endpoint.grant(user, token)

    with TokenServer(on_issue=issue) as server:
        yield server


@pytest.fixture
def box(dovecot_imap: Dovecot, tokens: TokenServer, granting: dict[str, bool]) -> Mailbox:
    granting["on"] = True
    box = dovecot_imap.mailbox()
    tokens.mailbox = box.user
    return box


def config(box: Mailbox, kind: str, tokens: TokenServer | None, **more: Any) -> LoadedConfig:
    server = box.server
    source: dict[str, Any] = {
        "name": f"check-{kind}-{box.user}",
        "kind": kind,
        "host": "127.0.0.1",
        "port": server.imaps_port if kind == "imap" else server.ssl_port,
        "ca_file": str(server.ca_file),
        "username": box.user,
    }
    if kind == "imap":
        source |= {"after_store": "move", "move_to": "Done"}
    secrets = {}
    if tokens is None:
        source["password"] = {"env": "UNUSED"}
        secrets[(source["name"], "password")] = Secret(box.password, "t")
    else:
        source["auth"] = {"mechanism": "xoauth2", "token": {"microsoft": {
            "tenant": TENANT, "client_id": tokens.client_id, "client_secret": {"env": "UNUSED"},
            "authority_host": tokens.url, "ca_file": str(tokens.ca_file)}}}  # fmt: skip
        key = (source["name"], "auth", "token", "microsoft", "client_secret")
        secrets[key] = Secret(tokens.client_secret, "t")
    source |= more
    return LoadedConfig(parse_settings({"sources": [source]}), None, secrets)


def report_text(loaded: LoadedConfig) -> tuple[bool, str]:
    # the token endpoint issues tokens by the real clock
    report = check_connection(loaded, loaded.settings.sources[0], clock=time.time)
    assert report is not None
    return report.ok, "\n".join(report.text())


def test_imap_with_a_password(box: Mailbox) -> None:
    box.deliver([b"Subject: x\r\n\r\ny\r\n"])
    ok, text = report_text(config(box, "imap", None))
    assert ok, text
    assert "AUTH=XOAUTH2" in text and "MOVE" in text
    assert "signed in with: LOGIN" in text
    assert "folder 'INBOX': 1 message(s), UIDVALIDITY" in text
    assert 'after_store = "move": UID MOVE' in text
    assert box.count() == 1 and "Done" not in text.split("move_to")[0]


@pytest.mark.parametrize("kind", ["imap", "pop3"])
def test_microsoft_token_is_shown_decoded(box: Mailbox, tokens: TokenServer, kind: str) -> None:
    ok, text = report_text(config(box, kind, tokens))
    assert ok, text
    assert "signed in with: " + ("XOAUTH2" if kind == "imap" else "AUTH XOAUTH2 (two steps)") in (
        text
    )
    assert "audience: https://outlook.office365.com" in text
    assert "roles: IMAP.AccessAsApp, POP.AccessAsApp" in text
    assert "hint" not in text


def test_a_refused_good_looking_token_points_at_exchange_steps(
    box: Mailbox, tokens: TokenServer, granting: dict[str, bool]
) -> None:
    granting["on"] = False  # the server will not know the token: as Exchange without the SP
    ok, text = report_text(config(box, "imap", tokens))
    assert not ok
    assert "FAILED" in text and '{"status":"401"' in text
    assert "New-ServicePrincipal -AppId dlrpoll-app" in text
    assert f"Add-MailboxPermission -Identity {box.user}" in text


def test_a_token_without_the_role_gets_the_permission_hint(
    box: Mailbox, tokens: TokenServer
) -> None:
    tokens.roles = ["Mail.Read"]
    try:
        _, text = report_text(config(box, "imap", tokens))
    finally:
        tokens.roles = ["IMAP.AccessAsApp", "POP.AccessAsApp"]
    assert "application permission IMAP.AccessAsApp" in text


def test_soap_sources_are_not_mailboxes() -> None:
    loaded = LoadedConfig(
        parse_settings({"sources": [{"name": "s", "kind": "soap", "wsdl": "x.wsdl"}]}), None, {}
    )
    assert check_connection(loaded, loaded.settings.sources[0]) is None


def test_pop3_with_a_password(box: Mailbox) -> None:
    box.deliver([b"Subject: x\r\n\r\ny\r\n"])
    ok, text = report_text(config(box, "pop3", None))
    assert ok, text
    assert "SASL PLAIN XOAUTH2 OAUTHBEARER" in text
    assert "signed in with: USER/PASS" in text
    assert "mailbox: 1 message(s)" in text
    assert box.count() == 1  # nothing fetched or deleted


def test_check_config_connect_runs_the_imap_report(box: Mailbox) -> None:
    """``check-config --connect`` for an IMAP source goes through the same report: signed in,
    the folder counted, nothing moved."""
    from dlrpoll.checks import run_checks

    box.deliver([b"Subject: x\r\n\r\ny\r\n"])
    loaded = config(box, "imap", None)
    name = loaded.settings.sources[0].name
    checks = run_checks(loaded, connect=True)
    final = [c for c in checks if c.what.startswith(f"{name}: connect")]
    assert [c.ok for c in final] == [True], [c.line() for c in checks]
    assert box.count("INBOX") == 1 and box.count("Done") == 0

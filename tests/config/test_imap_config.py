"""``kind = "imap"`` and the ``auth`` table (imap and pop3): the issue's shapes parse as
written, every misuse is refused at its key path, token secrets are found and masked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dlrpoll.checks import describe_sources
from dlrpoll.config import ImapSourceConfig, Pop3SourceConfig, Secret, load_config
from dlrpoll.errors import ConfigError

ISSUE_EXAMPLE = """
[[sources]]
name = "dlr-m365"
kind = "imap"
host = "outlook.office365.com"
tls = "ssl"
username = "dlr@example.com"
auth = { mechanism = "xoauth2", token = { microsoft = { tenant = "t-1", client_id = "c-1", client_secret = { env = "DLRPOLL_M365_SECRET" } } } }
folder = "INBOX"
after_store = "move"
move_to = "Receipts/Done"
max_messages = 2000
max_size = "1MiB"
interval = "2m"
"""  # noqa: E501

AUTH_SHAPES = [
    'auth = { mechanism = "xoauth2", token = { command = ["/usr/local/bin/m365-token", "dlr"] } }',
    'auth = { mechanism = "oauthbearer", token = { file = "/run/dlrpoll/m365.token" } }',
    'auth = { mechanism = "xoauth2", token = { microsoft = { tenant = "…", client_id = "…", '
    'client_secret = { env = "DLRPOLL_M365_SECRET" } } } }',
    'auth = { mechanism = "xoauth2", token = { google = { service_account_file = "…", '
    'subject = "dlr@example.com" } } }',
]


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "dlrpoll.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def source(kind: str, *lines: str) -> str:
    extra = "\n".join(lines)
    more = 'after_store = "keep"\n' if kind == "imap" else ""
    return (
        f'[[sources]]\nname = "box"\nkind = "{kind}"\nhost = "mail.example.com"\n'
        f'username = "dlr@example.com"\n{more}{extra}\n'
    )


def test_the_issue_example_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLRPOLL_M365_SECRET", "s3cret")
    loaded = load_config(write(tmp_path, ISSUE_EXAMPLE))
    cfg = loaded.settings.sources[0]
    assert isinstance(cfg, ImapSourceConfig)
    assert (cfg.effective_port, cfg.after_store, cfg.move_to) == (993, "move", "Receipts/Done")
    assert cfg.auth is not None and cfg.auth.token.kind == "microsoft"
    secret = loaded.secret("dlr-m365", "auth", "token", "microsoft", "client_secret")
    assert secret == Secret("s3cret", "env DLRPOLL_M365_SECRET")
    lines = "\n".join(describe_sources(loaded))
    assert "s3cret" not in lines and "env:DLRPOLL_M365_SECRET" in lines


@pytest.mark.parametrize("kind", ["imap", "pop3"])
@pytest.mark.parametrize("shape", AUTH_SHAPES)
def test_the_issue_auth_shapes_parse_for_both_kinds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, shape: str
) -> None:
    monkeypatch.setenv("DLRPOLL_M365_SECRET", "s3cret")
    cfg = load_config(write(tmp_path, source(kind, shape))).settings.sources[0]
    assert isinstance(cfg, ImapSourceConfig | Pop3SourceConfig)
    assert cfg.auth is not None and cfg.password is None


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (['password = { env = "P" }', AUTH_SHAPES[0]], "sources[0]: give password"),
        ([], "sources[0]: give password"),
        (['auth = { mechanism = "plain", token = { file = "/t" } }'], "auth.mechanism"),
        (['auth = { mechanism = "xoauth2", token = { file = "/t", command = ["x"] } }'],
         "sources[0].auth.token: token is one of"),
        (['auth = { mechanism = "xoauth2", token = { } }'], "sources[0].auth.token: token is"),
        (['auth = { mechanism = "xoauth2", token = { microsoft = { tenant = "t", client_id = '
          '"c" } } }'], "auth.token.microsoft: give client_secret"),
        (['auth = { mechanism = "xoauth2", token = { google = { client_id = "c" } } }'],
         "auth.token.google: give service_account_file"),
    ],
)  # fmt: skip
def test_sign_in_misuse_is_refused_at_its_key_path(
    tmp_path: Path, lines: list[str], problem: str
) -> None:
    for kind in ("imap", "pop3"):
        with pytest.raises(ConfigError) as info:
            load_config(write(tmp_path, source(kind, *lines)), resolve_secrets=False)
        assert any(problem in p for p in info.value.problems), info.value.problems


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (['after_store = "move"'], 'after_store = "move" needs move_to'),
        (['after_store = "move"', 'move_to = "INBOX"'], "move_to must differ from folder"),
        (['move_to = "Done"'], 'move_to is only used with after_store = "move"'),
        (['tls = "none"'], "allow_plaintext"),
        (["fetch_batch = 0"], "fetch_batch"),
    ],
)
def test_imap_settings_are_checked(tmp_path: Path, lines: list[str], problem: str) -> None:
    text = source("imap", 'password = { env = "P" }', *lines).replace(
        'after_store = "keep"\n', "" if any("after_store" in ln for ln in lines) else
        'after_store = "keep"\n',
    )  # fmt: skip
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), resolve_secrets=False)
    assert problem in str(info.value)


def test_literal_token_secrets_need_an_owner_only_file(tmp_path: Path) -> None:
    line = (
        'auth = { mechanism = "xoauth2", token = { google = { client_id = "c", client_secret '
        '= "literal-secret", refresh_token = "1//literal-refresh" } } }'
    )
    with pytest.raises(ConfigError, match="readable by its owner alone") as info:
        load_config(write(tmp_path, source("imap", line), mode=0o644))
    assert "literal-secret" not in str(info.value)
    loaded = load_config(write(tmp_path, source("imap", line)))
    lines = "\n".join(describe_sources(loaded))
    assert "literal-secret" not in lines and "literal-refresh" not in lines

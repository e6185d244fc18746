"""Config: validation by key path, the two-minute floor, secrets and their masking."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dlrpoll.config import (
    Secret,
    format_duration,
    load_config,
    parse_duration,
    parse_size,
)
from dlrpoll.errors import ConfigError

POP3 = """
[[sources]]
name = "box"
kind = "pop3"
host = "127.0.0.1"
username = "dlr"
password = {{ env = "DLRPOLL_TEST_PW" }}
interval = "{interval}"
"""


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "dlrpoll.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(120, 120.0), ("90s", 90.0), ("2m", 120.0), ("1h30m", 5400.0), ("150", 150.0)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["soon", "2 minutes", "", True, "-5s"])
def test_bad_durations_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(bad)


def test_sizes() -> None:
    assert parse_size("1MiB") == 1048576
    assert parse_size("500KB") == 500_000
    assert parse_size(4096) == 4096
    with pytest.raises(ValueError, match="not a size"):
        parse_size("big")


def test_format_duration() -> None:
    assert format_duration(120) == "2m"
    assert format_duration(90) == "90s"


def test_interval_below_floor_names_the_key_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLRPOLL_TEST_PW", "x")
    text = POP3.format(interval="2m") + POP3.format(interval="90s").replace('"box"', '"box2"')
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert info.value.problems == ["sources[1].interval: 90s is below the provider minimum of 2m"]


def test_every_problem_is_listed(tmp_path: Path) -> None:
    text = """
[[sources]]
name = "box"
kind = "pop3"
username = "dlr"
password = { env = "X" }
interval = "1m"
colour = "blue"

[[sources]]
name = "inbox"
kind = "carrier-pigeon"
"""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    problems = "\n".join(info.value.problems)
    assert "sources[0].host: is required" in problems
    assert "sources[0].interval: 1m is below the provider minimum of 2m" in problems
    assert "sources[0].colour: is not a known setting" in problems
    assert "sources[1].kind: 'carrier-pigeon' is not a source kind" in problems


def test_missing_env_secret_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DLRPOLL_TEST_PW", raising=False)
    with pytest.raises(ConfigError, match=r"sources\[0\]\.password: environment variable"):
        load_config(write(tmp_path, POP3.format(interval="2m")))


def test_file_secret_is_read_and_masked(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret-value\n")
    (tmp_path / "pw").chmod(0o600)  # a secret: not world-readable
    text = POP3.format(interval="2m").replace('{ env = "DLRPOLL_TEST_PW" }', '{ file = "pw" }')
    loaded = load_config(write(tmp_path, text))
    secret = loaded.secret("box", "password")
    assert secret.reveal() == "s3cret-value"
    assert "s3cret" not in repr(secret) and "s3cret" not in str(loaded.settings)


def test_literal_secret_needs_an_owner_only_file(tmp_path: Path) -> None:
    text = POP3.format(interval="2m").replace('{ env = "DLRPOLL_TEST_PW" }', '"hunter2"')
    with pytest.raises(ConfigError, match="readable by its owner alone") as info:
        load_config(write(tmp_path, text, mode=0o644))
    assert "hunter2" not in str(info.value)
    loaded = load_config(write(tmp_path, text, mode=0o600))
    assert loaded.secret("box", "password") == Secret("hunter2", "literal")


def test_plaintext_needs_consent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLRPOLL_TEST_PW", "x")
    text = POP3.format(interval="2m") + 'tls = "none"\n'
    with pytest.raises(ConfigError, match="allow_plaintext"):
        load_config(write(tmp_path, text))
    loaded = load_config(write(tmp_path, text + "allow_plaintext = true\n"))
    src = loaded.settings.sources[0]
    assert src.kind == "pop3" and src.effective_port == 110


def test_config_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dlrpoll.config import default_config_path

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("DLRPOLL_CONFIG", raising=False)
    assert default_config_path() == tmp_path / "xdg" / "dlrpoll" / "config.toml"
    (tmp_path / "dlrpoll.toml").write_text("")
    assert default_config_path() == Path("dlrpoll.toml")
    monkeypatch.setenv("DLRPOLL_CONFIG", "/etc/x.toml")
    assert default_config_path() == Path("/etc/x.toml")
    assert default_config_path("given.toml") == Path("given.toml")


def test_database_path_is_relative_to_the_config(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, '[database]\npath = "data/dlr.sqlite"\n'))
    assert loaded.database_url == f"sqlite:///{tmp_path}/data/dlr.sqlite"


def test_unreadable_toml_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[[sources]\n"))
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")

"""``dlrpoll check-config``: every problem listed by key path, secrets resolved and masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlrpoll.cli import main

GOOD = """\
[database]
path = "dlr.sqlite"

[[sources]]
name = "box"
kind = "pop3"
host = "127.0.0.1"
username = "dlr"
password = { env = "DLRPOLL_TEST_CHECK_PW" }

[[sources]]
name = "upside"
kind = "soap"
wsdl = "sms.wsdl"
args = { token = { file = "token" }, signature = { env = "DLRPOLL_TEST_CHECK_SIG" }, max = 300 }
interval = "5m"
"""

BROKEN = """\
[[sources]]
name = "box"
kind = "pop3"
username = "dlr"
password = { env = "X" }
interval = "2m"

[[sources]]
name = "fast"
kind = "soap"
wsdl = "sms.wsdl"
interval = "90s"
colour = "blue"

[[sources]]
name = "odd"
kind = "ftp"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dlrpoll.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_error_is_listed_by_key_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check-config", "--config", str(write(tmp_path, BROKEN))])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert "Error: sources[0].host: is required" in err
    assert "Error: sources[1].interval: 90s is below the provider minimum of 2m" in err
    assert "Error: sources[1].colour: is not a known setting (check the spelling)" in err
    assert any(line.startswith("Error: sources[2].kind: ") for line in err)
    assert len(err) == 4


def test_missing_secrets_are_each_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DLRPOLL_TEST_CHECK_PW", raising=False)
    monkeypatch.delenv("DLRPOLL_TEST_CHECK_SIG", raising=False)
    code = main(["check-config", "--config", str(write(tmp_path, GOOD))])
    err = capsys.readouterr().err
    assert code == 2
    assert "sources[0].password: environment variable DLRPOLL_TEST_CHECK_PW is not set" in err
    assert "sources[1].args.token: cannot read secret file" in err
    assert "sources[1].args.signature: environment variable DLRPOLL_TEST_CHECK_SIG" in err


def test_a_good_config_prints_its_sources_with_secrets_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLRPOLL_TEST_CHECK_PW", "hunter2-pop3")
    monkeypatch.setenv("DLRPOLL_TEST_CHECK_SIG", "sig-s3cret")
    (tmp_path / "token").write_text("tok-s3cret\n", encoding="utf-8")
    code = main(["check-config", "--config", str(write(tmp_path, GOOD))])
    out = capsys.readouterr().out
    assert code == 0
    assert "[box] pop3, every 2m" in out and "[upside] soap, every 5m" in out
    assert "password = Secret(env DLRPOLL_TEST_CHECK_PW, ******)" in out
    assert "'max': 300" in out
    for secret in ("hunter2-pop3", "sig-s3cret", "tok-s3cret"):
        assert secret not in out
    assert out.rstrip().endswith("config OK")


def test_the_config_comes_from_the_environment_when_not_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "[database]\npath = 'x.sqlite'\n")
    monkeypatch.setenv("DLRPOLL_CONFIG", str(path))
    monkeypatch.chdir(tmp_path)
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert f"config: {path}" in out and "no sources configured" in out


def test_a_missing_config_file_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: no such config file" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "poll", "status", "check-config", "demo"])
def test_every_command_has_help_with_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"dlrpoll {command}" in out

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
    (tmp_path / "token").chmod(0o600)  # a secret: not world-readable
    code = main(["check-config", "--config", str(write(tmp_path, GOOD))])
    out = capsys.readouterr().out
    assert "[box] pop3, every 2m" in out and "[upside] soap, every 5m" in out
    # secrets as they are written (issue 16: env:NAME, file:PATH), never their values
    assert "password = <env:DLRPOLL_TEST_CHECK_PW>" in out
    assert "token = <file:token>" in out and "signature = <env:DLRPOLL_TEST_CHECK_SIG>" in out
    assert "max = 300" in out
    # durations and sizes as a person writes them
    assert "interval = 5m" in out and "max_size = 1 MiB" in out and "timeout = 30s" in out
    for secret in ("hunter2-pop3", "sig-s3cret", "tok-s3cret"):
        assert secret not in out
    # the WSDL is a file that does not exist: a poll would fail, so check-config says so
    assert "FAILED  upside: wsdl: sms.wsdl does not exist" in out
    assert code == 1


def test_the_config_comes_from_the_environment_when_not_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "[database]\npath = 'x.sqlite'\n")
    monkeypatch.setenv("DLRPOLL_CONFIG", str(path))
    monkeypatch.chdir(tmp_path)
    # zero sources would poll nothing: a failed check (exit 1), not "config OK"
    assert main(["check-config"]) == 1
    out = capsys.readouterr().out
    assert f"config: {path}" in out and "FAILED  sources: none configured" in out
    assert "config OK" not in out


def test_a_missing_config_file_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: no such config file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    ["run", "poll", "status", "check-config", "demo", "quarantine", "export", "reparse"],
)
def test_every_command_has_help_with_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"dlrpoll {command}" in out


def test_a_missing_secret_does_not_hide_the_other_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unset secret and a database directory that does not exist: both are reported in
    one run (the secret as a config error, exit 2; the directory as a FAILED check)."""
    monkeypatch.delenv("DLRPOLL_TEST_CHECK_PW", raising=False)
    text = GOOD.replace('path = "dlr.sqlite"', 'path = "no/such/dir/dlr.sqlite"')
    code = main(["check-config", "--config", str(write(tmp_path, text))])
    captured = capsys.readouterr()
    assert code == 2
    assert "sources[0].password: environment variable DLRPOLL_TEST_CHECK_PW is not set" in (
        captured.err
    )
    assert any(
        line.startswith("FAILED") and "no/such/dir" in line for line in captured.out.splitlines()
    ), captured.out

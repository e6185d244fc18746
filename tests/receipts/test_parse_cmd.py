"""``dlrpoll parse`` through ``dlrpoll.cli.main``: output lines and exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from dlrpoll.cli import main
from tests.receipts.conftest import FIXTURES

STANDARD = (
    "id:1 sub:001 dlvrd:001 submit date:2401021530 done date:2401021531 stat:DELIVRD err:000 text:"
)


def run(
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    stdin: bytes = b"",
) -> tuple[int, list[dict[str, object]], str]:
    monkeypatch.delenv("DLRPOLL_CONFIG", raising=False)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(["parse", *argv])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


@pytest.fixture(autouse=True)
def _no_local_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./dlrpoll.toml
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def test_stdin_lines_all_good(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["-"], capsys, monkeypatch, f"{STANDARD}\n\nid:2 stat:ENROUTE\n".encode())
    assert code == 0
    assert [(o["message_id"], o["state"], o["final"]) for o in out] == [
        ("1", "DELIVERED", True),
        ("2", "ENROUTE", False),
    ]
    assert out[0]["done_at"] == "2024-01-02T15:31:00+00:00"
    assert out[0]["error_code"] == "000"


def test_a_rejected_line_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run([], capsys, monkeypatch, f"{STANDARD}\nid:2 stat:Borked\n".encode())
    assert code == 1
    assert out[0]["message_id"] == "1"
    assert out[1]["error"].startswith("unknown status 'Borked'")
    assert out[1]["input"] == "id:2 stat:Borked"


def test_profile_and_files(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        ["--profile", "ginota", str(FIXTURES / "ginota_sample.txt")], capsys, monkeypatch
    )
    assert code == 0 and len(out) == 6
    assert out[1]["state"] == "ACCEPTED" and out[1]["final"] is False


def test_eml_paths_are_whole_emails(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        [str(FIXTURES / "several_receipts.eml"), str(FIXTURES / "not_a_receipt.eml")],
        capsys,
        monkeypatch,
    )
    assert code == 1
    assert [o.get("message_id") for o in out[:6]] == ["E4a", "E4b", "E4c", "E4d", "E4e", "E4f"]
    assert "no receipt in this e-mail" in str(out[6]["error"])


def test_whole_json(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(["--whole", str(FIXTURES / "keyvalue.json")], capsys, monkeypatch)
    assert code == 0 and out[0]["message_id"] == "J-001"


def test_format_smpp_forces_the_parser(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["--format", "smpp", "-"], capsys, monkeypatch, b"id=1&stat=DELIVRD\n")
    assert code == 1 and "no id: field" in str(out[0]["error"])


def test_profile_from_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[profiles.acme]\nformat = "keyvalue"\n'
        'fields = { message_id = "MsgId", status = "Status" }\n'
        'states = { "3" = "DELIVERED", "9" = { state = "UNDELIVERABLE", final = false } }\n'
        'timezone = "Europe/Paris"\n'
    )
    code, out, _ = run(
        ["--config", str(config), "--profile", "acme", "-"],
        capsys,
        monkeypatch,
        b"MsgId=5&Status=9&DoneDate=2407011200\n",
    )
    assert code == 0
    assert (out[0]["state"], out[0]["final"]) == ("UNDELIVERABLE", False)
    assert out[0]["done_at"] == "2024-07-01T12:00:00+02:00"


def test_unknown_profile_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(["--profile", "acme", "-"], capsys, monkeypatch, b"x\n")
    assert code == 2 and out == []
    assert "unknown profile 'acme'" in err


def test_bad_profile_in_config_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[profiles.acme]\nstates = { "9" = { state = "DELIVERD" } }\n')
    code, _, err = run(["--config", str(config), "-"], capsys, monkeypatch, b"x\n")
    assert code == 2
    assert "profiles.acme.states.9.state: 'DELIVERD' is not a state" in err

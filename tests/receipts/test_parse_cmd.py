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
    # JSON lines end at "\n" only (a U+2028 inside a string is no line break)
    return code, [json.loads(line) for line in out.split("\n") if line], err


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


def test_output_lines_are_receipt_json_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """orjson writes the lines; they must hold what receipt_json (isoformat) says, for dates
    in UTC, with offsets, tenths and a named zone."""
    from zoneinfo import ZoneInfo

    from dlrpoll.cli.parse import receipt_json
    from dlrpoll.receipts import BUILTIN_PROFILES, parse_payload

    lines = [
        STANDARD.encode(),
        b"id:2 sub:001 dlvrd:001 submit date:240102153045104+ done date:240102163045208- "
        b'stat:ACCEPTD err:000 text:caf\xc3\xa9 \xe2\x80\xa8 "q" \\',
        b"messageId=3&status=delivered&doneDate=1730800000123",
        b"id:4 stat:DELIVRD done date:2407011200",
    ]
    data = tmp_path / "in.txt"
    data.write_bytes(b"\r\n".join(lines) + b"\r\n\r\n")
    code, out, _ = run(["--timezone", "Europe/Paris", str(data)], capsys, monkeypatch)
    assert code == 0
    paris = ZoneInfo("Europe/Paris")
    expected = [
        receipt_json(r)
        for line in lines
        for r in parse_payload(line, "text", BUILTIN_PROFILES["smpp"], paris)
    ]
    assert out == expected
    assert out[3]["done_at"] == "2024-07-01T12:00:00+02:00"
    assert out[1]["submitted_at"] == "2024-01-02T15:30:45.100000+01:00"
    assert out[2]["done_at"] == "2024-11-05T09:46:40.123000+00:00"


def test_bad_lines_are_reported_where_they_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "mixed.txt"
    data.write_bytes(
        STANDARD.encode()
        + b"\n\n  \nid:2 stat:Borked\r\n"
        + b"id:3 stat:DELIVRD text:caf\xe9\n"  # Windows-1252, not UTF-8
        + b"\x00\x00\n"
    )
    code, out, _ = run([str(data)], capsys, monkeypatch)
    assert code == 1
    assert [o.get("message_id") for o in out] == ["1", None, "3"]
    assert out[1] == {
        "error": out[1]["error"],
        "input": "id:2 stat:Borked",
        "where": f"{data}:4",
    }
    assert out[1]["error"].startswith("unknown status 'Borked'")
    assert out[2]["text"] == "café"


def test_a_missing_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run([str(tmp_path / "nope.txt")], capsys, monkeypatch)
    assert code == 2 and out == []
    assert "nope.txt: cannot read" in err

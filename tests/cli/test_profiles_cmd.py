"""``dlrpoll profiles`` and ``dlrpoll parse --explain`` through ``dlrpoll.cli.main``."""

from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.cli import main
from dlrpoll.receipts import BUILTIN_PROFILES, PROVIDERS, build_profiles

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "providers"


@pytest.fixture(autouse=True)
def _no_local_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./dlrpoll.toml
    monkeypatch.delenv("DLRPOLL_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_list_names_every_profile(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(["profiles"], capsys)
    assert code == 0
    rows = {line.split()[0]: line.split()[1:3] for line in out.splitlines()[1:] if line.strip()}
    for name, profile in BUILTIN_PROFILES.items():
        assert rows[name] == [profile.format, "built-in"]
    assert PROVIDERS["vonage"].reads in out


def test_the_list_shows_the_configs_profiles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "dlrpoll.toml"
    config.write_text('[profiles.acme]\nfields = { message_id = "MsgId" }\n')
    code, out, _err = run(["profiles", "--config", str(config)], capsys)
    assert code == 0
    acme = next(line for line in out.splitlines() if line.startswith("acme "))
    assert acme.split()[1:3] == ["keyvalue", "config"]
    assert "message_id=MsgId" in acme


def toml_part(out: str) -> str:
    """The [profiles.NAME] tables of ``dlrpoll profiles NAME``'s output."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("[profiles."))
    end = next(i for i, line in enumerate(lines) if line.startswith("# a sample"))
    return "\n".join(lines[start:end])


def comparable(profile: Any) -> tuple[Any, ...]:
    return (
        profile.format,
        profile.fields,
        profile.states,
        profile.timezone,
        profile.dates,
        profile.items,
        profile.date_formats,
        profile.match,
        profile.embedded,
    )


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_a_profile_as_toml_builds_the_same_profile(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _err = run(["profiles", name], capsys)
    assert code == 0
    assert PROVIDERS[name].docs in out
    table = tomllib.loads(toml_part(out))
    # pasted under another name, it reads exactly like the built-in
    copied = build_profiles({"mine": table["profiles"][name]})["mine"]
    assert comparable(copied) == comparable(BUILTIN_PROFILES[name])


def test_a_profile_shows_its_sample_and_what_it_reads(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(["profiles", "vonage"], capsys)
    assert code == 0
    assert PROVIDERS["vonage"].sample in out
    read = json.loads(out.splitlines()[-1].lstrip("# "))
    assert (read["state"], read["dst_addr"], read["src_addr"]) == (
        "DELIVERED",
        "447547232824",
        "Nexmo CLI",
    )


def test_a_configured_profile_is_shown_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "dlrpoll.toml"
    config.write_text(
        '[profiles."acme co"]\nitems = "results"\nmatch_id = { rule = "decimal-to-hex", '
        'width = 8 }\n[profiles."acme co".fields]\nmessage_id = ["MsgId", "Id"]\n'
        '[profiles."acme co".states]\n"delivered to phone" = "DELIVERED"\n'
    )
    code, out, _err = run(["profiles", "acme co", "--config", str(config)], capsys)
    assert code == 0
    table = tomllib.loads("\n".join(line for line in out.splitlines() if not line.startswith("#")))
    assert table["profiles"]["acme co"] == {
        "items": "results",
        "match_id": {"rule": "decimal-to-hex", "width": 8},
        "fields": {"message_id": ["MsgId", "Id"]},
        "states": {"delivered to phone": "DELIVERED"},
    }


def test_an_unknown_profile_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(["profiles", "twillio"], capsys)
    assert code == 2
    assert "no profile named 'twillio'" in err


# --- parse --explain -----------------------------------------------------------------------


def parse(
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    stdin: bytes = b"",
) -> tuple[int, list[dict[str, Any]]]:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(["parse", *argv])
    out, _err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()]


def test_explain_names_the_detected_profile_and_the_keys_used(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, [line] = parse(
        ["--explain", str(FIXTURES / "twilio" / "failed-undelivered.txt")], capsys, monkeypatch
    )
    assert code == 0
    assert line["format"] == "keyvalue:twilio"
    assert line["explain"]["detected"] == "twilio"
    assert line["explain"]["fields"] == {
        "message_id": "MessageSid",
        "status": "MessageStatus",
        "error_code": "ErrorCode",
        "done_at": "RawDlrDoneDate",
        "src_addr": "From",
        "dst_addr": "To",
    }


def test_explain_a_document_reads_inner_paths(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = FIXTURES / "telnyx" / "failed.json"
    code, [line] = parse(["--explain", "--whole", str(path)], capsys, monkeypatch)
    assert code == 0
    assert line["explain"]["fields"]["status"] == "data.payload.to[0].status"
    assert line["explain"]["fields"]["error_code"] == "data.payload.errors[0].code"


def test_explain_a_rejection_gives_the_closest_profile_and_what_it_missed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = b"MessageUUID=U-1&From=1415&To=1416\n"
    code, [line] = parse(["--explain", "-"], capsys, monkeypatch, stdin)
    assert code == 1
    assert "error" in line
    assert line["explain"]["closest"] == "plivo"
    assert line["explain"]["missing"] == ["status (Status)"]
    assert line["explain"]["found"]["message_id"] == "MessageUUID"


def test_explain_appendix_b_under_auto(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = b"id:9 sub:001 dlvrd:001 submit date:2411051230 done date:2411051231 stat:DELIVRD\n"
    code, [line] = parse(["--explain", "-"], capsys, monkeypatch, stdin)
    assert code == 0
    assert line["explain"]["profile"] == "auto: not key/value, read as smpp"
    assert line["explain"]["fields"]["status"] == "stat"


def test_parse_defaults_to_auto_and_prints_match_id(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = (FIXTURES / "messagebird" / "delivered.txt").read_bytes()
    code, [line] = parse(["-"], capsys, monkeypatch, data)
    assert code == 0
    assert (line["format"], line["match_id"]) == (
        "keyvalue:messagebird",
        "e8077d803532c0b5937c639b60216938",
    )

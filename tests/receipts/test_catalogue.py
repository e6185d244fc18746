"""The provider catalogue: every built-in profile reads its provider's fixtures to the values
the documentation gives, and auto-detection names each fixture's provider and no other.

Fixtures live in ``tests/fixtures/providers/NAME/``: receipts in the provider's documented
shape, named ``intermediate-…``, ``delivered…``, ``failed…`` (or ``mixed-…`` for a document
holding several kinds), and ``expected.toml``
listing, per file, the receipts it must read to (the fields given are compared).
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.errors import ParseError
from dlrpoll.receipts import (
    BUILTIN_PROFILES,
    PROVIDERS,
    Receipt,
    State,
    auto_profile,
    parse_payload,
)
from dlrpoll.receipts.detect import detector
from dlrpoll.receipts.documents import json_tree, xml_tree
from dlrpoll.receipts.keyvalue import query_pairs
from dlrpoll.receipts.tree import Node, from_pairs

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "providers"
KINDS = ("intermediate", "delivered", "failed")


def fixture_files() -> list[tuple[str, Path]]:
    return [
        (d.name, f)
        for d in sorted(ROOT.iterdir())
        for f in sorted(d.iterdir())
        if f.name != "expected.toml"
    ]


FILES = fixture_files()
IDS = [f"{name}/{f.name}" for name, f in FILES]


def payload(path: Path) -> bytes:
    """A fixture as a source's item: a JSON/XML file whole, a one-line receipt stripped."""
    data = path.read_bytes()
    return data if path.suffix in (".json", ".xml") else data.strip()


def expected(name: str, file: str) -> list[dict[str, Any]]:
    table = tomllib.loads((ROOT / name / "expected.toml").read_text(encoding="utf-8"))
    assert file in table, f"{name}/expected.toml has no entry for {file}"
    entries: list[dict[str, Any]] = table[file]
    return entries


def check(receipt: Receipt, want: dict[str, Any]) -> None:
    for key, value in want.items():
        got = getattr(receipt, key)
        if key == "state":
            assert got == State[value], (key, got)
        elif key in ("done_at", "submitted_at"):
            assert got == datetime.fromisoformat(value), (key, got)
        else:
            assert got == value, (key, got)


def test_every_provider_has_its_fixtures_and_only_those() -> None:
    assert sorted(d.name for d in ROOT.iterdir()) == sorted(PROVIDERS)
    for name in PROVIDERS:
        files = [f.name for f in (ROOT / name).iterdir() if f.name != "expected.toml"]
        for kind in KINDS:
            assert any(f.startswith(kind) for f in files), f"{name}: no {kind} fixture"
        listed = tomllib.loads((ROOT / name / "expected.toml").read_text(encoding="utf-8"))
        assert sorted(listed) == sorted(files), name


def test_the_catalogue_has_the_promised_names() -> None:
    assert set(PROVIDERS) == {
        *("smpp", "ginota", "upside", "kannel", "twilio", "vonage", "telnyx", "plivo"),
        *("messagebird", "infobip", "sinch", "africastalking", "clickatell", "clicksend"),
        *("esendex", "bulksms", "smsglobal", "textmagic", "cm", "messente", "jasmin"),
    }
    assert set(BUILTIN_PROFILES) == set(PROVIDERS)


@pytest.mark.parametrize(("name", "path"), FILES, ids=IDS)
def test_fixture_reads_to_the_documented_values(name: str, path: Path) -> None:
    receipts = parse_payload(payload(path), "text", BUILTIN_PROFILES[name], UTC)
    want = expected(name, path.name)
    assert len(receipts) == len(want)
    for receipt, values in zip(receipts, want, strict=True):
        check(receipt, values)
        kind = path.name.split("-")[0].split(".")[0]
        if kind == "intermediate":
            assert not receipt.final
        elif kind == "delivered":
            assert (receipt.state, receipt.final) == (State.DELIVERED, True)
        elif kind == "failed":
            assert receipt.final and receipt.state != State.DELIVERED
        else:
            assert kind == "mixed", path.name
        fmt = BUILTIN_PROFILES[name].format
        assert receipt.format == (f"keyvalue:{name}" if fmt == "keyvalue" else "smpp")


def tree_of(path: Path) -> Node | None:
    text = payload(path).decode("utf-8")
    if path.suffix == ".json":
        return json_tree(text)
    if path.suffix == ".xml":
        return xml_tree(text)
    return from_pairs(query_pairs(text)) if "=" in text else None


DETECTOR = detector(PROVIDERS)


@pytest.mark.parametrize(("name", "path"), FILES, ids=IDS)
def test_detection_matrix(name: str, path: Path) -> None:
    """No fixture of provider A is taken for provider B; A's is taken for A when A has
    signatures (Kannel's keys are the user's, SMPP text has none)."""
    matches = DETECTOR.matches(tree_of(path))
    if PROVIDERS[name].detect:
        assert matches == [name]
    else:
        assert matches == []


#: Fixtures auto must read: every detectable provider's, and plain SMPP and Upside text
#: (Kannel's keys are whatever the user's dlr-url says: it is named, never detected).
AUTO = [
    (name, path) for name, path in FILES if PROVIDERS[name].detect or name in ("smpp", "upside")
]


@pytest.mark.parametrize(("name", "path"), AUTO, ids=[f"{n}/{p.name}" for n, p in AUTO])
def test_auto_reads_every_fixture_like_its_provider(name: str, path: Path) -> None:
    """With auto (POP3's fallback smpp, SOAP's upside) a detectable provider's fixture reads
    exactly as with its own profile, and SMPP text exactly as with the fallback."""
    for fallback in ("smpp", "upside"):
        auto = auto_profile(BUILTIN_PROFILES, fallback)
        got = parse_payload(payload(path), "text", auto, UTC)
        own = BUILTIN_PROFILES[name if PROVIDERS[name].detect else fallback]
        assert got == parse_payload(payload(path), "text", own, UTC)


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_each_sample_reads_as_delivered(name: str) -> None:
    sample = PROVIDERS[name].sample.encode("utf-8")
    [receipt] = parse_payload(sample, "text", BUILTIN_PROFILES[name], UTC)
    assert (receipt.state, receipt.final) == (State.DELIVERED, True)


def test_vonage_sender_is_never_the_recipient() -> None:
    [r] = parse_payload(
        (ROOT / "vonage" / "delivered.json").read_bytes(), "text", BUILTIN_PROFILES["vonage"], UTC
    )
    assert (r.dst_addr, r.src_addr) == ("447547232824", "Nexmo CLI")


def test_an_undetected_key_value_receipt_falls_back_to_the_generic_reader() -> None:
    auto = auto_profile(BUILTIN_PROFILES)
    [r] = parse_payload(b"messageId=Q77&status=delivered", "text", auto, UTC)
    assert (r.message_id, r.state, r.format) == ("Q77", State.DELIVERED, "query")


def test_an_ambiguous_receipt_is_read_by_the_generic_reader() -> None:
    # both Twilio's and Plivo's signatures: nobody is guessed
    both = b"MessageSid=SM1&MessageStatus=delivered&MessageUUID=U1&Status=delivered&msgid=G1"
    assert DETECTOR.matches(from_pairs(query_pairs(both.decode()))) == ["twilio", "plivo"]
    [r] = parse_payload(both, "text", auto_profile(BUILTIN_PROFILES), UTC)
    assert (r.message_id, r.format) == ("G1", "query")


def test_detection_in_an_email_part() -> None:
    mail = (
        b"From: dlr@example.com\r\nTo: box@example.com\r\nSubject: status\r\n"
        b"Content-Type: application/json\r\n\r\n" + (ROOT / "infobip" / "failed.json").read_bytes()
    )
    [r] = parse_payload(mail, "email", auto_profile(BUILTIN_PROFILES), UTC)
    assert (r.message_id, r.error_code, r.format) == (
        "MESSAGE-ID-456-xyz",
        "27",
        "email+keyvalue:infobip",
    )


def test_the_users_replacement_of_a_builtin_is_what_auto_reads_with() -> None:
    from dlrpoll.receipts import build_profiles

    profiles = build_profiles(
        {"twilio": {**PROVIDERS["twilio"].spec, "match_id": "upper"}}  # type: ignore[dict-item]
    )
    data = (ROOT / "twilio" / "delivered.txt").read_bytes().strip()
    [r] = parse_payload(data, "text", auto_profile(profiles), UTC)
    assert r.match_id == "SM1F0E8AE6ADE43CB3C0CE4525424E404F"
    assert r.message_id == "SM1f0e8ae6ade43cb3c0ce4525424e404f"


def test_dates_without_a_zone_are_in_the_callers_zone() -> None:
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    data = (ROOT / "twilio" / "delivered.txt").read_bytes().strip()
    [r] = parse_payload(data, "text", BUILTIN_PROFILES["twilio"], paris)
    assert r.done_at == datetime(2024, 11, 5, 12, 32, tzinfo=paris)
    assert r.done_at.astimezone(UTC).hour == 11


def test_the_readme_documents_every_provider() -> None:
    readme = (Path(__file__).resolve().parent.parent.parent / "README.md").read_text()
    for name, provider in PROVIDERS.items():
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{name}` |")), "")
        assert provider.docs in row, f"README's provider table: no row for {name} with its docs"


def test_detection_looks_at_the_documents_top_only() -> None:
    wrapped = b'{"envelope": {"MessageSid": "SM1", "MessageStatus": "delivered"}}'
    assert DETECTOR.matches(json_tree(wrapped.decode())) == []
    with pytest.raises(ParseError, match="no message id"):
        parse_payload(wrapped, "text", auto_profile(BUILTIN_PROFILES), UTC)

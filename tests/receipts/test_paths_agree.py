"""The fast path and the any-order path read every Appendix B line of every fixture alike.

The fast path reads the standard order with one regular expression; the any-order path
reads whatever order and key case real SMSCs send. Where both can read a line they must
give the same receipt (or both reject it), whatever the fixture's class.
"""

from __future__ import annotations

import re
from datetime import UTC

from dlrpoll.errors import ParseError
from dlrpoll.receipts import BUILTIN_PROFILES, Receipt
from dlrpoll.receipts.smpp import _parse_any_order, looks_like_smpp, parse_standard
from tests.receipts.conftest import FIXTURES

SMPP = BUILTIN_PROFILES["smpp"]
_KEYS = re.compile(r"\b(id|sub|dlvrd|submit date|done date|stat|err|text):")


def outcome(fn, text: str) -> Receipt | str | None:  # type: ignore[no-untyped-def]
    try:
        return fn(text, SMPP, UTC)  # type: ignore[no-any-return]
    except ParseError:
        return "ParseError"


def appendix_b_lines() -> list[tuple[str, str]]:
    out = []
    for path in sorted(FIXTURES.iterdir()):
        text = path.read_bytes().decode("utf-8", errors="replace")
        for line in text.splitlines():
            line = line.strip(" \t\r\x00")
            if looks_like_smpp(line):
                out.append((path.name, line))
    return out


def test_fast_and_any_order_paths_agree_on_every_fixture() -> None:
    lines = appendix_b_lines()
    compared = 0
    for name, line in lines:
        fast = outcome(parse_standard, line)
        if fast is None:
            continue  # not in the standard order: only the any-order path reads it
        compared += 1
        assert outcome(_parse_any_order, line) == fast, (name, line)
        # the same receipt with its keys in upper case goes the any-order way only
        head, sep, text = line.partition(" text:")  # the text itself stays as it is
        upper = _KEYS.sub(lambda m: m.group(0).upper(), head) + sep.upper() + text
        assert parse_standard(upper, SMPP, UTC) is None
        assert outcome(_parse_any_order, upper) == fast, (name, upper)
    assert compared >= 20, compared  # every class's Appendix B fixtures took part
    assert {name for name, _ in lines} >= {
        "lookalikes.txt",
        "dates_smpp.txt",
        "statuses.txt",
        "smpp_oddities.txt",
        "upside_status.txt",
        "several_receipts.eml",
    }


def test_empty_and_absent_values_agree() -> None:
    """Once the fast path rejected an empty date the any-order path read as absent."""
    line = "id:E1 sub: dlvrd:null submit date: done date:ND stat:DELIVRD err: text:"
    fast = parse_standard(line, SMPP, UTC)
    assert fast is not None
    assert (fast.sub, fast.dlvrd, fast.submitted_at, fast.done_at, fast.error_code) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert _parse_any_order(line, SMPP, UTC) == fast

"""``dlrpoll parse --explain``: each item's receipts (or rejection) with what read it.

Kept apart from ``parse``'s fast loop: explaining reads every item a second time. It reads
its items itself (the same way: a line per item, or a whole file with ``--whole`` or for an
``.eml``), so it depends on nothing of the fast loop but the parsed arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import tzinfo
from pathlib import Path
from typing import Any

from dlrpoll.errors import ConfigError, ParseError
from dlrpoll.receipts import Profile, Receipt, parse_payload
from dlrpoll.receipts.explain import explain_receipts, explain_rejection

#: --format value → the parser format given to parse_payload
FORMATS = {"auto": "text", "smpp": "smpp", "keyvalue": "keyvalue", "email": "email"}
_MAIL_HEADERS = (b"from:", b"to:", b"subject:", b"date:", b"received:", b"mime-version:")
_SHOWN = 1000


def receipt_fields(receipt: Receipt) -> dict[str, Any]:
    """A receipt as JSON-ready fields: state by name, dates in ISO-8601."""
    out: dict[str, Any] = {}
    for name in Receipt.__dataclass_fields__:
        value = getattr(receipt, name)
        if name == "state":
            value = value.name
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[name] = value
    return out


def _email(name: str, data: bytes) -> bool:
    if name.lower().endswith(".eml"):
        return True
    head = data[:4096].lower()
    return b"\n\n" in data.replace(b"\r\n", b"\n") and any(
        head.startswith(h) or b"\n" + h in head for h in _MAIL_HEADERS
    )


def _items(args: argparse.Namespace) -> Iterator[tuple[bytes, str, str]]:
    """``(payload, parser format, where)`` for every item, as ``dlrpoll parse`` reads them."""
    fmt = FORMATS[args.fmt]
    for path in args.paths or ["-"]:
        if path == "-":
            data, name = sys.stdin.buffer.read(), "<stdin>"
        else:
            try:
                data, name = Path(path).read_bytes(), path
            except OSError as exc:
                raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
        if args.whole or name.lower().endswith(".eml") or fmt == "email":
            yield data, "email" if args.fmt == "auto" and _email(name, data) else fmt, name
            continue
        for number, line in enumerate(data.split(b"\n"), start=1):
            if line.strip(b" \t\r\x00"):
                yield line.rstrip(b"\r"), fmt, f"{name}:{number}"


def _shown(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def explain_items(
    args: argparse.Namespace, profile: Profile, profiles: dict[str, Profile], tz: tzinfo
) -> int:
    """``--explain``: each line as without it, plus ``"explain"``; 1 if any was rejected."""
    rejected = 0
    for payload, fmt, where in _items(args):
        try:
            receipts = parse_payload(payload, fmt, profile, tz)
        except ParseError as exc:
            rejected += 1
            line: dict[str, Any] = {"error": str(exc), "input": _shown(payload), "where": where}
            line["explain"] = explain_rejection(payload, fmt, profile, profiles)
            print(json.dumps(line, ensure_ascii=False))
            continue
        explained = explain_receipts(payload, fmt, profile, receipts)
        for receipt in receipts:
            print(json.dumps({**receipt_fields(receipt), "explain": explained}, ensure_ascii=False))
    return 1 if rejected else 0

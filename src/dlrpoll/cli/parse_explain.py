"""``dlrpoll parse --explain``: each item's receipts (or rejection) with what read it.

Kept apart from ``parse_cmd``'s fast loop: explaining reads every item a second time.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from datetime import tzinfo
from typing import Any

from dlrpoll.cli.parse_cmd import _FORMATS, _lines, _looks_like_email, _open, _shown, receipt_json
from dlrpoll.errors import ParseError
from dlrpoll.receipts import Profile, parse_payload
from dlrpoll.receipts.explain import explain_receipts, explain_rejection


def explain_items(
    args: argparse.Namespace, profile: Profile, profiles: dict[str, Profile], tz: tzinfo
) -> int:
    """``--explain``: each line as without it, plus ``"explain"``; off the fast path."""
    fmt = _FORMATS[args.fmt]
    rejected = 0
    for path in args.paths or ["-"]:
        stream, name = _open(path)
        try:
            data = stream.read()
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
        items: list[tuple[bytes, str, str]]
        if args.whole or name.lower().endswith(".eml") or fmt == "email":
            eml = name.lower().endswith(".eml")
            email = args.fmt == "auto" and (eml or _looks_like_email(data))
            items = [(data, "email" if email else fmt, name)]
        else:
            items = [
                (line.rstrip(b"\r\n"), fmt, f"{name}:{number}")
                for number, line in _lines(io.BytesIO(data))
            ]
        for payload, item_fmt, where in items:
            try:
                receipts = parse_payload(payload, item_fmt, profile, tz)
            except ParseError as exc:
                rejected += 1
                line: dict[str, Any] = {"error": str(exc), "input": _shown(payload), "where": where}
                line["explain"] = explain_rejection(payload, item_fmt, profile, profiles)
                print(json.dumps(line, ensure_ascii=False))
                continue
            explained = explain_receipts(payload, item_fmt, profile, receipts)
            for receipt in receipts:
                line = {**receipt_json(receipt), "explain": explained}
                print(json.dumps(line, ensure_ascii=False))
    return 1 if rejected else 0

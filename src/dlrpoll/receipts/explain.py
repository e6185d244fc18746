"""What ``dlrpoll parse --explain`` says about an item: which profile read it (and whether
``auto`` detected it), which of its keys each receipt field came from, and for an item that
was rejected, the profile that comes closest and what that profile missed.

Pure, like the parsers; it reads the item again, off the hot path, only when asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlrpoll.errors import ParseError
from dlrpoll.receipts.documents import json_tree, xml_tree
from dlrpoll.receipts.fields import Fields
from dlrpoll.receipts.keyvalue import line_pairs, query_pairs, sniff_shape
from dlrpoll.receipts.model import Receipt
from dlrpoll.receipts.parse import decode_text
from dlrpoll.receipts.profiles import FIELD_NAMES, Profile
from dlrpoll.receipts.smpp import looks_like_smpp
from dlrpoll.receipts.tree import Node, Obj, from_pairs

#: The Appendix B key each receipt field is read from.
_SMPP_KEYS = {
    "message_id": "id",
    "status": "stat",
    "error_code": "err",
    "submitted_at": "submit date",
    "done_at": "done date",
    "sub": "sub",
    "dlvrd": "dlvrd",
    "text": "text",
}
_REQUIRED = ("message_id", "status")


def _tree(text: str) -> Node | None:
    """The item as a key/value tree, or ``None`` when it is not key/value (or unreadable)."""
    shape = sniff_shape(text)
    try:
        if shape == "json":
            return json_tree(text)
        if shape == "xml":
            return xml_tree(text)
    except ParseError:
        return None
    if looks_like_smpp(text) and shape != "query":
        return None
    pairs = query_pairs(text) if shape == "query" else line_pairs(text)
    return from_pairs(pairs) if pairs else None


def _first_record(root: Node | None, profile: Profile) -> Fields | None:
    """The record a profile reads first: its first item, or the document itself."""
    from dlrpoll.receipts.documents import find_receipts

    found, partial = find_receipts(root, profile)
    if found:
        return found[0][1]
    if partial is not None:
        return partial[1]
    return Fields(root, profile) if isinstance(root, Obj) else None


def _used(record: Fields) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in FIELD_NAMES:
        key = record.key_of(name)
        if key is not None:
            out[name] = key
    return out


def _chosen(profile: Profile, root: Node | None) -> dict[str, Any]:
    detection = profile.detection
    if detection is None:
        return {"profile": profile.name}
    chosen = profile.for_tree(root)
    if chosen is detection.generic:
        matches = detection.detector.matches(root)
        why = f"ambiguous: {', '.join(matches)}" if matches else "no provider's keys"
        return {"profile": f"auto: {why}, read as {detection.fallback}", "detected": None}
    return {"profile": chosen.name, "detected": chosen.name}


def explain_receipts(
    payload: bytes, fmt: str, profile: Profile, receipts: list[Receipt]
) -> dict[str, Any]:
    """How ``profile`` read ``payload`` into ``receipts`` (module docstring)."""
    if fmt == "email":
        return {"profile": profile.name, "reader": "email", "formats": [r.format for r in receipts]}
    text = decode_text(payload)
    root = _tree(text)
    if root is None:
        fields = {
            name: key
            for name, key in _SMPP_KEYS.items()
            if name in _REQUIRED or getattr(receipts[0], name, None) is not None
        }
        shown = profile.name
        if profile.detection is not None:
            shown = f"auto: not key/value, read as {profile.detection.fallback}"
        return {"profile": shown, "reader": "smpp", "fields": fields}
    out = _chosen(profile, root)
    record = _first_record(root, profile.for_tree(root))
    out["reader"] = receipts[0].format if receipts else "keyvalue"
    out["fields"] = _used(record) if record is not None else {}
    return out


def _score(profile: Profile, root: Node) -> tuple[int, int, dict[str, str], list[str]]:
    """How well ``profile`` fits ``root``: named fields found, named fields, the fields it
    found (as the document spells them) and the required ones it did not."""
    record = _first_record(root, profile)
    named = sorted({f for f, _k in profile.fields}, key=FIELD_NAMES.index)
    used = _used(record) if record is not None else {}
    found = sum(1 for name in named if name in used)
    missing = [
        f"{name} ({' or '.join(k for f, k in profile.fields if f == name)})"
        for name in _REQUIRED
        if name not in used
    ]
    return found, len(named), {n: used[n] for n in named if n in used}, missing


def explain_rejection(
    payload: bytes, fmt: str, profile: Profile, profiles: Mapping[str, Profile]
) -> dict[str, Any]:
    """For a rejected item: the profile it was read with, the closest profile, and what
    that profile found missing."""
    out: dict[str, Any] = {"profile": profile.name}
    if fmt == "email":
        return out
    try:
        text = decode_text(payload)
    except ParseError:
        return out
    root = _tree(text)
    if root is None:
        out["closest"] = "smpp" if looks_like_smpp(text) else None
        return out
    out.update(_chosen(profile, root))
    best: tuple[float, int, str, dict[str, str], list[str]] | None = None
    for name, candidate in profiles.items():
        if candidate.format != "keyvalue" or not candidate.fields:
            continue
        found, total, used, missing = _score(candidate, root)
        if found == 0:
            continue
        rank = (found / total, found, name, used, missing)
        if best is None or rank[:2] > best[:2]:
            best = rank
    if best is not None:
        out["closest"] = best[2]
        out["found"] = best[3]
        out["missing"] = best[4]
    return out

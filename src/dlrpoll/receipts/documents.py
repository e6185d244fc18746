"""JSON and XML receipt documents: read into trees (:mod:`.tree`), and the receipts in them.

A document may hold one report or several, at any depth: ``{"results": [{…}, {…}]}``,
``{"data": {"payload": {…}}}``, ``<dlrs><dlr …/><dlr>…</dlr></dlrs>``. Every object with a
message id and a status (:class:`~dlrpoll.receipts.fields.Fields`) is a receipt, except
that

- objects a receipt holds under its own fields' keys (``"status": {…}``, ``"error": {…}``)
  are those fields' values, never receipts of their own;
- an object whose other children hold receipts is an envelope around them
  (``{"id": "req-1", "status": "ok", "results": [{…}]}``): its own id and status describe
  the envelope, and the receipts inside are read instead.

XML: attributes and child elements are one object's keys; repeated elements are a list; an
element with attributes and text keeps the text under ``#text``. A DOCTYPE that names an
external DTD (``SYSTEM``/``PUBLIC``) is accepted and nothing is resolved — DTDs are never
loaded; an internal subset (``[…]``), an ``<!ENTITY>`` declaration or a reference to an
entity other than XML's five is refused.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import tzinfo

from dlrpoll.errors import ParseError
from dlrpoll.receipts.fields import Fields, receipt_from_fields
from dlrpoll.receipts.model import Receipt
from dlrpoll.receipts.paths import ROOT
from dlrpoll.receipts.profiles import Profile
from dlrpoll.receipts.tree import (
    MAX_DEPTH,
    Node,
    Obj,
    Path,
    from_json,
    norm_key,
    path_text,
    resolve,
)

_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_QUOTED = r"""(?:"[^"<>]*"|'[^'<>]*')"""
_EXTERNAL_ONLY = re.compile(
    rf"<!DOCTYPE\s+[^\s\[\]<>'\"]+(?:\s+(?:SYSTEM\s+{_QUOTED}|PUBLIC\s+{_QUOTED}\s+{_QUOTED}))?\s*>",
    re.IGNORECASE,
)
_ENTITY_DECL = re.compile(r"<!ENTITY", re.IGNORECASE)
_ENTITY_REF = re.compile(
    r"&(?!(?:lt|gt|amp|apos|quot|#[0-9]+|#x[0-9A-Fa-f]+);)([A-Za-z_:][\w.:-]*);"
)
_TEXT = "#text"


def json_tree(text: str) -> Node | None:
    """A JSON document as a tree; :class:`ParseError` when it is not JSON."""
    try:
        doc = json.loads(text)
    except RecursionError as exc:
        raise ParseError("JSON nested too deeply to be a receipt") from exc
    except ValueError as exc:
        raise ParseError(f"not valid JSON ({exc})") from exc
    return from_json(doc)


def _check_xml(text: str) -> None:
    doctypes = _DOCTYPE.findall(text)
    if doctypes:
        m = _DOCTYPE.search(text)
        assert m is not None
        if len(doctypes) > 1 or not _EXTERNAL_ONLY.match(text, m.start()):
            raise ParseError(
                "XML with an internal DTD subset is refused (only <!DOCTYPE name SYSTEM "
                '"…"> naming an external DTD is accepted, and never loaded)'
            )
    if _ENTITY_DECL.search(text):
        raise ParseError(
            "XML declaring entities (a DTD's <!ENTITY>) is refused; a receipt needs none"
        )
    ref = _ENTITY_REF.search(text)
    if ref is not None:
        raise ParseError(
            f"XML refers to the entity &{ref.group(1)[:40]};, which is never expanded "
            "(only &lt; &gt; &amp; &apos; &quot; and character references are read)"
        )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _element(elem: ET.Element, depth: int) -> Node:
    if depth > MAX_DEPTH:
        raise ParseError(f"XML nested more than {MAX_DEPTH} levels deep; a receipt is not")
    children = [c for c in elem if isinstance(c.tag, str)]
    text = (elem.text or "").strip()
    if not elem.attrib and not children:
        return text
    obj = Obj()
    for key, value in elem.attrib.items():
        obj.add(_local(key), value)
    lists: set[str] = set()
    for child in children:
        tag = _local(child.tag)
        node = _element(child, depth + 1)
        norm = norm_key(tag)
        existing = obj.items.get(norm)
        if existing is None:
            obj.add(tag, node, norm)
        elif norm in lists:
            assert isinstance(existing[1], list)
            existing[1].append(node)
        elif norm not in {norm_key(_local(k)) for k in elem.attrib}:
            obj.items[norm] = (existing[0], [existing[1], node])  # a repeated element
            lists.add(norm)
    if text:
        obj.add(_TEXT, text, _TEXT)
    return obj


def xml_tree(text: str) -> Node:
    """An XML document as a tree (module docstring); :class:`ParseError` when it is not
    well-formed or uses DTD features that are refused."""
    _check_xml(text)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ParseError(f"not well-formed XML ({exc})") from exc
    tree = _element(root, 0)
    if isinstance(tree, Obj):  # the root element's name, for profiles that read it (#root)
        tree.add(ROOT, _local(root.tag), ROOT)
    return tree


def _items(root: Node | None, profile: Profile) -> list[tuple[Path, Fields]] | None:
    """The reports where the profile's ``items`` say, or ``None`` when no such place is in
    the document (it is then one report, or a list of them)."""
    if root is None:
        return None
    for path in profile.item_paths:
        node = resolve(root, path)
        if isinstance(node, Obj):
            return [(path, Fields(node, profile))]
        if isinstance(node, list):
            return [
                ((*path, i), Fields(item, profile))
                for i, item in enumerate(node)
                if isinstance(item, Obj)
            ]
    if isinstance(root, list):
        objects = [(i, item) for i, item in enumerate(root) if isinstance(item, Obj)]
        return [((i,), Fields(item, profile)) for i, item in objects]
    return [((), Fields(root, profile))] if isinstance(root, Obj) else None


def find_receipts(
    root: Node | None, profile: Profile
) -> tuple[list[tuple[Path, Fields]], tuple[Path, Fields] | None]:
    """The receipts in a tree (module docstring), each with its path, and the first object
    that has a message id or a status without being a receipt (to say what it lacks).

    The ``auto`` profile first picks the profile the document's keys name; a profile with
    ``items`` reads the reports there (or the document as one, when there is no such place).
    """
    profile = profile.for_tree(root)
    if profile.items:
        listed = _items(root, profile)
        if listed is not None:
            return listed, None
    found: list[tuple[Path, Fields]] = []
    partial: list[tuple[Path, Fields]] = []

    def visit(node: Node, path: Path) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                visit(item, (*path, i))
            return
        if not isinstance(node, Obj):
            return
        fields = Fields(node, profile)
        receipt = fields.is_receipt()
        skip = fields.used_keys() if receipt else set()
        if not receipt and not partial and (fields.has("message_id") or fields.has("status")):
            partial.append((path, fields))
        before = len(found)
        for norm, (_key, child) in node.items.items():
            if norm not in skip and not isinstance(child, str):
                visit(child, (*path, norm))
        if receipt and len(found) == before:
            found.append((path, fields))

    if root is not None:
        visit(root, ())
    return found, (partial[0] if partial else None)


def _shown(root: Node | None, path: Path) -> str:
    names: list[str] = []
    here = root
    for seg in path:
        if isinstance(here, Obj) and isinstance(seg, str):
            names.append(here.name(seg))
            here = here.get(seg)
        else:
            names.append(str(seg))
            here = here[seg] if isinstance(here, list) and isinstance(seg, int) else None
    return path_text(path, names)


def document_receipts(root: Node | None, profile: Profile, tz: tzinfo, fmt: str) -> list[Receipt]:
    """Every receipt in a document's tree; :class:`ParseError` when there is none or one of
    them cannot be read (the message names where in the document)."""
    found, partial = find_receipts(root, profile)
    if not found:
        if partial is not None:
            found = [partial]
        else:
            keys = root.names() if isinstance(root, Obj) else []
            has = f" (top-level keys: {', '.join(keys[:10])})" if keys else ""
            raise ParseError(
                f"no receipt in this {fmt.upper()} document{has}: no object has a message id "
                "and a status; name the provider's keys in [profiles.NAME] fields"
            )
    out: list[Receipt] = []
    for path, fields in found:
        try:
            out.append(receipt_from_fields(fields, tz, fmt))
        except ParseError as exc:
            if not path:
                raise
            raise ParseError(f"{_shown(root, path)}: {exc}") from None
    return out

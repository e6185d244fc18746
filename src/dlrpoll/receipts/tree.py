"""Documents as trees, and paths into them: where a receipt's fields sit in nested shapes.

Receipts nest their fields: ``"status": {"name": …}``, ``"to": ["447…"]``, ``results[0]``,
PHP-style query keys (``receiver[number]=…``), XML elements inside elements. Every key/value
shape (query strings, ``Key: value`` lines, JSON, XML) is read into one tree:

- a :class:`Obj` — keys in document order, looked up without regard to case or punctuation
  (:func:`norm_key`: ``messageId``, ``Message ID`` and ``message_id`` are one key); the
  first of two keys that normalize alike wins;
- a ``list`` — a JSON array, repeated XML elements, ``to[]=…&to[]=…``;
- a ``str`` — every scalar (JSON numbers and booleans as JSON writes them; ``null`` is left
  out, it means "absent").

A :data:`Path` names a place in such a tree: :func:`parse_path` reads ``status.name``,
``results[0].to``, ``receiver[number]`` or ``to.0``; :func:`resolve` follows one;
:func:`path_text` writes one back for messages. Profiles name their fields with these paths
(provider profiles build on them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Union

from dlrpoll.errors import ParseError

#: One segment of a path: an object key (normalized) or a list index.
Segment = str | int
#: A place in a tree, outermost segment first.
Path = tuple[Segment, ...]
#: A tree: objects, lists and strings.
Node = Union[str, "Obj", list["Node"]]

#: Deepest nesting read (a receipt document has a handful of levels).
MAX_DEPTH = 32

_NORM_KEY_RE = re.compile(r"[^0-9a-z]+")
# a path: segments separated by "." or written as [index] / [key]
_SEGMENT = re.compile(r"\[([^\[\]]*)\]|([^.\[\]]+)")


@lru_cache(maxsize=4096)
def norm_key(key: str) -> str:
    """A key as fields are matched: lower case, letters and digits only (``Done Date`` →
    ``donedate``, ``message_id`` → ``messageid``). Cached: a source's receipts spell the
    same few keys again and again."""
    return _NORM_KEY_RE.sub("", key.lower())


class Obj:
    """An object: ``norm_key(key) → (key as written, value)``, in document order."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: dict[str, tuple[str, Node]] = {}

    def add(self, key: str, value: Node, norm: str | None = None) -> None:
        """Add ``key`` unless a key that normalizes alike is already there (the first wins)."""
        self.items.setdefault(norm_key(key) if norm is None else norm, (key, value))

    def get(self, norm: str) -> Node | None:
        """The value under a normalized key, or ``None``."""
        got = self.items.get(norm)
        return None if got is None else got[1]

    def name(self, norm: str) -> str:
        """The key as the document wrote it (for messages)."""
        got = self.items.get(norm)
        return norm if got is None else got[0]

    def names(self) -> list[str]:
        """Every key as written, in document order."""
        return [key for key, _value in self.items.values()]

    def __repr__(self) -> str:  # for test failures
        return "Obj({" + ", ".join(f"{k!r}: {v!r}" for k, v in self.items.values()) + "})"


def parse_path(text: str) -> Path:
    """``"results[0].status.name"`` → ``("results", 0, "status", "name")``.

    Segments are separated by dots or written in brackets (``receiver[number]``,
    ``to[0]``); all-digit segments are list indexes; keys are normalized (:func:`norm_key`).
    A key containing neither dots nor brackets is a path of one segment. Raises
    :class:`ParseError` for an empty path or an empty segment.
    """
    segments: list[Segment] = []
    pos = 0
    for m in _SEGMENT.finditer(text):
        between = text[pos : m.start()]
        if between not in ("", "."):
            raise ParseError(f"path {text!r}: unexpected {between!r}")
        raw = m.group(1) if m.group(1) is not None else m.group(2)
        raw = raw.strip()
        if raw.isdigit() and raw.isascii():
            segments.append(int(raw))
        else:
            key = norm_key(raw)
            if not key:
                raise ParseError(f"path {text!r}: empty key; write e.g. status.name or to[0]")
            segments.append(key)
        pos = m.end()
    if text[pos:].strip(". ") or not segments:
        raise ParseError(f"path {text!r} names nothing; write e.g. status.name or to[0]")
    return tuple(segments)


def path_text(path: Path, names: list[str] | None = None) -> str:
    """A path as a user writes it: ``results[0].status.name``. ``names`` may give the keys
    as the document spells them (one per segment; indexes are ignored there)."""
    out = ""
    for i, seg in enumerate(path):
        if isinstance(seg, int):
            out += f"[{seg}]"
        else:
            shown = names[i] if names is not None and i < len(names) else seg
            out += f".{shown}" if out else shown
    return out


def step(node: Node, seg: Segment) -> Node | None:
    """One segment down from ``node``, or ``None`` when there is nothing there."""
    if isinstance(node, Obj):
        return node.get(str(seg) if isinstance(seg, int) else seg)
    if isinstance(node, list) and isinstance(seg, int):
        return node[seg] if seg < len(node) else None
    return None


def resolve(node: Node, path: Path) -> Node | None:
    """The node at ``path`` below ``node``, or ``None`` when the path leads nowhere.

    A key segment on an object is matched normalized; an index on a list picks that item
    (an index on an object picks the key ``"0"``, ``"1"``…, as PHP-style ``to[0]`` writes).
    """
    here: Node | None = node
    for seg in path:
        if here is None:
            return None
        here = step(here, seg)
    return here


def walk(node: Node, path: Path = ()) -> Iterator[tuple[Path, Node]]:
    """Every node below and including ``node`` with its path, outermost first."""
    yield path, node
    if isinstance(node, Obj):
        for norm, (_key, child) in node.items.items():
            yield from walk(child, (*path, norm))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from walk(child, (*path, i))


# --- building trees --------------------------------------------------------------------


def key_segments(key: str) -> list[str]:
    """A form key's segments: ``receiver[number]`` → ``["receiver", "number"]``, ``to[]`` →
    ``["to", ""]`` (append), ``a[b][0]`` → ``["a", "b", "0"]``; anything else is one
    segment, brackets and all."""
    if "[" not in key or not key.endswith("]"):
        return [key]
    head, _, rest = key.partition("[")
    inner = rest[:-1].split("][")
    if not head or any("[" in s or "]" in s for s in inner):
        return [key]
    return [head, *inner]


def _container_for(seg: str) -> Obj | list[Node]:
    return [] if seg == "" or (seg.isdigit() and seg.isascii()) else Obj()


def insert(root: Obj, segments: list[str], value: str) -> None:
    """Put ``value`` at ``segments`` below ``root``, making objects and lists on the way.
    Where a place is taken by a value of another kind, the first one stays."""
    here: Obj | list[Node] = root
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if isinstance(here, list):
            if not (seg == "" or (seg.isdigit() and seg.isascii())):
                return  # a key on a list: the list came first
            index = len(here) if seg == "" else int(seg)
            if index >= len(here):
                if last:
                    here.append(value)
                    return
                child: Node = _container_for(segments[i + 1])
                here.append(child)
            else:
                if last:
                    return
                child = here[index]
        else:
            norm = norm_key(seg) if not (seg.isdigit() and seg.isascii()) else seg
            existing = here.get(norm)
            if last:
                if existing is None:
                    here.add(seg, value, norm)
                return
            if existing is None:
                existing = _container_for(segments[i + 1])
                here.add(seg, existing, norm)
            child = existing
        if isinstance(child, str):
            return  # a scalar came first
        here = child


def from_pairs(pairs: list[tuple[str, str]]) -> Obj:
    """A tree from ``(key, value)`` pairs; bracket keys (``price[amount]``) nest."""
    root = Obj()
    for key, value in pairs:
        insert(root, key_segments(key), value)
    return root


def scalar_text(value: object) -> str | None:
    """A JSON scalar as text (``true``, ``12``, ``1.5``); ``None`` for ``null``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def from_json(value: object, depth: int = 0) -> Node | None:
    """A tree from a decoded JSON value; ``null`` (anywhere) is left out.

    Raises :class:`ParseError` beyond :data:`MAX_DEPTH` levels.
    """
    if depth > MAX_DEPTH:
        raise ParseError(f"JSON nested more than {MAX_DEPTH} levels deep; a receipt is not")
    if isinstance(value, dict):
        obj = Obj()
        for key, item in value.items():
            node = from_json(item, depth + 1)
            if node is not None:
                obj.add(str(key), node)
        return obj
    if isinstance(value, list):
        items = [from_json(item, depth + 1) for item in value]
        return [item for item in items if item is not None]
    return scalar_text(value)

"""Auto-detection: which catalogue provider wrote a key/value receipt, from its keys alone.

Each provider declares signatures (:class:`~dlrpoll.receipts.catalogue.entry.Provider`):
paths that must all hold a value (``MessageSid`` and ``MessageStatus``), or a value compared
without regard to case (``type=recipient_delivery_report_sms``, ``#root=MessageFailed``).
A document is a provider's when one of its signatures matches. When exactly one provider
matches, it is the one; when none or several do, nobody is guessed and the receipt is read
by the generic reader. Pure and deterministic: the same tree always gives the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dlrpoll.receipts.catalogue.entry import Provider
from dlrpoll.receipts.paths import field_path
from dlrpoll.receipts.tree import Node, Obj, Path, resolve
from dlrpoll.receipts.values import ABSENT

if TYPE_CHECKING:
    from dlrpoll.receipts.profiles import Profile

#: One compiled condition: a path, and the value it must equal (lower case), if any.
Condition = tuple[Path, str | None]


def _compile(condition: str) -> Condition:
    path, eq, value = condition.partition("=")
    return field_path(path), (value.strip().lower() if eq else None)


def _holds(root: Node, condition: Condition) -> bool:
    path, value = condition
    node = resolve(root, path)
    if isinstance(node, str):
        text = node.strip()
        return text.lower() == value if value is not None else text not in ABSENT
    if value is not None or node is None:
        return False
    return len(node.items) > 0 if isinstance(node, Obj) else len(node) > 0


def _anchor(conditions: tuple[Condition, ...]) -> str | None:
    """The top-level key a document must have for ``conditions`` to hold (every condition's
    path starts there, so its first one's will do); ``None`` for a path that starts with a
    list index (a document that is a list)."""
    first = conditions[0][0][0] if conditions and conditions[0][0] else None
    return first if isinstance(first, str) else None


@dataclass(frozen=True)
class Detector:
    """Providers' signatures, compiled once (:func:`detector`).

    Every signature needs its first condition's top-level key, so the signatures are indexed
    by that key (:attr:`by_key`): a record is checked only against the signatures its own
    keys can satisfy, a handful instead of every provider's (an e-mail's text gives several
    records, each read with this detector)."""

    signatures: tuple[tuple[str, tuple[tuple[Condition, ...], ...]], ...]
    #: anchor key → (catalogue position, signature) for the signatures anchored there
    by_key: Mapping[str, tuple[tuple[int, tuple[Condition, ...]], ...]] = field(
        default_factory=dict
    )
    #: signatures without an anchor (a document that is a list), checked always
    unanchored: tuple[tuple[int, tuple[Condition, ...]], ...] = ()

    def matches(self, root: Node | None) -> list[str]:
        """Every provider one of whose signatures ``root`` matches, in catalogue order."""
        if root is None:
            return []
        if isinstance(root, Obj):
            candidates = [c for key in root.items if key in self.by_key for c in self.by_key[key]]
        else:
            candidates = []
        found = {i for i, conds in (*candidates, *self.unanchored) if _all_hold(root, conds)}
        return [self.signatures[i][0] for i in sorted(found)]

    def detect(self, root: Node | None) -> str | None:
        """The one provider whose receipt this is, or ``None`` (no match, or ambiguous)."""
        found = self.matches(root)
        return found[0] if len(found) == 1 else None


def _all_hold(root: Node, conditions: tuple[Condition, ...]) -> bool:
    return all(_holds(root, c) for c in conditions)


def detector(providers: Mapping[str, Provider] | Iterable[Provider]) -> Detector:
    """A :class:`Detector` for ``providers`` (those without signatures are never detected)."""
    items = providers.values() if isinstance(providers, Mapping) else providers
    signatures = tuple(
        (p.name, tuple(tuple(_compile(c) for c in sig) for sig in p.detect))
        for p in items
        if p.detect
    )
    by_key: dict[str, list[tuple[int, tuple[Condition, ...]]]] = {}
    unanchored: list[tuple[int, tuple[Condition, ...]]] = []
    for i, (_name, alternatives) in enumerate(signatures):
        for conds in alternatives:
            anchor = _anchor(conds)
            if anchor is None:
                unanchored.append((i, conds))
            else:
                by_key.setdefault(anchor, []).append((i, conds))
    return Detector(
        signatures,
        {key: tuple(sigs) for key, sigs in by_key.items()},
        tuple(unanchored),
    )


@dataclass(frozen=True)
class Detection:
    """What the ``auto`` profile detects with: the providers' signatures and the profiles
    (built-in, or the user's replacement of one) they are read with."""

    detector: Detector
    profiles: Mapping[str, Profile]
    #: the profile undetected receipts are read with (the ``auto`` profile is a copy of it)
    generic: Profile

    @property
    def fallback(self) -> str:
        """The generic profile's name (``smpp``, ``upside``)."""
        return self.generic.name

    def choose(self, root: Node | None) -> Profile | None:
        """The detected provider's profile, or ``None`` for the generic reader."""
        name = self.detector.detect(root)
        return None if name is None else self.profiles.get(name)

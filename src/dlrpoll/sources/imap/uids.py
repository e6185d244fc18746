"""UID arithmetic for the IMAP source: remote ids, sequence sets, batches. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

__all__ = ["by_bytes", "remote_id", "uid_set", "windows"]


def remote_id(uidvalidity: int, uid: int) -> str:
    """The journal's id of a message: ``UIDVALIDITY:UID`` (RFC 3501 §2.3.1.1: the pair names
    one message for as long as the mailbox exists)."""
    return f"{uidvalidity}:{uid}"


def uid_set(uids: Iterable[int]) -> str:
    """A compact IMAP sequence set: ``[1, 2, 3, 7, 9, 10]`` → ``"1:3,7,9:10"``. Raises
    ``ValueError`` when empty (IMAP has no empty set)."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("an IMAP sequence set cannot be empty")
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts)


def windows(uids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    """Consecutive slices of at most ``size`` UIDs."""
    for start in range(0, len(uids), size):
        yield uids[start : start + size]


def by_bytes(uids: Sequence[int], sizes: Mapping[int, int], limit: int) -> Iterator[list[int]]:
    """Consecutive chunks of ``uids`` whose sizes add up to at most ``limit`` bytes; a message
    larger than ``limit`` is a chunk of its own."""
    chunk: list[int] = []
    total = 0
    for uid in uids:
        size = sizes[uid]
        if chunk and total + size > limit:
            yield chunk
            chunk, total = [], 0
        chunk.append(uid)
        total += size
    if chunk:
        yield chunk

"""Planning an IMAP poll (pure): what is fetched, in which batches, and what is acknowledged."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlrpoll.sources.imap.plan import BATCH_BYTES, Ack, Limits, Sizes, plan
from dlrpoll.sources.imap.uids import by_bytes, uid_set

V = 777


def known_of(journaled: set[int]):  # type: ignore[no-untyped-def]
    def known(ids: Sequence[str]) -> set[str]:
        return {i for i in ids if int(i.split(":")[1]) in journaled}

    return known


def limits(policy: str = "move", **more: object) -> Limits:
    values: dict[str, object] = dict(
        policy=policy, fetch_batch=4, max_messages=100, max_size=1 << 20, move=True
    )
    values.update(more)
    return Limits(**values)  # type: ignore[arg-type]


def no_sizes(uids: list[int]) -> Sizes:
    return Sizes()


def test_new_messages_in_batches_with_known_ones_acknowledged() -> None:
    units = list(plan(list(range(1, 11)), known_of({2, 3}), V, limits(),
                      classify=no_sizes, unseen=set(), deleted=set()))  # fmt: skip
    assert [u.fetch for u in units] == [[1, 4], [5, 6, 7, 8], [9, 10]]
    assert units[0].known == [f"{V}:2", f"{V}:3"]
    assert units[0].ack == Ack([2, 3])
    assert all(not u.ack for u in units[1:])


def test_max_messages_counts_new_ones_only() -> None:
    units = list(plan(list(range(1, 11)), known_of({1}), V, limits(max_messages=3),
                      classify=no_sizes, unseen=set(), deleted=set()))  # fmt: skip
    assert [u.fetch for u in units] == [[2, 3, 4]]
    # under "keep" nothing more is needed once the budget is spent
    units = list(plan(list(range(1, 11)), known_of(set()), V, limits("keep", max_messages=4),
                      classify=no_sizes, unseen=set(), deleted=set()))  # fmt: skip
    assert [u.fetch for u in units] == [[1, 2, 3, 4]]


@pytest.mark.parametrize(
    ("policy", "move", "ack"),
    [("keep", True, Ack()), ("flag", True, Ack([3])), ("delete", True, Ack([1, 3])),
     ("move", True, Ack([1, 3])), ("move", False, Ack([3], [1]))],
)  # fmt: skip
def test_what_known_messages_need(policy: str, move: bool, ack: Ack) -> None:
    units = list(plan([1, 3], known_of({1, 3}), V, limits(policy, move=move),
                      classify=no_sizes, unseen={3}, deleted={1}))  # fmt: skip
    # a window with nothing to fetch and nothing to do is no batch at all
    assert [(u.fetch, u.ack) for u in units] == ([([], ack)] if ack else [])


def test_oversize_unreadable_and_large_messages() -> None:
    def classify(uids: list[int]) -> Sizes:
        return Sizes(oversize={2: 9 << 20}, large={3, 4, 5}, unreadable={6: "NO damaged"})

    lim = limits(fetch_batch=8, max_size=8 * 1024 * 1024)  # two large ones per batch
    assert lim.large_batch == 2
    units = list(plan(list(range(1, 9)), known_of(set()), V, lim,
                      classify=classify, unseen=set(), deleted=set()))  # fmt: skip
    assert [u.fetch for u in units] == [[1, 7, 8], [3, 4], [5]]
    assert units[0].oversize == {2: 9 << 20} and units[0].unreadable == {6: "NO damaged"}


@given(st.lists(st.integers(1, 10**6), unique=True, max_size=200).map(sorted))
def test_uid_sets_name_exactly_the_uids(uids: list[int]) -> None:
    if not uids:
        with pytest.raises(ValueError):
            uid_set(uids)
        return
    named: set[int] = set()
    for part in uid_set(uids).split(","):
        low, _, high = part.partition(":")
        named.update(range(int(low), int(high or low) + 1))
    assert named == set(uids)


def test_byte_chunks() -> None:
    sizes = {1: 10, 2: 10, 3: 30, 4: 5}
    assert list(by_bytes([1, 2, 3, 4], sizes, 25)) == [[1, 2], [3], [4]]
    assert BATCH_BYTES == 16 * 1024 * 1024

"""Whole polls of the independent node ``soap`` event feed, configured only through TOML:
every receipt stored once, destructive and two-phase, SOAP 1.1 and 1.2."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.soap.conftest import smpp
from tests.support.node_soap import NodeSoap

PASSPHRASE = "node-feed-passphrase-3c1e"


@pytest.fixture
def feed(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[NodeSoap]:
    monkeypatch.setenv("DLRPOLL_TEST_NODE_PASSPHRASE", PASSPHRASE)
    soap12 = getattr(request, "param", False)
    with NodeSoap.start(passphrase=PASSPHRASE, max_batch=100, soap12=soap12) as service:
        yield service


def feed_toml(feed: NodeSoap, mode: str) -> str:
    return f"""
[[sources]]
name = "feed"
kind = "soap"
wsdl = "{feed.wsdl_url}"
timeout = 5
retries = 1
{feed.toml(mode, batch=100)}
"""


@pytest.mark.parametrize("feed", [False, True], ids=["soap11", "soap12"], indirect=True)
def test_destructive_poll_stores_every_receipt_once(feed: NodeSoap, deploy: Any) -> None:
    keys = feed.load((smpp(n) for n in range(250)), sender="+15550123")
    dep = deploy(feed_toml(feed, "destructive"))

    result = dep.poll()

    assert (result.outcome, result.fetched, result.stored) == ("ok", 250, 250)
    assert feed.pending() == [] and feed.read() == keys
    assert feed.calls() == ["DrainEvents"] * 3  # 100, 100, 50
    assert sorted(dep.message_ids()) == [f"M{n:07d}" for n in range(250)]
    assert len(dep.journal("soap-envelope")) == 3
    rows = dep.query(
        "SELECT remote_id, sender, received_at FROM raw_messages WHERE format = 'text' ORDER BY id"
    )
    assert [r[0] for r in rows] == keys
    assert {r[1] for r in rows} == {"+15550123"} and all(r[2] for r in rows)

    again = dep.poll()
    assert (again.outcome, again.fetched, again.stored) == ("ok", 0, 0)
    assert len(dep.message_ids()) == 250


def test_two_phase_poll_acknowledges_each_receipt_after_storing_it(
    feed: NodeSoap, deploy: Any
) -> None:
    keys = feed.load(smpp(n) for n in range(7))
    dep = deploy(feed_toml(feed, "two-phase"))

    result = dep.poll()

    assert (result.outcome, result.stored) == ("ok", 7)
    assert feed.pending() == [] and feed.read() == keys
    assert feed.calls() == ["PeekEvent", "AckEvent"] * 7 + ["PeekEvent"]
    assert feed.served() == {key: 1 for key in keys}
    assert [r[0] for r in dep.journal("text")] == keys
    assert sorted(dep.message_ids()) == [f"M{n:07d}" for n in range(7)]
    assert dep.poll().stored == 0


def test_wrong_passphrase_is_an_authentication_error(
    feed: NodeSoap, deploy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed.load([smpp(1)])
    monkeypatch.setenv("DLRPOLL_TEST_NODE_PASSPHRASE", "wrong")
    dep = deploy(feed_toml(feed, "destructive"))
    result = dep.poll()
    assert result.outcome == "error" and "Authentication failed" in (result.error or "")
    assert len(feed.pending()) == 1 and dep.message_ids() == []

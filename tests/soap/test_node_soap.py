"""Whole polls of the independent node ``soap`` event feed, configured only through TOML:
every receipt stored once, destructive and two-phase, SOAP 1.1 and 1.2; and issue 11's
behaviours where this real stack shows them: children in no namespace (with the WSDL saying
so, and with a WSDL that says otherwise), the SOAP 1.1 port chosen beside a SOAP 1.2 one,
HTTP Basic and ``X-Api-Key`` credentials the server enforces, and empty replies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
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


def feed_toml(feed: NodeSoap, mode: str, extra: str = "", *, batch: int = 100) -> str:
    return f"""
[[sources]]
name = "feed"
kind = "soap"
wsdl = "{feed.wsdl_url}"
timeout = 5
retries = 1
{feed.toml(mode, batch=batch)}
{extra}
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


# -- issue 11's behaviours on this stack ----------------------------------------------------
MODES = ("destructive", "two-phase")
N = 7
HTTP_USER, HTTP_PASSWORD, API_KEY = "feed-http-user", "feed-http-pw-5e2a", "feed-api-key-81c4"
ENV11 = "http://schemas.xmlsoap.org/soap/envelope/"
ENV12 = "http://www.w3.org/2003/05/soap-envelope"


def stored_once(feed: NodeSoap, dep: Any, keys: list[str]) -> None:
    """Every event was read, carried once (a destructive reply, or one peek), journaled and
    stored once; the next poll finds nothing."""
    assert feed.pending() == [] and feed.read() == keys
    assert feed.served() == {key: 1 for key in keys}
    assert [r[0] for r in dep.journal("text")] == keys
    assert sorted(dep.message_ids()) == [f"M{n:07d}" for n in range(len(keys))]
    assert dep.query("SELECT count(*) FROM raw_messages WHERE parse_error IS NOT NULL") == [(0,)]
    again = dep.poll()
    assert (again.outcome, again.fetched, again.stored) == ("ok", 0, 0), again.error
    assert len(dep.message_ids()) == len(keys)


@pytest.mark.parametrize("mode", MODES)
def test_1_children_in_no_namespace_as_the_wsdl_says(
    mode: str, deploy: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``elementFormDefault`` left out: node-soap writes ``<ev:DrainEventsReply><summary>…``."""
    caplog.set_level("INFO", logger="dlrpoll.sources.soap")
    monkeypatch.setenv("DLRPOLL_TEST_NODE_PASSPHRASE", PASSPHRASE)
    with NodeSoap.start(passphrase=PASSPHRASE, qualified=False) as feed:
        keys = feed.load(smpp(n) for n in range(N))
        dep = deploy(feed_toml(feed, mode, batch=3))
        result = dep.poll()
        assert (result.outcome, result.stored) == ("ok", N), result.error
        reply = next(e.reply for e in feed.exchanges() if e.reply)
        assert "<summary>" in reply or "<waiting>" in reply  # unqualified children
        stored_once(feed, dep, keys)
    assert "matched by qualified name, as the WSDL says" in caplog.text


@pytest.mark.parametrize("mode", MODES)
def test_1_children_in_no_namespace_where_the_wsdl_says_qualified(
    mode: str,
    deploy: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A WSDL that says qualified (a copy the provider handed out, say) while the service
    writes its children in no namespace: matched by local name, and the log says so."""
    caplog.set_level("INFO", logger="dlrpoll.sources.soap")
    monkeypatch.setenv("DLRPOLL_TEST_NODE_PASSPHRASE", PASSPHRASE)
    with NodeSoap.start(passphrase=PASSPHRASE, qualified=False) as feed:
        keys = feed.load(smpp(n) for n in range(N))
        marker = '<xs:schema targetNamespace="urn:example:dlr-events:2026"'
        served = feed.wsdl_text()
        assert marker + ">" in served  # no elementFormDefault
        local = tmp_path / "events.wsdl"
        local.write_text(served.replace(marker, marker + ' elementFormDefault="qualified"'))
        toml = feed_toml(feed, mode, batch=3).replace(f'"{feed.wsdl_url}"', f'"{local}"')
        dep = deploy(toml)
        result = dep.poll()
        assert (result.outcome, result.stored) == ("ok", N), result.error
        stored_once(feed, dep, keys)
    assert "matched by local name: they are qualified otherwise than the WSDL says" in caplog.text


@pytest.mark.parametrize("mode", MODES)
def test_5_the_soap11_port_is_chosen_beside_a_soap12_one_listed_first(
    mode: str, deploy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dlrpoll.sources.soap import chosen_port

    monkeypatch.setenv("DLRPOLL_TEST_NODE_PASSPHRASE", PASSPHRASE)
    with NodeSoap.start(passphrase=PASSPHRASE, ports="12,11") as feed:
        keys = feed.load(smpp(n) for n in range(N))
        dep = deploy(feed_toml(feed, mode, batch=3))
        assert chosen_port(dep.config, dep.cfg).text() == (
            f"service EventFeed, port EventFeedPort (SOAP 1.1) at {feed.url}; "
            "also offered: EventFeedSoap12 (SOAP 1.2)"
        )
        assert dep.poll().stored == N
        exchanges = feed.exchanges()
        assert {e.path for e in exchanges} == {"/events"}
        assert all(ENV11 in e.reply and ENV12 not in e.reply for e in exchanges)
        stored_once(feed, dep, keys)

        # the operator picks the SOAP 1.2 port by name
        more = feed.load(smpp(n) for n in range(N, 2 * N))
        dep.config = deploy(feed_toml(feed, mode, 'port = "EventFeedSoap12"', batch=3)).config
        before = len(feed.exchanges())
        assert dep.poll().stored == N
        later = feed.exchanges()[before:]
        assert later and {e.path for e in later} == {"/events12"}
        assert all(ENV12 in e.reply for e in later)
        assert feed.pending() == [] and feed.served() == {k: 1 for k in keys + more}


AUTH = {
    "basic": (
        {"basic": (HTTP_USER, HTTP_PASSWORD)},
        f'http_auth = {{ username = "{HTTP_USER}", '
        'password = { env = "DLRPOLL_TEST_NODE_PW" } }',
    ),
    "api-key": (
        {"api_key": API_KEY},
        'http_headers = { "X-Api-Key" = { env = "DLRPOLL_TEST_NODE_KEY" } }',
    ),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kinds", [("basic",), ("api-key",), ("basic", "api-key")], ids="+".join)
def test_6_http_credentials_the_server_enforces(
    kinds: tuple[str, ...],
    mode: str,
    deploy: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    monkeypatch.setenv("DLRPOLL_TEST_NODE_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("DLRPOLL_TEST_NODE_PW", HTTP_PASSWORD)
    monkeypatch.setenv("DLRPOLL_TEST_NODE_KEY", API_KEY)
    options: dict[str, Any] = {}
    for kind in kinds:
        options.update(AUTH[kind][0])
    extra = "\n".join(AUTH[kind][1] for kind in kinds)
    with NodeSoap.start(passphrase=PASSPHRASE, **options) as feed:
        keys = feed.load(smpp(n) for n in range(N))
        dep = deploy(feed_toml(feed, mode, extra, batch=3))
        result = dep.poll()
        assert (result.outcome, result.stored) == ("ok", N), result.error
        stored_once(feed, dep, keys)
        assert feed.rejected() == 0  # the WSDL and every call carried them

        # each credential wrong: refused by the server (the WSDL is loaded once per process,
        # so it is the call that is refused), nothing read
        feed.load([smpp(99)])
        for n, kind in enumerate(kinds, 1):
            env = "DLRPOLL_TEST_NODE_PW" if kind == "basic" else "DLRPOLL_TEST_NODE_KEY"
            monkeypatch.setenv(env, "wrong-value")
            wrong = deploy(feed_toml(feed, mode, extra))
            wrong.base, wrong.polls = dep.base, dep.polls + n  # due again
            failed = wrong.poll()
            monkeypatch.setenv(env, HTTP_PASSWORD if kind == "basic" else API_KEY)
            assert failed.outcome == "error"
            assert f"HTTP {401 if kind == 'basic' else 403}" in (failed.error or "")
        assert len(feed.pending()) == 1 and feed.rejected() == len(kinds)
    assert HTTP_PASSWORD not in caplog.text and API_KEY not in caplog.text


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("empty_as", ["list", "absent"])
def test_an_empty_inbox_is_recognisably_empty(
    empty_as: str, mode: str, deploy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``<events></events>`` (or ``<head></head>``), or the element left out: ok, nothing
    stored, nothing quarantined."""
    monkeypatch.setenv("DLRPOLL_TEST_NODE_PASSPHRASE", PASSPHRASE)
    with NodeSoap.start(passphrase=PASSPHRASE, empty_as=empty_as) as feed:
        dep = deploy(feed_toml(feed, mode))
        result = dep.poll()
        assert (result.outcome, result.fetched, result.stored) == ("ok", 0, 0), result.error
        [exchange] = feed.exchanges()
        element = "events" if mode == "destructive" else "head"
        empty = f"<ev:{element}></ev:{element}>"
        if empty_as == "list":
            assert empty in exchange.reply
        else:
            assert f"<ev:{element}" not in exchange.reply
        assert dep.query("SELECT count(*) FROM raw_messages WHERE parse_error IS NOT NULL") == [
            (0,)
        ]
        # and the next event after it is read as usual
        keys = feed.load([smpp(0)])
        assert dep.poll().stored == 1
        assert feed.read() == keys and feed.served() == {keys[0]: 1}


@pytest.mark.parametrize("mode", MODES)
def test_an_empty_reply_that_is_not_xml_fails_loudly(
    mode: str, deploy: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """node-soap writes a null result as ``xsi:nil="true"`` without declaring ``xsi``: not
    XML, so not an empty inbox either. The reply is kept and the poll fails."""
    monkeypatch.setenv("DLRPOLL_TEST_NODE_PASSPHRASE", PASSPHRASE)
    with NodeSoap.start(passphrase=PASSPHRASE, empty_as="nil") as feed:
        dep = deploy(feed_toml(feed, mode))
        result = dep.poll()
        assert result.outcome == "error"
        assert "not well-formed XML" in (result.error or "") and "xsi" in (result.error or "")
        [(_rid, payload, reason)] = dep.journal("soap-envelope")
        assert b'xsi:nil="true"' in payload and "not well-formed" in reason
        assert "receipts may be waiting in a journaled response" in caplog.text

"""Whole polls (journal, split, parse, store, acknowledge) of SOAP inboxes configured only
through TOML: the sandbox, and the independent PHP relay whose WSDL has other names and
nesting."""

from __future__ import annotations

from typing import Any

from dlrpoll.sandbox.soap_inbox import Injected, SoapInbox
from tests.soap.conftest import (
    RELAY_DESTRUCTIVE,
    RELAY_TWO_PHASE,
    TOKEN,
    relay_toml,
    sandbox_toml,
    smpp,
)
from tests.support.php_soap import PhpRelay


def test_sandbox_poll_stores_every_receipt_once(inbox: SoapInbox, deploy: Any) -> None:
    inbox.load(smpp(n) for n in range(650))
    dep = deploy(sandbox_toml(inbox))
    result = dep.poll()
    assert (result.outcome, result.fetched, result.stored) == ("ok", 650, 650)
    assert dep.message_ids() == [f"M{n:07d}" for n in range(650)]
    # three envelopes (300, 300, 50) journaled beside the 650 items they held
    assert len(dep.journal("soap-envelope")) == 3
    assert len(dep.journal("text")) == 650
    again = dep.poll()
    assert (again.outcome, again.fetched, again.stored) == ("ok", 0, 0)
    assert len(dep.message_ids()) == 650


def test_sandbox_empty_inbox(inbox: SoapInbox, deploy: Any) -> None:
    dep = deploy(sandbox_toml(inbox))
    result = dep.poll()
    assert (result.outcome, result.fetched, result.stored) == ("ok", 0, 0)


def test_hostile_response_is_journaled_and_quarantined(inbox: SoapInbox, deploy: Any) -> None:
    inbox.load(smpp(n) for n in range(3))
    inbox.inject(Injected.BOMB)
    dep = deploy(sandbox_toml(inbox))
    result = dep.poll()
    assert result.outcome == "error" and "DTD" in (result.error or "")
    [(remote_id, payload, reason)] = dep.journal("soap-envelope")
    assert remote_id is None and b"&lol9;" in payload and "DTD" in reason
    assert dep.message_ids() == []
    [(outcome, error)] = dep.query("SELECT outcome, error FROM poll_runs")
    assert outcome == "error" and "refused" in error


def test_truncated_response_keeps_what_arrived(inbox: SoapInbox, deploy: Any) -> None:
    inbox.load(smpp(n) for n in range(40))
    inbox.inject(Injected.TRUNCATED)
    dep = deploy(sandbox_toml(inbox))
    result = dep.poll()
    assert result.outcome == "error" and "broke off" in (result.error or "")
    [(_rid, payload, reason)] = dep.journal("soap-envelope")
    assert payload.startswith(b"<?xml") and b"M0000000" in payload
    assert "marked the messages in this response read" in reason


def test_lost_response_is_recorded_as_possible_loss(inbox: SoapInbox, deploy: Any) -> None:
    inbox.load(smpp(n) for n in range(5))
    inbox.inject(Injected.STALL)
    dep = deploy(sandbox_toml(inbox, timeout=0.5))
    result = dep.poll()
    inbox.release()
    assert result.outcome == "error"
    assert "may have been marked read on the server" in (result.error or "")
    [(outcome, error)] = dep.query("SELECT outcome, error FROM poll_runs")
    assert outcome == "error" and "not in the journal" in error
    assert inbox.calls["GetNewInboxMessages"] == 1


def test_bad_credentials_end_the_poll_with_an_error(inbox: SoapInbox, deploy: Any) -> None:
    inbox.signature = "rotated"
    dep = deploy(sandbox_toml(inbox))
    result = dep.poll()
    assert result.outcome == "error" and "Invalid token or signature" in (result.error or "")
    assert TOKEN not in str(dep.query("SELECT * FROM poll_runs"))


def test_sandbox_two_phase_poll(inbox: SoapInbox, deploy: Any) -> None:
    inbox.load(smpp(n) for n in range(7))
    dep = deploy(sandbox_toml(inbox, 'mode = "two-phase"'))
    result = dep.poll()
    assert (result.outcome, result.stored) == ("ok", 7)
    assert inbox.unread() == 0
    assert "GetNewInboxMessages" not in inbox.calls


# -- the independent PHP SoapServer relay -----------------------------------------------------


def test_relay_batches_of_exactly_300_repeat(relay: PhpRelay, deploy: Any) -> None:
    relay.load(smpp(n) for n in range(600))
    dep = deploy(relay_toml(relay, RELAY_DESTRUCTIVE))
    result = dep.poll()
    assert (result.outcome, result.fetched, result.stored) == ("ok", 600, 600)
    assert relay.pending() == 0
    # 300, 300, then the call that found it empty
    assert len(dep.journal("soap-envelope")) == 3
    assert sorted(dep.message_ids()) == [f"M{n:07d}" for n in range(600)]
    # remote_id, sender and received_at came from meta.ref, meta.origin and meta.at
    [(remote_id, sender, received_at)] = dep.query(
        "SELECT remote_id, sender, received_at FROM raw_messages WHERE format = 'text' "
        "ORDER BY id LIMIT 1"
    )
    assert remote_id.startswith("R") and sender == "RELAY" and received_at is not None


def test_relay_empty(relay: PhpRelay, deploy: Any) -> None:
    dep = deploy(relay_toml(relay, RELAY_DESTRUCTIVE))
    result = dep.poll()
    assert (result.outcome, result.fetched) == ("ok", 0)


def test_relay_fault_for_bad_credentials(relay: PhpRelay, deploy: Any) -> None:
    wrong = RELAY_DESTRUCTIVE.replace('account = "acme"', 'account = "someone-else"')
    dep = deploy(relay_toml(relay, wrong))
    result = dep.poll()
    assert result.outcome == "error"
    assert "unknown account or wrong apiKey" in (result.error or "")


def test_relay_two_phase(relay: PhpRelay, deploy: Any) -> None:
    refs = relay.load(smpp(n) for n in range(5))
    dep = deploy(relay_toml(relay, RELAY_TWO_PHASE))
    result = dep.poll()
    assert (result.outcome, result.stored) == ("ok", 5)
    assert relay.pending() == 0 and relay.read_refs() == set(refs)
    assert [r[0] for r in dep.journal("text")] == refs

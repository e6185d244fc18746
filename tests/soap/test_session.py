"""The SOAP source's session and split, driven directly against the sandbox inbox."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.config import ConfigError, Secret, SoapSourceConfig
from dlrpoll.errors import (
    PossibleLossError,
    SourceAuthError,
    SourceConnectError,
    SourceProtocolError,
    SourceResponseError,
    SourceTimeoutError,
)
from dlrpoll.rawitem import RawItem
from dlrpoll.sandbox.soap_inbox import Injected, SoapInbox, smpp_receipts
from dlrpoll.sources.base import Batch
from dlrpoll.sources.retry import RetryPolicy
from dlrpoll.sources.soap import SoapSource
from tests.soap.conftest import SIGNATURE, TOKEN
from tests.support.placed import placed


def make(inbox: SoapInbox, attempts: int = 1, at: int = 0, **overrides: Any) -> SoapSource:
    values: dict[str, Any] = {
        "kind": "soap",
        "name": "upside",
        "wsdl": inbox.wsdl_url,
        "timeout": 0.5,
    }
    values.update(overrides)
    cfg = placed(values, at=at)
    assert isinstance(cfg, SoapSourceConfig)
    args = {"token": Secret(TOKEN, "env T"), "signature": Secret(SIGNATURE, "env S")}
    return SoapSource(cfg, args, RetryPolicy(attempts=attempts, wait_initial=0.0))


def drain(source: SoapSource, known: set[str] | None = None) -> list[tuple[Batch, list[RawItem]]]:
    """Run one session as the poller would: split each envelope, then acknowledge."""
    out = []
    with source.open() as session:
        for batch in session.batches(lambda ids: set(ids) & (known or set())):
            items = source.split(batch.envelope) if batch.envelope is not None else []
            out.append((batch, items))
            session.acknowledge(batch)
    return out


def test_full_batches_of_300_repeat_the_call(inbox: SoapInbox) -> None:
    ids = inbox.load(smpp_receipts(600))
    got = drain(make(inbox))
    # 300 and 300 are full batches, so a third call finds the inbox empty
    assert [len(items) for _b, items in got] == [300, 300, 0]
    assert inbox.calls["GetNewInboxMessages"] == 3
    assert [i.remote_id for _b, items in got for i in items] == ids
    first = got[0][1][0]
    assert first.payload == smpp_receipts(1)[0].encode()
    assert first.format == "text" and first.sender == "12065551234"
    assert all(b.envelope is not None and b.envelope.format == "soap-envelope" for b, _ in got)
    assert inbox.unread() == 0


def test_a_short_batch_ends_the_poll(inbox: SoapInbox) -> None:
    inbox.load(smpp_receipts(299))
    got = drain(make(inbox))
    assert [len(items) for _b, items in got] == [299]
    assert inbox.calls["GetNewInboxMessages"] == 1


def test_max_batches_bounds_one_poll(inbox: SoapInbox) -> None:
    inbox.load(smpp_receipts(30))
    inbox.max_per_call = 10
    got = drain(make(inbox, batch_limit=10, max_batches=2))
    assert [len(items) for _b, items in got] == [10, 10]
    assert inbox.unread() == 10


def test_empty_inbox_is_one_empty_envelope(inbox: SoapInbox) -> None:
    got = drain(make(inbox))
    assert len(got) == 1
    batch, items = got[0]
    assert items == []
    assert batch.envelope is not None and b"GetNewInboxMessagesResult" in batch.envelope.payload


def test_split_of_journaled_bytes_needs_no_network(inbox: SoapInbox) -> None:
    inbox.load(smpp_receipts(5))
    source = make(inbox)
    [(batch, items)] = drain(source)
    assert batch.envelope is not None
    calls = inbox.requests
    # fresh bytes, as read back from the journal: parsed again, same items, no call made
    again = source.split(RawItem(None, bytes(bytearray(batch.envelope.payload)), "soap-envelope"))
    assert again == items
    assert inbox.requests == calls


def test_bad_credentials_are_an_auth_error_without_the_secret(
    inbox: SoapInbox, caplog: pytest.LogCaptureFixture
) -> None:
    inbox.token = "rotated"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SourceAuthError, match="Invalid token or signature") as info:
        drain(make(inbox))
    assert "upside" in str(info.value)
    assert TOKEN not in str(info.value) and TOKEN not in caplog.text
    assert SIGNATURE not in caplog.text


def test_http_500_is_a_protocol_error(inbox: SoapInbox) -> None:
    inbox.load(smpp_receipts(3))
    inbox.inject(Injected.HTTP_500)
    with pytest.raises(SourceProtocolError, match="HTTP 500; expected 200"):
        drain(make(inbox))


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (Injected.NON_XML, "not well-formed XML"),
        (Injected.TRUNCATED_XML, "not well-formed XML"),
        (Injected.BOMB, "refused a response with a DTD"),
        (Injected.EXTERNAL_ENTITY, "refused a response with a DTD"),
    ],
)
def test_unreadable_responses_are_handed_over_then_refused(
    inbox: SoapInbox, kind: Injected, reason: str
) -> None:
    inbox.load(smpp_receipts(3))
    inbox.inject(kind)
    source = make(inbox)
    with source.open() as session:
        batches = list(session.batches(lambda ids: set()))
    # the envelope comes out first (so it is journaled as it arrived), and nothing after it
    assert len(batches) == 1
    envelope = batches[0].envelope
    assert envelope is not None and envelope.parse_error is None
    with pytest.raises(SourceResponseError, match=reason):
        source.split(envelope)
    if kind in (Injected.BOMB, Injected.EXTERNAL_ENTITY):
        # kept verbatim: the entity reference is there, its expansion is not
        assert (
            b"<!DOCTYPE" in envelope.payload
            and b"&lol9;" in envelope.payload
            or (b"&xxe;" in envelope.payload)
        )
        assert b"root:" not in envelope.payload and b"lollollol" not in envelope.payload


def test_a_body_that_breaks_off_keeps_its_prefix_with_the_reason(
    inbox: SoapInbox, caplog: pytest.LogCaptureFixture
) -> None:
    inbox.load(smpp_receipts(3))
    inbox.inject(Injected.TRUNCATED)
    source = make(inbox)
    with source.open() as session:
        [batch] = list(session.batches(lambda ids: set()))
    envelope = batch.envelope
    assert envelope is not None and envelope.payload.startswith(b"<?xml")
    assert envelope.parse_error is not None and "broke off after" in envelope.parse_error
    assert "marked the messages in this response read" in envelope.parse_error
    with pytest.raises(SourceResponseError, match="broke off"):
        source.split(envelope)
    assert "broke off" in caplog.text


def test_response_size_cap(inbox: SoapInbox) -> None:
    inbox.load(smpp_receipts(3))
    inbox.inject(Injected.HUGE, size=400_000)
    source = make(inbox, max_response_size="100KiB")
    with source.open() as session:
        [batch] = list(session.batches(lambda ids: set()))
    envelope = batch.envelope
    assert envelope is not None and len(envelope.payload) == 100 * 1024
    assert envelope.parse_error is not None and "max_response_size" in envelope.parse_error
    with pytest.raises(SourceResponseError, match="max_response_size"):
        source.split(envelope)


def test_a_lost_destructive_response_is_possible_loss_and_not_retried(
    inbox: SoapInbox, caplog: pytest.LogCaptureFixture
) -> None:
    inbox.load(smpp_receipts(3))
    inbox.inject(Injected.STALL)
    with pytest.raises(PossibleLossError, match="may have been marked read on the server"):
        drain(make(inbox, attempts=3))
    inbox.release()
    assert inbox.calls["GetNewInboxMessages"] == 1  # never retried
    assert inbox.unread() == 0  # the server did mark them read
    assert "marked read on the server" in caplog.text


def test_connect_failures_are_retried(tmp_path: Path, inbox: SoapInbox) -> None:
    # the WSDL is loaded, then the endpoint refuses connections
    dead = SoapInbox().start()
    dead_url = dead.url
    dead.stop()
    source = make(inbox, attempts=2, endpoint=dead_url)
    with pytest.raises(SourceConnectError, match="cannot connect"):
        drain(source)


def test_wsdl_from_a_local_file_with_an_endpoint(tmp_path: Path, inbox: SoapInbox) -> None:
    wsdl = tmp_path / "upside-sms.wsdl"
    wsdl.write_text(inbox.wsdl.replace(inbox.url, "http://192.0.2.1/unreachable.asmx"))
    inbox.load(smpp_receipts(2))
    got = drain(make(inbox, wsdl=str(wsdl), endpoint=inbox.url))
    assert [len(items) for _b, items in got] == [2]
    assert inbox.wsdl_requests == 0


def test_the_wsdl_is_loaded_once_per_process(inbox: SoapInbox) -> None:
    drain(make(inbox))
    drain(make(inbox))
    assert inbox.wsdl_requests == 1


def test_items_path_may_name_the_wrappers_zeep_drops(inbox: SoapInbox) -> None:
    ids = inbox.load(smpp_receipts(4))
    got = drain(make(inbox, items="GetNewInboxMessagesResult.NewSMSMessage"))
    assert [i.remote_id for _b, items in got for i in items] == ids
    ids = inbox.load(smpp_receipts(4))
    got = drain(make(inbox, items=""))
    assert [i.remote_id for _b, items in got for i in items] == ids


TWO_PHASE = {"mode": "two-phase"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"items": "Messages"}, "items: 'Messages' does not lead"),
        ({"fields": {"body": "text"}}, "fields.body: NewSMSMessage has no element 'text'"),
        ({"operation": "GetAllMessages"}, "operation: the WSDL http://"),
        ({**TWO_PHASE, "ack_arg": "id"}, "ack_arg: SetMessageReadFlag takes no"),
        ({**TWO_PHASE, "peek_items": "Nope"}, "peek_items: 'Nope' does not lead"),
        ({**TWO_PHASE, "peek_operation": "Nope"}, "peek_operation: the WSDL http://"),
        ({**TWO_PHASE, "ack_operation": "Nope"}, "ack_operation: the WSDL has no operation"),
    ],
)
def test_layout_mistakes_are_config_errors_naming_the_source_and_its_key_path(
    inbox: SoapInbox, overrides: dict[str, Any], message: str
) -> None:
    # the third [[sources]] table: the key path a user finds in the file, as load-time
    # messages and check-config give it
    with pytest.raises(ConfigError) as info:
        drain(make(inbox, at=2, **overrides))
    assert info.value.problems == [str(info.value)]
    assert str(info.value).startswith(f"source 'upside': sources[2].{message}"), info.value


def test_a_fault_in_a_200_response_is_refused(inbox: SoapInbox) -> None:
    source = make(inbox)
    source.plans()
    fault = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
        b"<faultcode>s:Server</faultcode><faultstring>busy</faultstring></s:Fault></s:Body>"
        b"</s:Envelope>"
    )
    with pytest.raises(SourceProtocolError, match="SOAP fault s:Server: busy"):
        source.split(RawItem(None, fault, "soap-envelope"))


# -- two-phase -----------------------------------------------------------------------------


def test_two_phase_flags_each_message_only_when_acknowledged(inbox: SoapInbox) -> None:
    ids = inbox.load(smpp_receipts(3))
    source = make(inbox, mode="two-phase")
    with source.open() as session:
        batches = session.batches(lambda ids: set())
        first = next(batches)
        assert first.envelope is not None
        assert [i.remote_id for i in source.split(first.envelope)] == ids[:1]
        assert inbox.unread() == 3  # peeked, not flagged
        session.acknowledge(first)
        assert inbox.unread() == 2
        second = next(batches)
        assert second.envelope is not None and second.ack == ids[1:2]
        # not acknowledged (as after a failed commit): the same message comes back, and
        # the session stops rather than loop on it
        with pytest.raises(SourceProtocolError, match="did not mark"):
            next(batches)
    assert inbox.calls["SetMessageReadFlag"] == 1
    assert inbox.unread() == 2


def test_two_phase_drains_and_stops_at_an_empty_inbox(inbox: SoapInbox) -> None:
    ids = inbox.load(smpp_receipts(5))
    got = drain(make(inbox, mode="two-phase"))
    assert [i.remote_id for _b, items in got for i in items] == ids
    assert inbox.unread() == 0
    assert inbox.calls["GetTopMessageNoReset"] == 6


def test_two_phase_known_message_is_only_flagged(inbox: SoapInbox) -> None:
    ids = inbox.load(smpp_receipts(2))
    got = drain(make(inbox, mode="two-phase"), known={ids[0]})
    assert got[0][0].envelope is None and got[0][0].known == [ids[0]]
    assert got[1][0].envelope is not None
    assert inbox.unread() == 0


def test_two_phase_retries_everything_before_the_read_flag(inbox: SoapInbox) -> None:
    ids = inbox.load(smpp_receipts(2))
    inbox.inject(Injected.HTTP_500, operation="GetTopMessageNoReset")
    inbox.inject(Injected.TRUNCATED, operation="GetTopMessageNoReset")
    inbox.inject(Injected.STALL, operation="GetTopMessageNoReset")
    got = drain(make(inbox, attempts=4, mode="two-phase"))
    inbox.release()
    assert [i.remote_id for _b, items in got for i in items] == ids
    assert inbox.unread() == 0


def test_two_phase_gives_up_after_its_attempts(inbox: SoapInbox) -> None:
    inbox.load(smpp_receipts(1))
    inbox.inject(Injected.STALL, times=2, operation="GetTopMessageNoReset")
    with pytest.raises(SourceTimeoutError, match="GetTopMessageNoReset"):
        drain(make(inbox, attempts=2, mode="two-phase"))
    inbox.release()
    assert inbox.unread() == 1


def test_two_phase_notices_a_read_flag_that_does_not_stick(inbox: SoapInbox) -> None:
    inbox.load(smpp_receipts(2))
    inbox.ignore_read_flag = True
    with pytest.raises(SourceProtocolError, match="did not mark .* read"):
        drain(make(inbox, mode="two-phase"))
    assert inbox.calls["GetTopMessageNoReset"] == 2

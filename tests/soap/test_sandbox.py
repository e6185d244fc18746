"""The sandbox inbox itself, checked with a plain zeep client: it must look like the
provider's service to any SOAP client, not just to dlrpoll."""

from __future__ import annotations

import urllib.request

import pytest
import zeep
import zeep.exceptions

from dlrpoll.sandbox.soap_inbox import SoapInbox, smpp_receipts
from tests.soap.conftest import SIGNATURE, TOKEN

CREDS = {"token": TOKEN, "signature": SIGNATURE}


def client(inbox: SoapInbox) -> zeep.Client:
    return zeep.Client(inbox.wsdl_url)


def test_wsdl_points_at_the_running_inbox(inbox: SoapInbox) -> None:
    with urllib.request.urlopen(inbox.wsdl_url, timeout=5) as resp:
        text = resp.read().decode()
    assert f'location="{inbox.url}"' in text
    assert 'targetNamespace="http://upsidewireless.com/webservice/sms"' in text


def test_get_new_inbox_messages_returns_at_most_300_and_marks_them_read(
    inbox: SoapInbox,
) -> None:
    ids = inbox.load(smpp_receipts(301))
    svc = client(inbox).service
    assert svc.GetNewInboxCount(**CREDS) == 301
    first = svc.GetNewInboxMessages(**CREDS)
    assert len(first) == 300 and [m.messageid for m in first] == ids[:300]
    assert first[0].data == smpp_receipts(1)[0] and first[0].isValid is True
    assert ids[0].startswith("Mail") and "-" in ids[0]
    assert svc.GetNewInboxCount(**CREDS) == 1
    assert [m.messageid for m in svc.GetNewInboxMessages(**CREDS)] == ids[300:]
    # an empty inbox: zeep hands back None, not []
    assert svc.GetNewInboxMessages(**CREDS) is None


def test_peek_then_read_flag(inbox: SoapInbox) -> None:
    ids = inbox.load(smpp_receipts(2))
    svc = client(inbox).service
    top = svc.GetTopMessageNoReset(**CREDS)
    assert top.messageid == ids[0] and top.trackingid and top.utcTime is not None
    assert svc.GetTopMessageNoReset(**CREDS).messageid == ids[0]  # no reset: still there
    assert svc.SetMessageReadFlag(messageId=ids[0], **CREDS) is True
    assert svc.GetTopMessageNoReset(**CREDS).messageid == ids[1]
    assert inbox.unread_ids() == ids[1:]
    svc.SetMessageReadFlag(messageId=ids[1], **CREDS)
    empty = svc.GetTopMessageNoReset(**CREDS)
    assert empty.isValid is False and empty.messageid is None


def test_wrong_token_is_a_client_fault(inbox: SoapInbox) -> None:
    inbox.load(smpp_receipts(1))
    with pytest.raises(zeep.exceptions.Fault) as info:
        client(inbox).service.GetNewInboxMessages(token="wrong", signature=SIGNATURE)
    assert info.value.code == "soap:Client"
    assert inbox.unread() == 1

"""Faults as SOAP stacks write them: unqualified or namespace-qualified SOAP 1.1 children,
and SOAP 1.2 (issue 11, behaviour 9). Pure: the envelope reader, no network."""

from __future__ import annotations

import pytest
from lxml import etree

from dlrpoll.sources.soap.envelope import fault_text, soap_body

E11 = "http://schemas.xmlsoap.org/soap/envelope/"
E12 = "http://www.w3.org/2003/05/soap-envelope"


@pytest.mark.parametrize(
    ("fault", "want"),
    [
        (
            f'<s:Envelope xmlns:s="{E11}"><s:Body><s:Fault><faultcode>s:Client</faultcode>'
            "<faultstring>bad token</faultstring></s:Fault></s:Body></s:Envelope>",
            ("s:Client", "bad token"),
        ),
        (
            f'<s:Envelope xmlns:s="{E11}"><s:Body><s:Fault><s:faultcode>s:Server.Busy'
            "</s:faultcode><s:faultstring> inbox\n being maintained </s:faultstring></s:Fault>"
            "</s:Body></s:Envelope>",
            ("s:Server.Busy", "inbox being maintained"),
        ),
        (
            f'<e:Envelope xmlns:e="{E12}"><e:Body><e:Fault><e:Code><e:Value>e:Sender</e:Value>'
            '</e:Code><e:Reason><e:Text xml:lang="en">no such account</e:Text></e:Reason>'
            "</e:Fault></e:Body></e:Envelope>",
            ("e:Sender", "no such account"),
        ),
    ],
    ids=["soap11-unqualified", "soap11-qualified", "soap12"],
)
def test_fault_code_and_text_whatever_their_qualification(
    fault: str, want: tuple[str, str]
) -> None:
    assert fault_text(soap_body("s", etree.fromstring(fault))) == want

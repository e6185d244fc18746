"""WSDLs of the reproduced SOAP stacks: one inbox service (``GetMessages`` destructive,
``PeekMessage`` + ``MarkRead`` two-phase; a message is ``id``, ``text``, ``from``), written
the ways real stacks write it: document/literal qualified or not (.NET, WCF, hand-built),
with ASMX's extra ports, split over several documents (WCF), or rpc/encoded with
SOAP-encoded arrays (Apache Axis 1, NuSOAP)."""

from __future__ import annotations

NS = "http://example.test/inbox"
TEMPURI = "http://tempuri.org/"

_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
    'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" '
    'xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" '
    'xmlns:http="http://schemas.xmlsoap.org/wsdl/http/" '
    'xmlns:mime="http://schemas.xmlsoap.org/wsdl/mime/" '
    'xmlns:s="http://www.w3.org/2001/XMLSchema" '
    'xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" '
    'xmlns:tns="{ns}" targetNamespace="{ns}">\n'
)
OPS = ("GetMessages", "PeekMessage", "MarkRead")


def doc_schema(ns: str = NS, *, qualified: bool = True, text_type: str = "s:string") -> str:
    """The document/literal schema: ``GetMessagesResponse/messages/message*``,
    ``PeekMessageResponse/message?``, ``MarkReadResponse/ok``."""
    form = ' elementFormDefault="qualified"' if qualified else ""
    return f"""<s:schema xmlns:s="http://www.w3.org/2001/XMLSchema" xmlns:tns="{ns}"
    targetNamespace="{ns}"{form}>
  <s:complexType name="Message"><s:sequence>
    <s:element name="id" type="s:string"/><s:element name="text" type="{text_type}"/>
    <s:element name="from" type="s:string" minOccurs="0"/>
  </s:sequence></s:complexType>
  <s:complexType name="ArrayOfMessage"><s:sequence>
    <s:element name="message" type="tns:Message" minOccurs="0" maxOccurs="unbounded"/>
  </s:sequence></s:complexType>
  <s:element name="GetMessages"><s:complexType><s:sequence>
    <s:element name="user" type="s:string"/><s:element name="max" type="s:int"/>
  </s:sequence></s:complexType></s:element>
  <s:element name="GetMessagesResponse"><s:complexType><s:sequence>
    <s:element name="messages" type="tns:ArrayOfMessage" minOccurs="0"/>
  </s:sequence></s:complexType></s:element>
  <s:element name="PeekMessage"><s:complexType><s:sequence>
    <s:element name="user" type="s:string"/>
  </s:sequence></s:complexType></s:element>
  <s:element name="PeekMessageResponse"><s:complexType><s:sequence>
    <s:element name="message" type="tns:Message" minOccurs="0"/>
  </s:sequence></s:complexType></s:element>
  <s:element name="MarkRead"><s:complexType><s:sequence>
    <s:element name="user" type="s:string"/><s:element name="id" type="s:string"/>
  </s:sequence></s:complexType></s:element>
  <s:element name="MarkReadResponse"><s:complexType><s:sequence>
    <s:element name="ok" type="s:boolean"/>
  </s:sequence></s:complexType></s:element>
  <s:element name="ArrayOfMessage" type="tns:ArrayOfMessage"/>
</s:schema>"""


def _messages() -> str:
    return "".join(
        f'<wsdl:message name="{op}In"><wsdl:part name="parameters" element="tns:{op}"/>'
        f'</wsdl:message><wsdl:message name="{op}Out"><wsdl:part name="parameters" '
        f'element="tns:{op}Response"/></wsdl:message>\n'
        for op in OPS
    )


def _port_type(name: str = "InboxSoap") -> str:
    ops = "".join(
        f'<wsdl:operation name="{op}"><wsdl:input message="tns:{op}In"/>'
        f'<wsdl:output message="tns:{op}Out"/></wsdl:operation>'
        for op in OPS
    )
    return f'<wsdl:portType name="{name}">{ops}</wsdl:portType>\n'


def _soap_binding(name: str, prefix: str, ns: str) -> str:
    ops = "".join(
        f'<wsdl:operation name="{op}"><{prefix}:operation soapAction="{ns}/{op}" '
        f'style="document"/><wsdl:input><{prefix}:body use="literal"/></wsdl:input>'
        f'<wsdl:output><{prefix}:body use="literal"/></wsdl:output></wsdl:operation>'
        for op in OPS
    )
    return (
        f'<wsdl:binding name="{name}" type="tns:InboxSoap"><{prefix}:binding '
        f'transport="http://schemas.xmlsoap.org/soap/http"/>{ops}</wsdl:binding>\n'
    )


def _http_parts() -> str:
    """ASMX's messages for its HTTP GET/POST bindings: form fields in, bare XML out."""
    return (
        '<wsdl:message name="GetMessagesHttpIn"><wsdl:part name="user" type="s:string"/>'
        '<wsdl:part name="max" type="s:string"/></wsdl:message>'
        '<wsdl:message name="GetMessagesHttpOut"><wsdl:part name="Body" '
        'element="tns:ArrayOfMessage"/></wsdl:message>\n'
        '<wsdl:portType name="InboxHttp"><wsdl:operation name="GetMessages">'
        '<wsdl:input message="tns:GetMessagesHttpIn"/>'
        '<wsdl:output message="tns:GetMessagesHttpOut"/></wsdl:operation></wsdl:portType>\n'
    )


def _http_binding(name: str, verb: str) -> str:
    body = (
        "<http:urlEncoded/>"
        if verb == "GET"
        else '<mime:content type="application/x-www-form-urlencoded"/>'
    )
    return (
        f'<wsdl:binding name="{name}" type="tns:InboxHttp"><http:binding verb="{verb}"/>'
        '<wsdl:operation name="GetMessages"><http:operation location="/GetMessages"/>'
        f"<wsdl:input>{body}</wsdl:input>"
        '<wsdl:output><mime:mimeXml part="Body"/></wsdl:output></wsdl:operation>'
        "</wsdl:binding>\n"
    )


#: port name → (binding name, kind); ASMX lists its HTTP bindings too
ASMX_PORTS = (
    ("InboxHttpPost", "httppost"),
    ("InboxHttpGet", "httpget"),
    ("InboxSoap12", "soap12"),
    ("InboxSoap", "soap11"),
)


def doc_wsdl(
    address: str,
    *,
    ns: str = NS,
    qualified: bool = True,
    text_type: str = "s:string",
    ports: tuple[tuple[str, str], ...] = (("InboxSoap", "soap11"),),
) -> str:
    """A one-document WSDL with the given ports (kinds: soap11, soap12, httpget, httppost)."""
    http = any(kind.startswith("http") for _p, kind in ports)
    bindings, service = "", ""
    for port, kind in ports:
        if kind == "soap11":
            bindings += _soap_binding(f"{port}Binding", "soap", ns)
            addr = f'<soap:address location="{address}"/>'
        elif kind == "soap12":
            bindings += _soap_binding(f"{port}Binding", "soap12", ns)
            addr = f'<soap12:address location="{address}"/>'
        else:
            bindings += _http_binding(f"{port}Binding", "GET" if kind == "httpget" else "POST")
            addr = f'<http:address location="{address}"/>'
        service += f'<wsdl:port name="{port}" binding="tns:{port}Binding">{addr}</wsdl:port>'
    return (
        _HEAD.format(ns=ns)
        + f"<wsdl:types>{doc_schema(ns, qualified=qualified, text_type=text_type)}</wsdl:types>\n"
        + _messages()
        + (_http_parts() if http else "")
        + _port_type()
        + bindings
        + f'<wsdl:service name="Inbox">{service}</wsdl:service>\n</wsdl:definitions>\n'
    )


def wcf_documents(base: str, address: str) -> dict[str, str]:
    """WCF's split WSDL: ``?wsdl`` imports ``?wsdl=wsdl0`` (messages, port type), which
    imports its schema from ``?xsd=xsd0``; all on the service's own origin."""
    main = (
        _HEAD.format(ns=NS)
        + f'<wsdl:import namespace="{NS}" location="{base}?wsdl=wsdl0"/>\n'
        + _soap_binding("InboxSoapBinding", "soap", NS)
        + '<wsdl:service name="Inbox"><wsdl:port name="InboxSoap" '
        f'binding="tns:InboxSoapBinding"><soap:address location="{address}"/></wsdl:port>'
        "</wsdl:service>\n</wsdl:definitions>\n"
    )
    wsdl0 = (
        _HEAD.format(ns=NS)
        + f'<wsdl:types><s:schema targetNamespace="{NS}/imports"><s:import namespace="{NS}" '
        f'schemaLocation="{base}?xsd=xsd0"/></s:schema></wsdl:types>\n'
        + _messages()
        + _port_type()
        + "</wsdl:definitions>\n"
    )
    return {"?wsdl": main, "?wsdl=wsdl0": wsdl0, "?xsd=xsd0": doc_schema()}


def rpc_wsdl(address: str, *, import_style: str) -> str:
    """An rpc/encoded WSDL: ``getMessages`` returns a SOAP-encoded array of ``Message``.
    ``import_style`` ``"axis"`` imports SOAP-ENC by namespace only (zeep fetches it by its
    URL), ``"nusoap"`` names the schemas' URLs as their locations, as NuSOAP writes."""
    if import_style == "nusoap":
        imports = (
            '<s:import namespace="http://schemas.xmlsoap.org/soap/encoding/" '
            'schemaLocation="http://schemas.xmlsoap.org/soap/encoding/"/>'
            '<s:import namespace="http://schemas.xmlsoap.org/wsdl/" '
            'schemaLocation="http://schemas.xmlsoap.org/wsdl/"/>'
        )
    else:
        imports = '<s:import namespace="http://schemas.xmlsoap.org/soap/encoding/"/>'
    enc = (
        'use="encoded" encodingStyle="http://schemas.xmlsoap.org/soap/encoding/" '
        'namespace="urn:inbox"'
    )
    parts = {
        "getMessages": ('<wsdl:part name="user" type="s:string"/><wsdl:part name="max" '
                        'type="s:int"/>', '<wsdl:part name="return" type="types:ArrayOfMessage"/>'),
        "peekMessage": ('<wsdl:part name="user" type="s:string"/>',
                        '<wsdl:part name="return" type="types:Message"/>'),
        "markRead": ('<wsdl:part name="user" type="s:string"/><wsdl:part name="id" '
                     'type="s:string"/>', '<wsdl:part name="return" type="s:boolean"/>'),
    }  # fmt: skip
    messages = "".join(
        f'<wsdl:message name="{op}Request">{i}</wsdl:message>'
        f'<wsdl:message name="{op}Response">{o}</wsdl:message>\n'
        for op, (i, o) in parts.items()
    )
    port_type = "".join(
        f'<wsdl:operation name="{op}"><wsdl:input message="tns:{op}Request"/>'
        f'<wsdl:output message="tns:{op}Response"/></wsdl:operation>'
        for op in parts
    )
    binding = "".join(
        f'<wsdl:operation name="{op}"><soap:operation soapAction="urn:inbox#{op}" '
        f'style="rpc"/><wsdl:input><soap:body {enc}/></wsdl:input>'
        f"<wsdl:output><soap:body {enc}/></wsdl:output></wsdl:operation>"
        for op in parts
    )
    return (
        _HEAD.format(ns="urn:inbox").replace(
            "<wsdl:definitions ", '<wsdl:definitions xmlns:types="urn:inbox.types" '
        )
        + f"""<wsdl:types><s:schema targetNamespace="urn:inbox.types">{imports}
  <s:complexType name="Message"><s:sequence>
    <s:element name="id" type="s:string"/><s:element name="text" type="s:string"/>
    <s:element name="from" type="s:string"/></s:sequence></s:complexType>
  <s:complexType name="ArrayOfMessage"><s:complexContent><s:restriction base="soapenc:Array">
    <s:attribute ref="soapenc:arrayType" wsdl:arrayType="types:Message[]"/>
  </s:restriction></s:complexContent></s:complexType>
</s:schema></wsdl:types>\n"""
        + messages
        + f'<wsdl:portType name="Inbox">{port_type}</wsdl:portType>\n'
        + '<wsdl:binding name="InboxSoapBinding" type="tns:Inbox"><soap:binding style="rpc" '
        f'transport="http://schemas.xmlsoap.org/soap/http"/>{binding}</wsdl:binding>\n'
        + '<wsdl:service name="InboxService"><wsdl:port name="Inbox" '
        f'binding="tns:InboxSoapBinding"><soap:address location="{address}"/></wsdl:port>'
        "</wsdl:service>\n</wsdl:definitions>\n"
    )

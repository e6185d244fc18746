"""Pure: the HTTP Content-Type's charset against the XML declaration's. The only reading
that is well-formed XML is taken; two that are XML and differ are refused naming both
(the project's rule: never guess silently). The real-server tests are in test_stacks."""

from __future__ import annotations

import pytest

from dlrpoll.errors import SourceResponseError
from dlrpoll.sources.soap.xmlread import parse_xml, xml_bytes

DOC = '<e xmlns="urn:x"><t>café</t></e>'


def declared(encoding: str, text: str = DOC) -> bytes:
    return f'<?xml version="1.0" encoding="{encoding}"?>{text}'.encode(encoding)


def text_of(payload: bytes, charset: str) -> str:
    return str(parse_xml("s", xml_bytes("s", payload, charset))[0].text)


# fmt: off
ONLY_ONE = [
    # (Content-Type charset, body as declared): only the declaration reads it as XML
    ("us-ascii",   declared("utf-8")),        # not ASCII
    ("utf-8",      declared("iso-8859-1")),   # é alone is not UTF-8
    ("utf-16",     declared("utf-8")),        # an odd length: not UTF-16 at all
    ("cp500",      declared("utf-8")),        # EBCDIC: every byte decodes, to no XML
    ("utf-16",     declared("utf-8", DOC + " ")),  # even: it decodes, to no XML
]
# fmt: on


@pytest.mark.parametrize(("charset", "payload"), ONLY_ONE)
def test_the_only_reading_that_is_xml_is_taken(charset: str, payload: bytes) -> None:
    if charset == "utf-16":  # the premise: one odd length, one even
        assert len(payload) % 2 == (0 if payload.endswith(b"> ") else 1)
    assert text_of(payload, charset) == "café"


def test_readings_that_agree_are_one() -> None:
    ascii_only = declared("utf-8", DOC.replace("é", "e"))
    assert text_of(ascii_only, "iso-8859-1") == "cafe"


@pytest.mark.parametrize(
    ("charset", "encoding", "header_reads", "declaration_reads"),
    [
        ("ISO-8859-1", "utf-8", "Ã©", "é"),
        ("koi8-r", "iso-8859-1", "И", "é"),
    ],
)
def test_two_readings_that_are_xml_and_differ_are_refused(
    charset: str, encoding: str, header_reads: str, declaration_reads: str
) -> None:
    with pytest.raises(SourceResponseError) as caught:
        xml_bytes("s", declared(encoding), charset)
    message = str(caught.value)
    assert f"Content-Type says charset={charset}" in message
    assert f"XML declaration says {encoding}" in message
    assert f"{charset} reads '{header_reads}" in message
    assert f"{encoding} reads '{declaration_reads}" in message


def test_neither_reading_is_refused_with_both_reasons() -> None:
    payload = declared("iso-8859-1")  # é as one byte, which is neither ASCII nor UTF-8
    payload = payload.replace(b"iso-8859-1", b"utf-8")
    with pytest.raises(SourceResponseError, match="neither reads it") as caught:
        xml_bytes("s", payload, "us-ascii")
    message = str(caught.value)
    assert "it is not valid us-ascii" in message and "it is not valid utf-8" in message

"""Property: for generated response layouts (qualified or not, wrapped or not, multiRef or
inline, 0..n items, several ways of being empty), the reader finds exactly the items put in,
or fails; never a silent zero."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from dlrpoll.errors import SourceResponseError
from dlrpoll.sources.soap.envelope import read_items
from dlrpoll.sources.soap.layout import Plan

NS = "urn:gen"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
EMPTY = ("absent", "nil", "childless", "whitespace")


@dataclass(frozen=True)
class Layout:
    schema_qualified: bool  # what the WSDL says about the children
    writes_qualified: bool  # what the server writes
    wrapper_has_ns: bool  # whether the response element carries its namespace
    wrapped: bool  # Response/messages/message or Response/message
    multiref: bool
    texts: tuple[str, ...]
    empty: str
    mangle: bool  # rename the item elements to something no schema declares

    def q(self, local: str, qualified: bool) -> str:
        return f"{{{NS}}}{local}" if qualified else local

    def plan(self) -> Plan:
        q = self.schema_qualified
        path = [f"{{{NS}}}Response"] + ([self.q("messages", q)] if self.wrapped else [])
        path.append(self.q("message", q))
        around = ([frozenset({"messages"})] if self.wrapped else []) + [frozenset({"message"})]
        fields = {"remote_id": (self.q("id", q),), "body": (self.q("text", q),)}
        return Plan(
            "Get", tuple(path), fields, known=frozenset({"id", "text"}), around=tuple(around)
        )

    def envelope(self) -> bytes:
        w = self.writes_qualified
        root = etree.Element(f"{{{ENV}}}Envelope", nsmap={"s": ENV})
        body = etree.SubElement(root, f"{{{ENV}}}Body")
        wrapper = etree.SubElement(body, f"{{{NS}}}Response" if self.wrapper_has_ns else "Response")
        parent = wrapper
        if self.wrapped and (self.texts or self.empty != "absent"):
            parent = etree.SubElement(wrapper, self.q("messages", w))
        if not self.texts:
            target = parent if self.wrapped else wrapper
            if self.empty == "nil":
                target.set("{http://www.w3.org/2001/XMLSchema-instance}nil", "true")
            elif self.empty == "whitespace":
                target.text = "\n  "
        for k, text in enumerate(self.texts):
            tag = self.q("note" if self.mangle else "message", w)
            item = etree.SubElement(parent, tag)
            if self.multiref:
                item.set("href", f"#id{k}")
                item = etree.SubElement(body, "multiRef", id=f"id{k}")
            etree.SubElement(item, self.q("id", w)).text = f"m{k}"
            etree.SubElement(item, self.q("text", w)).text = text
        return bytes(etree.tostring(root))


CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x2FF, blacklist_characters="\x7f")
TEXT = st.text(CHARS, max_size=20)
layouts = st.builds(
    Layout,
    schema_qualified=st.booleans(),
    writes_qualified=st.booleans(),
    wrapper_has_ns=st.booleans(),
    wrapped=st.booleans(),
    multiref=st.booleans(),
    texts=st.lists(TEXT.filter(lambda t: t.strip() != ""), max_size=6).map(tuple),
    empty=st.sampled_from(EMPTY),
    mangle=st.booleans(),
)


def split(layout: Layout) -> list[tuple[str | None, str]]:
    plan = layout.plan()
    reading = read_items(
        "gen", layout.envelope(), {plan.path[0]: plan}, tz=UTC, body_field="text", redact=str
    )
    return [(i.remote_id, i.payload.decode()) for i in reading.items]


@settings(max_examples=300, deadline=None)
@given(layouts)
def test_the_split_finds_exactly_the_items_or_fails(layout: Layout) -> None:
    want = [(f"m{k}", text) for k, text in enumerate(layout.texts)]
    try:
        got = split(layout)
    except SourceResponseError as exc:
        # only content that is not where the layout says may fail, and it must say so
        assert layout.mangle and layout.texts, f"{layout}: {exc}"
        assert "note" in str(exc)
        return
    assert not (layout.mangle and layout.texts), f"{layout}: items not understood were dropped"
    assert got == want

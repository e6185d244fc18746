"""Paths as profiles write them: :func:`dlrpoll.receipts.tree.parse_path`'s dotted keys and
indexes, plus XML attributes and the root element's name.

- ``status.name``, ``to[0].phone_number``, ``receiver[number]``: keys and list indexes;
- ``MSG@RECEIVED`` or ``@id``: an attribute (in the tree an element's attributes are keys
  beside its children, so ``MSG@RECEIVED`` is ``MSG.RECEIVED``; an attribute and a child
  element of the same name are one key, the attribute first);
- ``#root``: the name of an XML document's root element (Esendex's ``<MessageDelivered>``
  is a status); JSON documents have none.
"""

from __future__ import annotations

from dlrpoll.receipts.tree import Path, parse_path

#: The key an XML document's root element name is kept under (never a normalized key, so a
#: document's own ``root`` element cannot be mistaken for it).
ROOT = "#root"


def field_path(text: str) -> Path:
    """A profile's path (module docstring) as tree segments; :class:`ParseError` when it
    names nothing."""
    stripped = text.strip()
    if stripped == ROOT:
        return (ROOT,)
    return parse_path(stripped.lstrip("@").replace("@", "."))

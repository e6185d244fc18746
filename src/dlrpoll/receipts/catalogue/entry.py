"""One catalogue entry: a provider's profile, written in the profile language users write in
TOML (``[profiles.NAME]``), with what it reads, where its documentation is, how its receipts
are recognised, and a sample receipt.

Writing the built-in profiles in the users' language keeps them honest: they are compiled by
the same code as a user's profile, and ``dlrpoll profiles NAME`` prints them as TOML a user
can copy and adapt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: A detection signature: paths that must all hold a value (``MessageSid``,
#: ``results[0].status``) or equal one, case-insensitively (``type=recipient_delivery_report_sms``;
#: ``#root=MessageDelivered`` for an XML document's root element).
Signature = tuple[str, ...]


@dataclass(frozen=True)
class Provider:
    """A provider in the catalogue.

    ``spec`` is the profile as TOML would hold it (``format``, ``fields``, ``states``,
    ``dates``, ``items``, ``timezone``, ``match_id``, ``embedded``). ``detect`` lists the
    signatures that identify the provider's receipts (any one suffices; an empty tuple means
    its keys are the user's choice and it is never detected). ``sample`` is a receipt in the
    provider's documented shape that the profile reads.
    """

    name: str
    title: str
    docs: str
    reads: str
    spec: Mapping[str, Any]
    sample: str
    detect: tuple[Signature, ...] = ()


def intermediate(state: str) -> dict[str, Any]:
    """A status table entry for a state that is not the last word on the message."""
    return {"state": state, "final": False}


def final(state: str) -> dict[str, Any]:
    """A status table entry for a state that is the last word, whatever SMPP says of it."""
    return {"state": state, "final": True}

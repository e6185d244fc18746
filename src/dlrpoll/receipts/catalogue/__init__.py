"""The provider catalogue: the receipts of the most-used providers, read with no configuration.

One small module per provider holds its profile, written in the profile language users write
in TOML (:mod:`.entry`), with what it reads, where its documentation is, the signatures that
recognise its receipts and a sample receipt. Pure data: no I/O.

:data:`PROVIDERS` lists them by profile name, the existing four first. The names are a
public contract: users write them in ``profile = …``.
"""

from __future__ import annotations

from collections.abc import Mapping

from dlrpoll.receipts.catalogue import (
    africastalking,
    bulksms,
    clickatell,
    clicksend,
    cm,
    esendex,
    ginota,
    infobip,
    jasmin,
    kannel,
    messagebird,
    messente,
    plivo,
    sinch,
    smpp,
    smsglobal,
    telnyx,
    textmagic,
    twilio,
    upside,
    vonage,
)
from dlrpoll.receipts.catalogue.entry import Provider, Signature

_MODULES = (
    smpp,
    ginota,
    kannel,
    upside,
    twilio,
    vonage,
    telnyx,
    plivo,
    messagebird,
    infobip,
    sinch,
    africastalking,
    clickatell,
    clicksend,
    esendex,
    bulksms,
    smsglobal,
    textmagic,
    cm,
    messente,
    jasmin,
)

#: Every catalogue provider by its profile name.
PROVIDERS: Mapping[str, Provider] = {m.PROVIDER.name: m.PROVIDER for m in _MODULES}

__all__ = ["PROVIDERS", "Provider", "Signature"]

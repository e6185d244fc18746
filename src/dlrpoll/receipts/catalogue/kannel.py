"""Kannel delivery reports, as its ``dlr-url`` escapes write them.

Kannel calls the ``dlr-url`` you submitted with, after expanding its escapes: ``%d`` the
report type (1 delivered to the phone, 2 not delivered, 4 queued on the SMSC, 8 accepted by
the SMSC, 16 rejected by the SMSC), ``%F`` the SMSC's message id, ``%p``/``%P`` receiver
and sender, ``%T`` the time as Unix seconds, and ``%A`` the SMSC's own answer: for types 1
and 2 the whole SMPP Appendix B receipt (``id:… sub:… dlvrd:… submit date:… done date:…
stat:… err:…``), for 8 ``ACK/``, for 16 ``NACK/<code>/<reason>``. The parameter names are
yours (``dlr-url`` is a URL template), so the profile looks under the common ones and Kannel
is never recognised by its keys alone; name it (``profile = "kannel"``) or copy this profile
and put your own names in. ``%A`` is read as an embedded receipt: its dates, counts and
error code fill what the URL's own parameters do not say, and a ``NACK`` gives its code.
Source: Kannel User's Guide, "Delivery reports" and the ``dlr-url`` escape codes
(kannel.org/download/1.4.5/userguide-1.4.5/userguide.html).
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="kannel",
    title="Kannel",
    docs="https://www.kannel.org/download/1.4.5/userguide-1.4.5/userguide.html#DELIVERY-REPORTS",
    reads="dlr-url callbacks: %d type (1, 2, 4, 8, 16), %F id, %p/%P, %T, and %A receipts",
    spec={
        "format": "keyvalue",
        "fields": {
            "message_id": ["msgid", "smsid", "foreign_id", "smsc_id", "id"],
            "status": ["type", "dlr", "dlr_type", "status", "dlrstatus"],
            "dst_addr": ["to", "receiver", "phone", "msisdn", "dst"],
            "src_addr": ["from", "sender", "src"],
            "done_at": ["ts", "time", "timestamp"],
            # %a, if the dlr-url passes it; never the %A answer (the common names include it)
            "text": "text",
        },
        "embedded": ["answer", "reply", "smsc_reply", "dr-msg", "dlr_msg"],
        "dates": {"done_at": "epoch"},
        "states": {
            "1": final("DELIVERED"),
            "2": final("UNDELIVERABLE"),
            "4": intermediate("ENROUTE"),
            "8": intermediate("ACCEPTED"),
            "16": final("REJECTED"),
        },
    },
    sample=(
        "type=1&msgid=0A1B2C3D&to=%2B447700900123&from=ACME&ts=1730809805&answer=id%3A0A1B2C3D"
        "+sub%3A001+dlvrd%3A001+submit+date%3A2411051230+done+date%3A2411051230+stat%3ADELIVRD"
        "+err%3A000+text%3AHello"
    ),
)

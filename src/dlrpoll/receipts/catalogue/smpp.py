"""Generic SMPP Appendix B receipts (``id:… sub:… dlvrd:… submit date:… done date:… stat:…
err:… text:…``), the text an SMSC puts in a ``deliver_sm``'s short message and many gateways
pass on verbatim. The status words are Appendix B's; DELIVRD, EXPIRED, DELETED, UNDELIV,
ACCEPTD, UNKNOWN and REJECTD are final, ENROUTE (and SCHEDULED) are not. Source: SMPP v3.4,
Appendix B, and SMPP v5.0 section 4.7.15 (message_state).
"""

from dlrpoll.receipts.catalogue.entry import Provider

PROVIDER = Provider(
    name="smpp",
    title="SMPP Appendix B (generic)",
    docs="https://smpp.org/SMPP_v3_4_Issue1_2.pdf (Appendix B)",
    reads="Appendix B text: id, sub, dlvrd, submit date, done date, stat, err, text",
    spec={
        "format": "smpp",
        "states": {
            "DELIVRD": "DELIVERED",
            "EXPIRED": "EXPIRED",
            "DELETED": "DELETED",
            "UNDELIV": "UNDELIVERABLE",
            "ACCEPTD": "ACCEPTED",
            "UNKNOWN": "UNKNOWN",
            "REJECTD": "REJECTED",
            "ENROUTE": "ENROUTE",
            "EN_ROUTE": "ENROUTE",
            "SCHEDULED": "SCHEDULED",
            "SKIPPED": "SKIPPED",
        },
    },
    sample=(
        "id:0042 sub:001 dlvrd:001 submit date:2401021530 done date:2401021531 stat:DELIVRD "
        "err:000 text:Hello"
    ),
)

"""Upside Wireless receipts, as its SOAP inbox (``GetNewInboxMessages``) returns them.

Appendix B text whose ``stat`` words Upside documents with its own finality: DELIVRD, ERROR,
FAILED, REJECTD, UNIDNTFY and UNKNOWN are final; SENT, UNDELIV and UNDETRM mean "keep
trying" — the provider may still report a final state — so they are intermediate here
(unlike SMPP's UNDELIV). Source: Upside Wireless SMS wiki, "Message Delivery Confirmations
(DLR)".
"""

from dlrpoll.receipts.catalogue.entry import Provider, intermediate

PROVIDER = Provider(
    name="upside",
    title="Upside Wireless",
    docs="Upside Wireless SMS wiki: Message Delivery Confirmations (DLR)",
    reads="Appendix B text from the SOAP inbox; SENT, UNDELIV, UNDETRM intermediate",
    spec={
        "format": "smpp",
        "states": {
            "DELIVRD": "DELIVERED",
            "ERROR": "UNDELIVERABLE",
            "FAILED": "UNDELIVERABLE",
            "REJECTD": "REJECTED",
            "UNIDNTFY": "UNKNOWN",
            "UNKNOWN": "UNKNOWN",
            "SENT": intermediate("ENROUTE"),
            "UNDELIV": intermediate("UNDELIVERABLE"),
            "UNDETRM": intermediate("UNKNOWN"),
        },
    },
    sample=(
        "id:7A3F0012 sub:001 dlvrd:001 submit date:2411051230 done date:2411051231 "
        "stat:DELIVRD err:000 text:Your code is 1234"
    ),
)

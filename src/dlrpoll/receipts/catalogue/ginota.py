"""Ginota DLR callback requests.

A GET to the DLR callback URL: ``messageId`` (to match the id the SMS API returned),
``deliveryStatus`` (a code), ``desc`` (the code's description), ``srcAddr``, ``dstAddr`` and
``txnRef`` (your own reference). Codes: 0 delivered, 1 expired, 3 undeliverable, 4 accepted
by the mobile operator (the handset may still not get it: intermediate), 5 unknown, 6
rejected. Source: Ginota SMS API documentation, "DLR Callback Request" and "DLR Status
Code".
"""

from dlrpoll.receipts.catalogue.entry import Provider, intermediate

PROVIDER = Provider(
    name="ginota",
    title="Ginota",
    docs="https://www.ginota.com/ (SMS API documentation, DLR Callback Request)",
    reads="DLR callbacks: messageId, deliveryStatus (0, 1, 3, 4, 5, 6), desc, srcAddr, dstAddr, "
    "txnRef",
    spec={
        "format": "keyvalue",
        "fields": {
            "message_id": "messageId",
            "status": "deliveryStatus",
            "text": "desc",
            "src_addr": "srcAddr",
            "dst_addr": "dstAddr",
            "client_ref": "txnRef",
        },
        "states": {
            "0": "DELIVERED",
            "1": "EXPIRED",
            "3": "UNDELIVERABLE",
            "4": intermediate("ACCEPTED"),
            "5": "UNKNOWN",
            "6": "REJECTED",
        },
    },
    sample=(
        "https://example.com/dlr?messageId=18D64EC1EADD&deliveryStatus=0&desc=Delivered"
        "&dstAddr=60123456789&srcAddr=MyCampany"
    ),
    detect=(("messageId", "deliveryStatus"),),
)

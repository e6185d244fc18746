"""Messente Omnichannel API delivery reports.

A JSON callback per status: ``omnimessage_id`` (the omnimessage the send call returned),
``message_id`` (this channel's message), ``channel``, ``sender``, ``to``, ``status``, ``err``
(error code, 0 for none) with ``error`` (its description, null on success) and
``timestamp`` (when Messente received the status). Statuses are SMPP's words plus ACK (the
operator took the message), NACK (it refused it) and SEEN (read, on chat channels). Sources:
messente.com/documentation/omnichannel-api (delivery report) and the API's DeliveryResult
and Status schemas.
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="messente",
    title="Messente",
    docs="https://messente.com/documentation/omnichannel-api/delivery-report",
    reads="delivery reports: message_id, omnimessage_id, status, err, error, to, timestamp",
    spec={
        "format": "keyvalue",
        "fields": {
            "message_id": "message_id",
            "status": "status",
            "error_code": "err",
            "text": "error",
            "dst_addr": "to",
            "src_addr": "sender",
            "done_at": "timestamp",
        },
        "dates": {"done_at": "iso"},
        "states": {
            "ACK": intermediate("ACCEPTED"),
            "ENROUTE": intermediate("ENROUTE"),
            "ACCEPTD": final("ACCEPTED"),
            "DELIVRD": final("DELIVERED"),
            "SEEN": final("DELIVERED"),
            "UNDELIV": final("UNDELIVERABLE"),
            "FAILED": final("UNDELIVERABLE"),
            "NACK": final("REJECTED"),
            "REJECTD": final("REJECTED"),
            "DELETED": final("DELETED"),
            "EXPIRED": final("EXPIRED"),
            "UNKNOWN": final("UNKNOWN"),
        },
    },
    sample=(
        '{"channel": "sms", "error": null, "err": 0, "message_id": '
        '"b9a8e3c6-1d2f-4e5a-8b7c-6d5e4f3a2b1c", "omnimessage_id": '
        '"7c1d9e2f-3a4b-4c5d-8e9f-0a1b2c3d4e5f", "sender": "MyBrand", "status": "DELIVRD", '
        '"timestamp": "2024-11-05T12:30:05.123456", "to": "+37251000000"}'
    ),
    detect=(("omnimessage_id", "message_id", "status"),),
)

"""Vonage (Nexmo) SMS API delivery receipts.

Mind the names: ``msisdn`` is the handset the message went to, and ``to`` is the sender id
you sent from. ``messageId`` is Vonage's id, ``status`` one of accepted, buffered,
delivered, expired, failed, rejected, unknown; ``err-code`` 0 means delivered; ``scts`` is
when the carrier's receipt was received, ``YYMMDDhhmm`` as SMPP writes it (``2001011400`` is
2020-01-01 14:00); ``message-timestamp`` is when Vonage pushed the receipt, not a delivery
time, and is not read. ``client-ref`` is the reference given at submission. Sources:
developer.vonage.com/en/messaging/sms/guides/delivery-receipts and the SMS API's
DeliveryReceipt schema.
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="vonage",
    title="Vonage (Nexmo)",
    docs="https://developer.vonage.com/en/messaging/sms/guides/delivery-receipts",
    reads="SMS API receipts: messageId, status, err-code, msisdn (handset), to (sender), scts",
    spec={
        "format": "keyvalue",
        "fields": {
            "message_id": "messageId",
            "status": "status",
            "error_code": "err-code",
            "dst_addr": "msisdn",
            "src_addr": "to",
            "done_at": "scts",
            "client_ref": "client-ref",
        },
        "dates": {"done_at": "smpp"},
        "states": {
            "accepted": intermediate("ACCEPTED"),
            "buffered": intermediate("ENROUTE"),
            "delivered": final("DELIVERED"),
            "expired": final("EXPIRED"),
            "failed": final("UNDELIVERABLE"),
            "rejected": final("REJECTED"),
            "unknown": final("UNKNOWN"),
        },
    },
    sample=(
        '{"err-code": "0", "message-timestamp": "2018-10-25 12:10:29", '
        '"messageId": "0B00000127FDBC63", "msisdn": "447547232824", "network-code": "23410", '
        '"price": "0.03330000", "scts": "1810251310", "status": "delivered", "to": "Nexmo CLI"}'
    ),
    detect=(("messageId", "msisdn", "scts"), ("messageId", "msisdn", "network-code")),
)

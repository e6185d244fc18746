"""MessageBird (Bird) SMS API status reports.

A GET to the status report URL, for messages sent with a ``reference``: ``id`` (the
message), ``reference``, ``recipient``, ``status`` (scheduled, sent, buffered, delivered,
expired, delivery_failed), ``statusDatetime`` (RFC 3339), and on failures ``statusReason``
and ``statusErrorCode``. Sources: developers.messagebird.com/api/sms-messaging (handle a
status report) and support.messagebird.com "I am missing my delivery reports".
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="messagebird",
    title="MessageBird / Bird",
    docs="https://developers.messagebird.com/api/sms-messaging/#handle-a-status-report",
    reads="status reports: id, reference, recipient, status, statusDatetime, statusErrorCode",
    spec={
        "format": "keyvalue",
        "fields": {
            "message_id": "id",
            "status": "status",
            "error_code": "statusErrorCode",
            "text": "statusReason",
            "dst_addr": "recipient",
            "client_ref": "reference",
            "done_at": "statusDatetime",
        },
        "dates": {"done_at": "iso"},
        "states": {
            "scheduled": intermediate("SCHEDULED"),
            "sent": intermediate("ENROUTE"),
            "buffered": intermediate("ENROUTE"),
            "delivered": final("DELIVERED"),
            "expired": final("EXPIRED"),
            "delivery_failed": final("UNDELIVERABLE"),
        },
    },
    sample=(
        "id=e8077d803532c0b5937c639b60216938&reference=YouReference123&recipient=31612345678"
        "&status=delivered&statusDatetime=2016-05-03T08%3A58%3A10%2B00%3A00"
    ),
    detect=(("id", "recipient", "statusDatetime"),),
)

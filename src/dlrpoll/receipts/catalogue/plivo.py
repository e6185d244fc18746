"""Plivo message status callbacks.

Form fields (or query parameters) sent to the message's ``url`` on every status change:
``MessageUUID``, ``Status`` (queued, sent, delivered, undelivered, failed, read; older
callbacks also rejected), ``ErrorCode`` (only for failed and undelivered messages), ``From``,
``To``, and times as ``YYYY-mm-dd HH:MM:SS.SSSSSS``: ``SentTime`` (handed to the carrier),
``DeliveryReportTime`` (the carrier's receipt arrived). Source:
plivo.com/docs/messaging/api/message/message-status-callbacks.
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

_TIME = "%Y-%m-%d %H:%M:%S.%f"

PROVIDER = Provider(
    name="plivo",
    title="Plivo",
    docs="https://www.plivo.com/docs/messaging/api/message/message-status-callbacks",
    reads="status callbacks: MessageUUID, Status, ErrorCode, From, To, SentTime, "
    "DeliveryReportTime",
    spec={
        "format": "keyvalue",
        "fields": {
            "message_id": "MessageUUID",
            "status": "Status",
            "error_code": "ErrorCode",
            "src_addr": "From",
            "dst_addr": "To",
            "submitted_at": "SentTime",
            "done_at": "DeliveryReportTime",
        },
        "dates": {"submitted_at": _TIME, "done_at": _TIME},
        "states": {
            "queued": intermediate("ENROUTE"),
            "sent": intermediate("ENROUTE"),
            "delivered": final("DELIVERED"),
            "read": final("DELIVERED"),
            "undelivered": final("UNDELIVERABLE"),
            "failed": final("REJECTED"),
            "rejected": final("REJECTED"),
        },
    },
    sample=(
        "From=14155550100&To=14155550123&Status=delivered"
        "&MessageUUID=db3ce55a-7f1d-11e1-8ea7-1231380bc196&Type=sms&Units=1"
        "&TotalRate=0.00500&TotalAmount=0.00500&MCC=310&MNC=410&ErrorCode=000"
        "&SentTime=2024-11-05%2012%3A30%3A01.120532"
        "&DeliveryReportTime=2024-11-05%2012%3A30%3A04.803314"
    ),
    detect=(("MessageUUID", "Status"),),
)

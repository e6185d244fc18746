"""Clickatell message status callbacks (Platform REST API and One API).

A JSON callback per status change: ``messageId``, ``clientMessageId`` (your reference),
``to``, ``from``, ``statusCode`` and ``status`` (its name), ``statusDescription`` and
``timestamp`` in Unix milliseconds. The One API's status table: QUEUED, SCHEDULED,
SENT_TO_SUPPLIER on the way; DEVICE_ACK and READ delivered; EXPIRED, STOPPED_BY_USER/ADMIN,
DELIVERY_FAILURE, the account and volume limits, RECIPIENT_DOES_NOT_EXIST and ROUTING_ERROR
final failures; the Platform API's RECEIVED_BY_RECIPIENT (delivered) and
DELIVERED_TO_GATEWAY (on the way) are read too. The retired HTTP/XML APIs (``apiMsgId``,
Unix seconds) are not: define a profile for them. Sources:
clickatell.com/developers/api-documentation/rest-api-status-callback and docs.clickatell.com
(One API message status table).
"""

from dlrpoll.receipts.catalogue.entry import Provider, final, intermediate

PROVIDER = Provider(
    name="clickatell",
    title="Clickatell",
    docs="https://docs.clickatell.com/channels/one-api/one-api-reference/#tag/Message-Status",
    reads="status callbacks: messageId, status, statusCode, to, from, timestamp (ms)",
    spec={
        "format": "keyvalue",
        "fields": {
            "message_id": "messageId",
            "status": "status",
            "text": "statusDescription",
            "dst_addr": "to",
            "src_addr": "from",
            "client_ref": "clientMessageId",
            "done_at": "timestamp",
        },
        "dates": {"done_at": "epoch-ms"},
        "states": {
            "QUEUED": intermediate("ENROUTE"),
            "SCHEDULED": intermediate("SCHEDULED"),
            "SENT_TO_SUPPLIER": intermediate("ENROUTE"),
            "DELIVERED_TO_GATEWAY": intermediate("ENROUTE"),
            "DEVICE_ACK": final("DELIVERED"),
            "RECEIVED_BY_RECIPIENT": final("DELIVERED"),
            "READ": final("DELIVERED"),
            "UNKNOWN": final("UNKNOWN"),
            "EXPIRED": final("EXPIRED"),
            "STOPPED_BY_USER": final("DELETED"),
            "STOPPED_BY_ADMIN": final("DELETED"),
            "DELIVERY_FAILURE": final("UNDELIVERABLE"),
            "RECIPIENT_DOES_NOT_EXIST": final("UNDELIVERABLE"),
            "INSUFFICIENT_ACCOUNT_BALANCE": final("REJECTED"),
            "VOLUME_LIMIT": final("REJECTED"),
            "VOLUME_LIMIT_*": final("REJECTED"),
            "ROUTING_ERROR": final("REJECTED"),
        },
    },
    sample=(
        '{"integrationName": "My integration", "messageId": "a6f8c4e27b1d4f0e9c3b5a7d2e1f0c9b", '
        '"requestId": "5f2e1c0b9a8d7e6f5a4b3c2d1e0f9a8b", "clientMessageId": "order-1234", '
        '"to": "2799900001", "from": "2799900002", "statusCode": 5, "status": "DEVICE_ACK", '
        '"statusDescription": "Device acknowledged delivery", "timestamp": 1730809800000}'
    ),
    detect=(("messageId", "statusCode", "status"),),
)
